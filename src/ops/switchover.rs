//! A planned move of the primary, shared by `switchover` and the rolling operations (`upgrade`,
//! `set`): writes stop on the old primary, the target applies everything the old primary
//! committed, and only then is it promoted and recorded; the other members are repointed.
use crate::base::progress::Task;
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::Passwords;
use crate::ops::members::{ClusterMembers, Members};
use anyhow::Result;
use std::time::{Duration, Instant};

/// Moves the primary from `old` to `target` and repoints every other member (`old` included) at
/// it. Returns how long writes were refused (fence to promotion). Does not wait for the members
/// to be ready again: the caller decides (a rolling upgrade restarts `old` right away).
pub async fn move_primary(
    ctx: &Context,
    cluster: &Cluster,
    old: &str,
    target: &str,
    passwords: &Passwords,
    task: &Task,
) -> Result<Duration> {
    let members = ClusterMembers::new(ctx, cluster, passwords);
    run(&members, old, target, &|what: &str| task.set(what)).await
}

/// The switchover's steps on the members, `step` told each stage: fence `old`, promote `target`
/// once it applied everything `old` wrote (else give writes back to `old`), record it, repoint
/// every other member. Returns how long writes were refused.
pub async fn run(
    members: &impl Members,
    old: &str,
    target: &str,
    step: &(dyn Fn(&str) + Sync),
) -> Result<Duration> {
    step("stopping writes on the old primary");
    members.ensure_lock_held()?;
    let started = Instant::now();
    let position = members.fence(old).await?;
    members.event(
        Some(old),
        Reason::Fenced,
        format!("old primary {old} stopped taking writes at GTID {position}"),
    );
    step("waiting until the target has applied every write");
    if let Err(e) = members
        .promote(target, &position, Duration::from_secs(30))
        .await
    {
        return Err(give_writes_back_unless_promoted(members, old, target, e).await);
    }
    members.record_primary(target).await?;
    let window = started.elapsed();
    members.event(
        Some(target),
        Reason::Promoted,
        format!("{target} applied every write up to GTID {position} and is the primary of record"),
    );
    step("repointing the replicas");
    let names = members.member_names();
    let repoint = names
        .iter()
        .filter(|m| *m != target)
        .map(|m| members.follow(m, target, m == old));
    futures::future::try_join_all(repoint).await?;
    members.event(
        None,
        Reason::ReplicasRepointed,
        format!("every other member replicates from {target}, {old} included"),
    );
    Ok(window)
}

/// A promotion that failed before the target turned writable (its wait for the old primary's
/// last write ran out) leaves nothing moved: the old primary takes writes again.
async fn give_writes_back_unless_promoted(
    members: &impl Members,
    old: &str,
    target: &str,
    error: anyhow::Error,
) -> anyhow::Error {
    let target_still_replica = members.observe(target).await.is_ok_and(|s| s.read_only);
    if !target_still_replica {
        return error.context(format!(
            "switchover stopped half way: {old} is read-only; check kubectl mysqlha status {}",
            members.cluster_name()
        ));
    }
    // Its fence left a hold (a restart brings it back read-only): it goes with the fence.
    let given_back = async {
        members.set_writable(old).await?;
        members.release_hold(old).await
    };
    match given_back.await {
        Ok(()) => error.context("switchover abandoned, the old primary takes writes again"),
        Err(_) => error.context(format!(
            "switchover abandoned; {old} stays read-only: check kubectl mysqlha status {}",
            members.cluster_name()
        )),
    }
}

#[cfg(test)]
mod tests;
