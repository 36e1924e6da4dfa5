//! The failover itself, shared by `kubectl mysqlha failover` and the agent's automatic
//! failover: fence the old primary, stop every replica receiving, promote the replica that
//! received the most (after it applied all it received), repoint the others, record the new
//! primary and restart the old one read-only and out of service. The decision is
//! plan::failover's; the caller holds the cluster's operation lock (Context).
use crate::base::progress::Progress;
use crate::cluster::{observe_after, Cluster, ServerState};
use crate::k8s::context::Context;
use crate::ops::plan::failover::{choose_candidate, received, state_of, FailoverPlan};
use crate::ops::plan::PROBE_TIMEOUT;
use crate::{k8s::wait, ops::topology};
use anyhow::{anyhow, Context as _, Result};
use kube::api::DeleteParams;
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
        "CandidateChosen",
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
    let (old_answers, old_reached, replicas) = (plan.old_answers, plan.old_reached, plan.replicas);
    let passwords = cluster.passwords().await?;
    let task = Progress::new().task(&format!("{old} → {candidate}"));
    let what = format!("failing over from {old} to {candidate}");
    let (candidate, writable_after) = wait::with_timeout(timeout, &what, async {
        task.set("fencing the old primary");
        let pods: Vec<&str> = replicas.iter().map(|(p, _)| p.as_str()).collect();
        let (service, fenced, stopped) = tokio::join!(
            topology::point_write_service(cluster, None),
            fence_old(cluster, &old, old_answers, old_reached),
            stop_receiving(cluster, &pods),
        );
        service?;
        // Nothing more can arrive now: decide again on what each replica really received.
        let stopped = stopped?;
        let candidate = choose_candidate(&cluster.name, &stopped, to).map_err(|e| {
            anyhow!("{e}, once the replicas stopped receiving; the write Service points at no pod: run failover again")
        })?;
        let position = received(state_of(&stopped, &candidate)).to_string();
        ctx.member_event(&old, "Fenced", format!("old primary {old} fenced ({fenced}); no pod behind the write Service; the replicas stopped receiving, {candidate} at GTID {position}"));
        task.set("applying the relay log and promoting");
        ctx.ensure_lock_held()?;
        topology::promote(cluster, &candidate, &position, Duration::from_secs(60)).await?;
        ctx.member_event(&candidate, "Promoted", format!("{candidate} applied its relay log up to GTID {position} and takes writes"));
        task.set("recording the new primary; repointing the replicas");
        let repoint = pods
            .iter()
            .filter(|p| **p != candidate)
            .map(|p| topology::follow(cluster, p, &candidate, &passwords, false));
        let (recorded, repointed) = tokio::join!(
            topology::record_primary(cluster, &candidate),
            futures::future::try_join_all(repoint),
        );
        recorded?;
        let writable_after = started.elapsed();
        repointed?;
        ctx.event("ReplicasRepointed", format!("{candidate} is the primary of record; the other replicas replicate from it"));
        task.set("restarting the old primary read-only");
        restart_now(cluster, &old).await?;
        ctx.member_event(&old, "OldPrimaryRestarted", format!("{old} restarts read-only and out of service; the agent (when deployed) brings it back as a replica if it holds nothing {candidate} lacks, else kubectl mysqlha rebuild-replica {} {old}", cluster.name));
        wait::until_ready(&cluster.pods, &candidate).await?;
        Ok((candidate, writable_after))
    })
    .await?;
    task.finish("done");
    Ok(Outcome {
        old,
        candidate,
        writable_after,
    })
}

/// Fences the old primary, and says how: one that answers is made read-only and its sessions
/// cut; one that does not (or cannot be made read-only) but whose container an exec reaches
/// has its server killed (it restarts read-only and not replicating), so it cannot take
/// writes when it wakes. One on a node that does not answer, or whose pod does not run, is not
/// waited for: it gets no acknowledgement once the replicas stop receiving, and its pod is out
/// of the write Service.
async fn fence_old(cluster: &Cluster, old: &str, answers: bool, reached: bool) -> String {
    let why = if answers {
        match tokio::time::timeout(PROBE_TIMEOUT, topology::fence(cluster, old)).await {
            Ok(Ok(_)) => return "read-only".into(),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "no answer to read_only".into(),
        }
    } else if !reached {
        return "not answering, its container out of reach: not stopped".into();
    } else {
        "not answering".into()
    };
    match topology::stop_and_hold(cluster, old, PROBE_TIMEOUT).await {
        Ok(()) => format!("{why}: its server killed, it restarts read-only"),
        Err(e) => format!("{why}, and not stopped: {e:#}"),
    }
}

/// Stops every replica's IO thread (the old primary can get no more acknowledgements) and
/// reads what each has received, one exec per replica, all at once.
async fn stop_receiving(cluster: &Cluster, pods: &[&str]) -> Result<Vec<(String, ServerState)>> {
    let statements = cluster.engine.stop_receiving_statements();
    let stop: Vec<&str> = statements.iter().map(String::as_str).collect();
    let stop = &stop;
    let stop = pods.iter().map(|pod| async move {
        let state = observe_after(cluster.server(pod), stop)
            .await
            .with_context(|| format!("cannot stop replication on {pod}"))?;
        Ok::<_, anyhow::Error>((pod.to_string(), state))
    });
    futures::future::try_join_all(stop).await
}

/// Deletes the old primary's pod at once: it restarts read-only (the record names another
/// primary) and out of the write Service.
async fn restart_now(cluster: &Cluster, pod: &str) -> Result<()> {
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    match cluster.pods.delete(pod, &now).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).context("cannot restart the old primary"),
    }
}
