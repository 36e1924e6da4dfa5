//! The failover's steps on scripted members: their order, its refusals, and what a step that
//! fails midway leaves behind.
use super::run;
use crate::cluster::{PodPhase, ServerState};
use crate::ops::members::fake::{lone_state, replica_state, Scripted, Step};
use crate::ops::plan::failover::{decide, FailoverPlan};
use crate::ops::plan::Observed;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A member as the plan saw it; `reached`: an exec into its container went through.
fn seen(name: &str, primary: bool, state: Option<ServerState>, reached: bool) -> Observed {
    Observed {
        name: name.into(),
        primary,
        phase: PodPhase::Running {
            ready: state.is_some(),
        },
        silence: state.is_none().then(|| "does not answer within 5s".into()),
        reached,
        state,
    }
}

/// The usual case: the primary db-0 is silent but its container is reached; db-1 received up to
/// 0-1-9 (applied 0-1-7), db-2 received and applied 0-1-8.
fn observed() -> Vec<Observed> {
    vec![
        seen("db-0", true, None, true),
        seen("db-1", false, Some(replica_state("0-1-7", "0-1-9")), true),
        seen("db-2", false, Some(replica_state("0-1-8", "0-1-8")), true),
    ]
}

/// Members answering as `observed` says (a silent one does not answer).
fn members_of(observed: &[Observed]) -> Scripted {
    let names: Vec<&str> = observed.iter().map(|o| o.name.as_str()).collect();
    observed
        .iter()
        .filter_map(|o| o.state.clone().map(|s| (o.name.clone(), s)))
        .fold(Scripted::new("db", &names), |m, (name, state)| {
            m.state(&name, state)
        })
}

fn plan(observed: &[Observed], to: Option<&str>, force: bool) -> FailoverPlan {
    decide("db", "db-0", observed, to, force, None)
}

/// Runs the failover of `observed` on `members`.
async fn fail_over(members: &Scripted, observed: &[Observed]) -> anyhow::Result<String> {
    fail_over_to(members, observed, None, false).await
}

async fn fail_over_to(
    members: &Scripted,
    observed: &[Observed],
    to: Option<&str>,
    force: bool,
) -> anyhow::Result<String> {
    let plan = plan(observed, to, force);
    let (candidate, _) = run(members, "db-0", plan, to, Instant::now(), &|_: &str| {}).await?;
    Ok(candidate)
}

fn error_of(result: anyhow::Result<String>) -> String {
    format!("{:#}", result.expect_err("the failover fails"))
}

#[tokio::test]
async fn a_failover_takes_its_steps_in_order() {
    let observed = observed();
    let members = members_of(&observed);
    assert_eq!(fail_over(&members, &observed).await.unwrap(), "db-1");
    assert_eq!(
        members.taken(),
        [
            "write service at none",
            "stop and hold db-0",
            "stop receiving db-1",
            "stop receiving db-2",
            "lock held?",
            "promote db-1 at 0-1-9 within 60s",
            "record db-1",
            "follow db-2 → db-1",
            "restart db-0",
            "ready db-1",
        ]
    );
}

#[tokio::test]
async fn the_write_service_points_at_no_pod_before_anything_else() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert_eq!(members.taken()[0], "write service at none");
}

#[tokio::test]
async fn an_old_primary_that_answers_is_fenced_before_the_promotion() {
    let mut observed = observed();
    observed[0] = seen("db-0", true, Some(lone_state(true, "0-1-9")), true);
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(members.index_of("fence db-0") < members.index_of("promote db-1"));
    assert!(!members.took("stop and hold"), "{:?}", members.taken());
}

#[tokio::test]
async fn an_old_primary_that_does_not_answer_but_is_reached_has_its_server_stopped_and_held() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(!members.took("fence"));
    assert!(members.index_of("stop and hold db-0") < members.index_of("promote db-1"));
    assert!(members.events()[0]
        .1
        .contains("not answering: its server killed, it restarts read-only"));
}

#[tokio::test]
async fn an_old_primary_out_of_reach_is_neither_fenced_nor_stopped_and_the_failover_goes_on() {
    let mut observed = observed();
    observed[0] = seen("db-0", true, None, false);
    let members = members_of(&observed);
    assert_eq!(fail_over(&members, &observed).await.unwrap(), "db-1");
    assert!(!members.took("fence") && !members.took("stop and hold"));
    assert!(members.events()[0]
        .1
        .contains("not answering, its container out of reach: not stopped"));
}

#[tokio::test]
async fn an_old_primary_whose_fence_fails_has_its_server_stopped_instead() {
    let mut observed = observed();
    observed[0] = seen("db-0", true, Some(lone_state(true, "0-1-9")), true);
    let members = members_of(&observed).fail(Step::Fence, "db-0", "Lost connection");
    fail_over(&members, &observed).await.unwrap();
    assert!(members.index_of("fence db-0") < members.index_of("stop and hold db-0"));
    assert!(members.events()[0]
        .1
        .contains("(Lost connection: its server killed, it restarts read-only)"));
}

#[tokio::test]
async fn an_old_primary_that_cannot_be_stopped_is_said_so_and_the_failover_goes_on() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::StopAndHold, "db-0", "node lost");
    assert_eq!(fail_over(&members, &observed).await.unwrap(), "db-1");
    assert!(members.events()[0]
        .1
        .contains("not answering, and not stopped: node lost"));
}

#[tokio::test]
async fn every_replica_stops_receiving_before_the_promotion() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    let promote = members.index_of("promote");
    assert!(members.index_of("stop receiving db-1") < promote);
    assert!(members.index_of("stop receiving db-2") < promote);
}

#[tokio::test]
async fn the_candidate_is_promoted_only_once_it_applied_all_it_received() {
    // db-1 applied 0-1-7 and received 0-1-9: the promotion waits for 0-1-9.
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(members.took("promote db-1 at 0-1-9 within 60s"));
}

#[tokio::test]
async fn the_choice_is_made_again_on_what_the_replicas_received_once_stopped() {
    // Seen before stopping, db-1 had more; stopped, db-2 received more still.
    let observed = observed();
    let members = members_of(&observed).state("db-2", replica_state("0-1-8", "0-1-12"));
    assert_eq!(fail_over(&members, &observed).await.unwrap(), "db-2");
    assert!(members.took("promote db-2 at 0-1-12"));
    assert!(members.took("follow db-1 → db-2"));
}

#[tokio::test]
async fn the_lock_is_checked_after_the_fence_and_before_the_promotion() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    let lock = members.index_of("lock held?");
    assert!(members.index_of("stop and hold") < lock && lock < members.index_of("promote"));
}

#[tokio::test]
async fn a_lost_lock_stops_the_failover_before_the_promotion() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::Lock, "", "the lock was taken over");
    assert!(error_of(fail_over(&members, &observed).await).contains("the lock was taken over"));
    assert!(!members.took("promote") && !members.took("record"));
}

#[tokio::test]
async fn the_new_primary_is_recorded_after_its_promotion() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(members.index_of("promote db-1") < members.index_of("record db-1"));
}

#[tokio::test]
async fn every_other_replica_follows_the_new_primary_after_its_promotion() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(members.index_of("promote db-1") < members.index_of("follow db-2 → db-1"));
    assert!(
        !members.took("follow db-1"),
        "the new primary follows no one"
    );
    assert!(
        !members.took("follow db-0"),
        "the old primary is restarted, not repointed"
    );
}

#[tokio::test]
async fn the_old_primary_restarts_after_the_record_and_the_new_one_is_waited_for_last() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert!(members.index_of("record db-1") < members.index_of("restart db-0"));
    assert_eq!(members.taken().last().unwrap(), "ready db-1");
}

#[tokio::test]
async fn a_failed_write_service_update_stops_the_failover_before_the_promotion() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::PointWriteService, "", "forbidden");
    assert!(error_of(fail_over(&members, &observed).await).contains("forbidden"));
    assert!(!members.took("promote"));
}

#[tokio::test]
async fn a_replica_that_cannot_be_stopped_ends_the_failover_before_any_promotion() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::StopReceiving, "db-2", "exec failed");
    let error = error_of(fail_over(&members, &observed).await);
    assert!(
        error.contains("cannot stop replication on db-2: exec failed"),
        "{error}"
    );
    assert!(!members.took("promote") && !members.took("record"));
}

#[tokio::test]
async fn a_failed_promotion_leaves_the_old_primary_fenced_and_nothing_recorded() {
    let mut observed = observed();
    observed[0] = seen("db-0", true, Some(lone_state(true, "0-1-9")), true);
    let members = members_of(&observed).fail(Step::Promote, "db-1", "it stays a replica");
    let error = error_of(fail_over(&members, &observed).await);
    assert!(error.contains("it stays a replica"), "{error}");
    assert!(members.took("fence db-0"));
    for never in ["writable", "release hold", "record", "follow", "restart"] {
        assert!(!members.took(never), "{never}: {:?}", members.taken());
    }
    assert_eq!(members.reasons(), ["Fenced"]);
}

#[tokio::test]
async fn a_failed_record_ends_the_failover_before_the_old_primary_restarts() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::RecordPrimary, "db-1", "conflict");
    assert!(error_of(fail_over(&members, &observed).await).contains("conflict"));
    assert!(
        members.took("follow db-2 → db-1"),
        "repointed beside the record"
    );
    assert!(!members.took("restart"));
    assert_eq!(members.reasons(), ["Fenced", "Promoted"]);
}

#[tokio::test]
async fn a_failed_repoint_is_an_error_once_the_new_primary_is_recorded() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::Follow, "db-2", "cannot make db-2 follow");
    assert!(error_of(fail_over(&members, &observed).await).contains("cannot make db-2 follow"));
    assert!(members.took("record db-1"));
    assert!(!members.took("restart"));
}

#[tokio::test]
async fn a_failed_restart_of_the_old_primary_is_an_error_after_the_record() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::RestartNow, "db-0", "forbidden");
    assert!(error_of(fail_over(&members, &observed).await).contains("forbidden"));
    assert!(members.took("record db-1"));
    assert!(!members.took("ready"));
}

#[tokio::test]
async fn a_new_primary_that_never_gets_ready_is_an_error_after_everything_else() {
    let observed = observed();
    let members = members_of(&observed).fail(Step::WaitReady, "db-1", "timed out");
    assert!(error_of(fail_over(&members, &observed).await).contains("timed out"));
    assert_eq!(
        members.reasons(),
        [
            "Fenced",
            "Promoted",
            "ReplicasRepointed",
            "OldPrimaryRestarted"
        ]
    );
}

#[tokio::test]
async fn a_healthy_primary_refuses_the_failover_and_no_member_is_touched() {
    let mut observed = observed();
    observed[0] = seen("db-0", true, Some(lone_state(false, "0-1-9")), true);
    let members = members_of(&observed);
    let error = error_of(fail_over(&members, &observed).await);
    assert!(error.contains("is healthy and takes writes"), "{error}");
    assert!(members.taken().is_empty() && members.events().is_empty());
}

#[tokio::test]
async fn no_replica_that_answers_refuses_the_failover_and_no_member_is_touched() {
    let observed = [
        seen("db-0", true, None, true),
        seen("db-1", false, None, false),
    ];
    let members = members_of(&observed);
    let error = error_of(fail_over_to(&members, &observed, None, true).await);
    assert!(error.contains("no replica"), "{error}");
    assert!(members.taken().is_empty());
}

#[tokio::test]
async fn an_unreachable_replica_refuses_the_failover_unless_forced() {
    let mut observed = observed();
    observed[2] = seen("db-2", false, None, false);
    let members = members_of(&observed);
    let error = error_of(fail_over(&members, &observed).await);
    assert!(error.contains("db-2 cannot be reached"), "{error}");
    assert!(members.taken().is_empty());
    let forced = fail_over_to(&members, &observed, None, true).await;
    assert_eq!(forced.unwrap(), "db-1");
    assert!(!members.took("stop receiving db-2") && !members.took("follow db-2"));
}

#[tokio::test]
async fn a_member_holding_transactions_the_candidate_lacks_refuses_the_failover() {
    // db-2 answers but does not replicate, and holds 0-1-10, which db-1 never received.
    let mut observed = observed();
    observed[2] = seen("db-2", false, Some(lone_state(true, "0-1-10")), true);
    let members = members_of(&observed);
    let error = error_of(fail_over(&members, &observed).await);
    assert!(
        error
            .contains("db-2 answers but does not replicate, and holds 1 transaction(s) db-1 lacks"),
        "{error}"
    );
    assert!(members.taken().is_empty());
}

#[tokio::test]
async fn replicas_whose_histories_differ_once_stopped_leave_the_write_service_at_no_pod() {
    let observed = observed();
    let members = members_of(&observed)
        .state("db-1", replica_state("0-1-7", "0-1-9"))
        .state("db-2", replica_state("0-1-8,1-2-3", "0-1-8,1-2-3"));
    let error = error_of(fail_over(&members, &observed).await);
    assert!(
        error.contains("once the replicas stopped receiving; the write Service points at no pod: run failover again"),
        "{error}"
    );
    assert!(members.took("write service at none") && !members.took("promote"));
}

#[tokio::test]
async fn the_replica_asked_for_is_promoted_when_it_received_everything() {
    let observed = vec![
        seen("db-0", true, None, true),
        seen("db-1", false, Some(replica_state("0-1-9", "0-1-9")), true),
        seen("db-2", false, Some(replica_state("0-1-8", "0-1-9")), true),
    ];
    let members = members_of(&observed);
    let chosen = fail_over_to(&members, &observed, Some("db-2"), false).await;
    assert_eq!(chosen.unwrap(), "db-2");
    assert!(members.took("promote db-2 at 0-1-9") && members.took("follow db-1 → db-2"));
}

#[tokio::test]
async fn the_replica_asked_for_is_refused_once_stopped_if_another_received_more() {
    let observed = vec![
        seen("db-0", true, None, true),
        seen("db-1", false, Some(replica_state("0-1-9", "0-1-9")), true),
        seen("db-2", false, Some(replica_state("0-1-8", "0-1-9")), true),
    ];
    let members = members_of(&observed).state("db-1", replica_state("0-1-9", "0-1-11"));
    let error = error_of(fail_over_to(&members, &observed, Some("db-2"), false).await);
    assert!(
        error.contains("db-2 has received less than another replica"),
        "{error}"
    );
    assert!(!members.took("promote"));
}

#[tokio::test]
async fn the_events_tell_the_failover_in_order() {
    let observed = observed();
    let members = members_of(&observed);
    fail_over(&members, &observed).await.unwrap();
    assert_eq!(
        members.reasons(),
        [
            "Fenced",
            "Promoted",
            "ReplicasRepointed",
            "OldPrimaryRestarted"
        ]
    );
    let events = members.events();
    assert!(events[0]
        .1
        .ends_with("the replicas stopped receiving, db-1 at GTID 0-1-9"));
    assert_eq!(
        events[1].1,
        "db-1 applied its relay log up to GTID 0-1-9 and takes writes"
    );
    assert!(events[3]
        .1
        .contains("kubectl mysqlha rebuild-replica db db-0"));
}

#[tokio::test]
async fn the_progress_is_told_stage_by_stage() {
    let observed = observed();
    let members = members_of(&observed);
    let stages = Mutex::new(Vec::new());
    let step = |what: &str| stages.lock().unwrap().push(what.to_string());
    run(
        &members,
        "db-0",
        plan(&observed, None, false),
        None,
        Instant::now(),
        &step,
    )
    .await
    .unwrap();
    assert_eq!(
        stages.into_inner().unwrap(),
        [
            "fencing the old primary",
            "applying the relay log and promoting",
            "recording the new primary; repointing the replicas",
            "restarting the old primary read-only",
        ]
    );
}

#[tokio::test]
async fn the_time_to_writable_is_counted_from_the_start_given() {
    let observed = observed();
    let members = members_of(&observed);
    let started = Instant::now() - Duration::from_secs(7);
    let (_, writable_after) = run(
        &members,
        "db-0",
        plan(&observed, None, false),
        None,
        started,
        &|_: &str| {},
    )
    .await
    .unwrap();
    assert!(
        writable_after >= Duration::from_secs(7),
        "{writable_after:?}"
    );
}
