//! The switchover's steps on scripted members: their order, the wait for the old primary's
//! last write, and writes given back when the target could not be promoted.
use super::run;
use crate::ops::members::fake::{lone_state, Scripted, Step};
use std::sync::Mutex;

/// db-0 the primary, fenced at 0-1-9; db-1 the target; db-2 another replica.
fn members() -> Scripted {
    Scripted::new("db", &["db-0", "db-1", "db-2"]).position("db-0", "0-1-9")
}

async fn switch_over(members: &Scripted) -> anyhow::Result<std::time::Duration> {
    run(members, "db-0", "db-1", &|_: &str| {}).await
}

fn error_of(result: anyhow::Result<std::time::Duration>) -> String {
    format!("{:#}", result.expect_err("the switchover fails"))
}

#[tokio::test]
async fn a_switchover_takes_its_steps_in_order() {
    let members = members();
    switch_over(&members).await.unwrap();
    assert_eq!(
        members.taken(),
        [
            "lock held?",
            "fence db-0",
            "promote db-1 at 0-1-9 within 30s",
            "record db-1",
            "follow db-0 → db-1 (former primary)",
            "follow db-2 → db-1",
        ]
    );
}

#[tokio::test]
async fn the_target_is_promoted_only_once_it_applied_the_old_primarys_last_write() {
    let members = members();
    switch_over(&members).await.unwrap();
    assert!(members.index_of("fence db-0") < members.index_of("promote db-1"));
    assert!(members.took("promote db-1 at 0-1-9 within 30s"));
}

#[tokio::test]
async fn the_target_is_recorded_before_any_member_is_repointed() {
    let members = members();
    switch_over(&members).await.unwrap();
    assert!(members.index_of("record db-1") < members.index_of("follow"));
}

#[tokio::test]
async fn the_old_primary_follows_the_target_as_a_former_primary_and_the_others_as_replicas() {
    let members = members();
    switch_over(&members).await.unwrap();
    assert!(members.took("follow db-0 → db-1 (former primary)"));
    assert!(members.taken().contains(&"follow db-2 → db-1".to_string()));
    assert!(!members.took("follow db-1"), "the target follows no one");
}

#[tokio::test]
async fn a_lost_lock_stops_the_switchover_before_the_fence() {
    let members = members().fail(Step::Lock, "", "the lock was taken over");
    assert!(error_of(switch_over(&members).await).contains("the lock was taken over"));
    assert_eq!(members.taken(), ["lock held?"]);
}

#[tokio::test]
async fn a_failed_fence_changes_nothing_else() {
    let members = members().fail(Step::Fence, "db-0", "cannot make db-0 read-only");
    assert!(error_of(switch_over(&members).await).contains("cannot make db-0 read-only"));
    assert_eq!(members.taken(), ["lock held?", "fence db-0"]);
    assert!(members.events().is_empty());
}

#[tokio::test]
async fn a_promotion_that_ran_out_gives_writes_back_to_the_old_primary() {
    let members = members()
        .fail(Step::Promote, "db-1", "it had not applied every write")
        .state("db-1", lone_state(true, "0-1-8"));
    let error = error_of(switch_over(&members).await);
    assert!(
        error.starts_with("switchover abandoned, the old primary takes writes again"),
        "{error}"
    );
    assert!(error.contains("it had not applied every write"), "{error}");
    assert_eq!(
        &members.taken()[3..],
        ["observe db-1", "writable db-0", "release hold db-0"]
    );
    assert!(!members.took("record") && !members.took("follow"));
}

#[tokio::test]
async fn writes_are_given_back_before_the_hold_is_released() {
    let members = members()
        .fail(Step::Promote, "db-1", "timed out")
        .state("db-1", lone_state(true, "0-1-8"));
    let _ = switch_over(&members).await;
    assert!(members.index_of("writable db-0") < members.index_of("release hold db-0"));
}

#[tokio::test]
async fn a_target_that_turned_writable_keeps_the_old_primary_read_only() {
    let members = members()
        .fail(Step::Promote, "db-1", "lost connection")
        .state("db-1", lone_state(false, "0-1-9"));
    let error = error_of(switch_over(&members).await);
    assert!(
        error.starts_with(
            "switchover stopped half way: db-0 is read-only; check kubectl mysqlha status db"
        ),
        "{error}"
    );
    assert!(!members.took("writable") && !members.took("release hold"));
}

#[tokio::test]
async fn a_target_that_does_not_answer_after_a_failed_promotion_keeps_the_old_primary_read_only() {
    let members = members().fail(Step::Promote, "db-1", "lost connection");
    let error = error_of(switch_over(&members).await);
    assert!(error.starts_with("switchover stopped half way"), "{error}");
    assert!(!members.took("writable"));
}

#[tokio::test]
async fn writes_that_cannot_be_given_back_leave_the_old_primary_read_only_and_say_so() {
    let members = members()
        .fail(Step::Promote, "db-1", "timed out")
        .fail(Step::SetWritable, "db-0", "lost connection")
        .state("db-1", lone_state(true, "0-1-8"));
    let error = error_of(switch_over(&members).await);
    assert!(
        error.starts_with(
            "switchover abandoned; db-0 stays read-only: check kubectl mysqlha status db"
        ),
        "{error}"
    );
    assert!(!members.took("release hold"));
}

#[tokio::test]
async fn a_hold_that_cannot_be_released_counts_as_writes_not_given_back() {
    let members = members()
        .fail(Step::Promote, "db-1", "timed out")
        .fail(Step::ReleaseHold, "db-0", "exec failed")
        .state("db-1", lone_state(true, "0-1-8"));
    let error = error_of(switch_over(&members).await);
    assert!(
        error.starts_with("switchover abandoned; db-0 stays read-only"),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_record_ends_the_switchover_before_any_member_is_repointed() {
    let members = members().fail(Step::RecordPrimary, "db-1", "conflict");
    assert!(error_of(switch_over(&members).await).contains("conflict"));
    assert!(!members.took("follow") && !members.took("writable"));
    assert_eq!(members.reasons(), ["Fenced"]);
}

#[tokio::test]
async fn a_failed_repoint_is_an_error_once_the_target_is_recorded() {
    let members = members().fail(Step::Follow, "db-2", "cannot make db-2 follow db-1");
    assert!(error_of(switch_over(&members).await).contains("cannot make db-2 follow db-1"));
    assert!(members.took("record db-1"));
    assert_eq!(members.reasons(), ["Fenced", "Promoted"]);
}

#[tokio::test]
async fn the_events_tell_the_switchover_in_order() {
    let members = members();
    switch_over(&members).await.unwrap();
    let events = members.events();
    let reasons: Vec<&str> = events.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(reasons, ["Fenced", "Promoted", "ReplicasRepointed"]);
    assert_eq!(
        events[0].1,
        "old primary db-0 stopped taking writes at GTID 0-1-9"
    );
    assert_eq!(
        events[1].1,
        "db-1 applied every write up to GTID 0-1-9 and is the primary of record"
    );
    assert_eq!(
        events[2].1,
        "every other member replicates from db-1, db-0 included"
    );
}

#[tokio::test]
async fn the_progress_is_told_stage_by_stage() {
    let members = members();
    let stages = Mutex::new(Vec::new());
    let step = |what: &str| stages.lock().unwrap().push(what.to_string());
    run(&members, "db-0", "db-1", &step).await.unwrap();
    assert_eq!(
        stages.into_inner().unwrap(),
        [
            "stopping writes on the old primary",
            "waiting until the target has applied every write",
            "repointing the replicas",
        ]
    );
}

#[tokio::test]
async fn a_fence_that_wrote_nothing_promotes_at_an_empty_position() {
    // A primary that never wrote has an empty position: the promotion has nothing to wait for.
    let members = Scripted::new("db", &["db-0", "db-1"]);
    switch_over(&members).await.unwrap();
    assert!(members.took("promote db-1 at  within 30s"));
}
