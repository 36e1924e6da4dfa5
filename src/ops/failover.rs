//! The failover itself, shared by `kubectl mysqlha failover` and the agent's automatic
//! failover: fence the old primary, stop every replica receiving, promote the replica that
//! received the most (after it applied all it received), repoint the others, record the new
//! primary and restart the old one read-only and out of service. The decision is
//! plan::failover's; the caller holds the cluster's operation lock (Context).
use crate::base::progress::Progress;
use crate::cluster::{Cluster, ServerState};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::ops::members::{ClusterMembers, Members};
use crate::ops::plan::failover::{choose_candidate, received, state_of, FailoverPlan};
use crate::ops::plan::PROBE_TIMEOUT;
use anyhow::{anyhow, Context as _, Result};
use std::time::{Duration, Instant};

/// What a failover did.
pub struct Outcome {
    pub old: String,
    pub candidate: String,
    /// From `started` to the moment the new primary was recorded (takes writes).
    pub writable_after: Duration,
}

/// The candidate of a plan that proceeds (else its refusal), recorded as an event.
pub fn candidate(ctx: &Context, cluster: &Cluster, plan: &FailoverPlan) -> Result<String> {
    let candidate = plan.plan.go_ahead()?;
    let old = &cluster.primary;
    ctx.member_event(
        &candidate,
        Reason::CandidateChosen,
        format!(
            "{candidate} has received all any reachable replica has; old primary {old} {}",
            if plan.old_answers {
                "answers but is unhealthy"
            } else {
                "does not answer"
            }
        ),
    );
    Ok(candidate)
}

/// Runs the failover `plan` decided (`to`: the replica asked for, if any), within `timeout`.
pub async fn execute(
    ctx: &Context,
    cluster: &Cluster,
    plan: FailoverPlan,
    to: Option<&str>,
    timeout: Duration,
    started: Instant,
) -> Result<Outcome> {
    let old = cluster.primary.clone();
    let candidate = plan.plan.go_ahead()?;
    let passwords = cluster.passwords().await?;
    let members = ClusterMembers::new(ctx, cluster, &passwords);
    let task = Progress::new().task(&format!("{old} → {candidate}"));
    let what = format!("failing over from {old} to {candidate}");
    let step = |what: &str| task.set(what);
    let (candidate, writable_after) = wait::with_timeout(
        timeout,
        &what,
        run(&members, &old, plan, to, started, &step),
    )
    .await?;
    task.finish("done");
    Ok(Outcome {
        old,
        candidate,
        writable_after,
    })
}

/// The failover's steps on the members, `step` told each stage: returns the new primary and
/// how long after `started` it was recorded. The plan's refusal, if any, is the error and
/// nothing is touched.
pub async fn run(
    members: &impl Members,
    old: &str,
    plan: FailoverPlan,
    to: Option<&str>,
    started: Instant,
    step: &(dyn Fn(&str) + Sync),
) -> Result<(String, Duration)> {
    plan.plan.go_ahead()?;
    let (old_answers, old_reached, replicas) = (plan.old_answers, plan.old_reached, plan.replicas);
    step("fencing the old primary");
    let pods: Vec<&str> = replicas.iter().map(|(p, _)| p.as_str()).collect();
    let (service, fenced, stopped) = tokio::join!(
        members.point_write_service(None),
        fence_old(members, old, old_answers, old_reached),
        stop_receiving(members, &pods),
    );
    service?;
    // Nothing more can arrive now: decide again on what each replica really received.
    let stopped = stopped?;
    let candidate = choose_candidate(members.cluster_name(), &stopped, to).map_err(|e| {
        anyhow!("{e}, once the replicas stopped receiving; the write Service points at no pod: run failover again")
    })?;
    let position = received(state_of(&stopped, &candidate)).to_string();
    members.event(Some(old), Reason::Fenced, format!("old primary {old} fenced ({fenced}); no pod behind the write Service; the replicas stopped receiving, {candidate} at GTID {position}"));
    step("applying the relay log and promoting");
    members.ensure_lock_held()?;
    members
        .promote(&candidate, &position, Duration::from_secs(60))
        .await?;
    members.event(
        Some(&candidate),
        Reason::Promoted,
        format!("{candidate} applied its relay log up to GTID {position} and takes writes"),
    );
    step("recording the new primary; repointing the replicas");
    let repoint = pods
        .iter()
        .filter(|p| **p != candidate)
        .map(|p| members.follow(p, &candidate, false));
    let (recorded, repointed) = tokio::join!(
        members.record_primary(&candidate),
        futures::future::try_join_all(repoint),
    );
    recorded?;
    let writable_after = started.elapsed();
    repointed?;
    members.event(
        None,
        Reason::ReplicasRepointed,
        format!("{candidate} is the primary of record; the other replicas replicate from it"),
    );
    step("restarting the old primary read-only");
    members.restart_now(old).await?;
    members.event(Some(old), Reason::OldPrimaryRestarted, format!("{old} restarts read-only and out of service; the agent (when deployed) brings it back as a replica if it holds nothing {candidate} lacks, else kubectl mysqlha rebuild-replica {} {old}", members.cluster_name()));
    members.wait_ready(&candidate).await?;
    Ok((candidate, writable_after))
}

/// Fences the old primary, and says how: one that answers is made read-only and its sessions
/// cut; one that does not (or cannot be made read-only) but whose container an exec reaches
/// has its server killed (it restarts read-only and not replicating), so it cannot take
/// writes when it wakes. One on a node that does not answer, or whose pod does not run, is not
/// waited for: it gets no acknowledgement once the replicas stop receiving, and its pod is out
/// of the write Service.
async fn fence_old(members: &impl Members, old: &str, answers: bool, reached: bool) -> String {
    let why = if answers {
        match tokio::time::timeout(PROBE_TIMEOUT, members.fence(old)).await {
            Ok(Ok(_)) => return "read-only".into(),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "no answer to read_only".into(),
        }
    } else if !reached {
        return "not answering, its container out of reach: not stopped".into();
    } else {
        "not answering".into()
    };
    match members.stop_and_hold(old, PROBE_TIMEOUT).await {
        Ok(()) => format!("{why}: its server killed, it restarts read-only"),
        Err(e) => format!("{why}, and not stopped: {e:#}"),
    }
}

/// Stops every replica's IO thread (the old primary can get no more acknowledgements) and
/// reads what each has received, one exec per replica, all at once.
async fn stop_receiving(
    members: &impl Members,
    pods: &[&str],
) -> Result<Vec<(String, ServerState)>> {
    let stop = pods.iter().map(|pod| async move {
        let state = members
            .stop_receiving(pod)
            .await
            .with_context(|| format!("cannot stop replication on {pod}"))?;
        Ok::<_, anyhow::Error>((pod.to_string(), state))
    });
    futures::future::try_join_all(stop).await
}

#[cfg(test)]
mod tests;
