//! A planned move of the primary, shared by `switchover` and the rolling operations (`upgrade`,
//! `set`): writes stop on the old primary, the target applies everything the old primary
//! committed, and only then is it promoted and recorded; the other members are repointed.
use crate::base::progress::Task;
use crate::cluster::{observe, Cluster};
use crate::k8s::context::Context;
use crate::manifests::Passwords;
use crate::ops::topology;
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
    task.set("stopping writes on the old primary");
    ctx.ensure_lock_held()?;
    let started = Instant::now();
    let position = topology::fence(cluster, old).await?;
    ctx.member_event(
        old,
        "Fenced",
        format!("old primary {old} stopped taking writes at GTID {position}"),
    );
    task.set("waiting until the target has applied every write");
    if let Err(e) = topology::promote(cluster, target, &position, Duration::from_secs(30)).await {
        return Err(give_writes_back_unless_promoted(cluster, old, target, e).await);
    }
    topology::record_primary(cluster, target).await?;
    let window = started.elapsed();
    ctx.member_event(
        target,
        "Promoted",
        format!("{target} applied every write up to GTID {position} and is the primary of record"),
    );
    task.set("repointing the replicas");
    let repoint = cluster
        .members
        .iter()
        .filter(|m| m.name != target)
        .map(|m| topology::follow(cluster, &m.name, target, passwords, m.name == old));
    futures::future::try_join_all(repoint).await?;
    ctx.event(
        "ReplicasRepointed",
        format!("every other member replicates from {target}, {old} included"),
    );
    Ok(window)
}

/// A promotion that failed before the target turned writable (its wait for the old primary's
/// last write ran out) leaves nothing moved: the old primary takes writes again.
async fn give_writes_back_unless_promoted(
    cluster: &Cluster,
    old: &str,
    target: &str,
    error: anyhow::Error,
) -> anyhow::Error {
    let target_still_replica = observe(cluster.server(target))
        .await
        .is_ok_and(|s| s.read_only);
    if !target_still_replica {
        return error.context(format!(
            "switchover stopped half way: {old} is read-only; check kubectl mysqlha status {}",
            cluster.name
        ));
    }
    // Its fence left a hold (a restart brings it back read-only): it goes with the fence.
    let given_back = async {
        crate::cluster::sql::execute(cluster.server(old), cluster.engine.writable_statements())
            .await?;
        topology::release_hold(cluster, old).await
    };
    match given_back.await {
        Ok(()) => error.context("switchover abandoned, the old primary takes writes again"),
        Err(_) => error.context(format!(
            "switchover abandoned; {old} stays read-only: check kubectl mysqlha status {}",
            cluster.name
        )),
    }
}
