//! `kubectl mysqlha switchover NAME [--to POD]`: a planned move of the primary. Writes stop on
//! the old primary, the target applies everything the old primary committed, and only then is
//! it promoted; no acknowledged write can be lost and no history forks.
use crate::cli::SwitchoverArgs;
use crate::cluster::{observe, pod_phase, Cluster, PodPhase};
use crate::context::Context;
use crate::engine::Gtids;
use crate::progress::Progress;
use crate::topology;
use crate::wait;
use anyhow::{bail, Context as _, Result};
use std::time::{Duration, Instant};

pub async fn run(ctx: &Context, args: &SwitchoverArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let old = cluster.primary.clone();
    check_primary_healthy(&cluster).await?;
    let target = match &args.to {
        Some(to) => {
            check_candidate(&cluster, to).await?;
            to.clone()
        }
        None => most_up_to_date_replica(&cluster).await?,
    };
    let why = if args.to.is_some() {
        "named by --to"
    } else {
        "the most up-to-date healthy replica"
    };
    ctx.member_event(
        &target,
        "CandidateChosen",
        format!("{target} is to become the primary ({why})"),
    );
    let passwords = cluster.passwords().await?;
    let task = Progress::new().task(&format!("{old} → {target}"));
    let what = format!("switching over from {old} to {target}");
    let window = wait::with_timeout(args.timeout, &what, async {
        task.set("stopping writes on the old primary");
        ctx.ensure_lock_held()?;
        let started = Instant::now();
        let position = topology::fence(&cluster, &old).await?;
        ctx.member_event(
            &old,
            "Fenced",
            format!("old primary {old} stopped taking writes at GTID {position}"),
        );
        task.set("waiting until the target has applied every write");
        if let Err(e) =
            topology::promote(&cluster, &target, &position, Duration::from_secs(30)).await
        {
            return Err(give_writes_back_unless_promoted(&cluster, &old, &target, e).await);
        }
        topology::record_primary(&cluster, &target).await?;
        let window = started.elapsed();
        ctx.member_event(
            &target,
            "Promoted",
            format!(
                "{target} applied every write up to GTID {position} and is the primary of record"
            ),
        );
        task.set("repointing the replicas");
        let repoint = cluster
            .members
            .iter()
            .filter(|m| m.name != target)
            .map(|m| topology::follow(&cluster, &m.name, &target, &passwords, m.name == old));
        futures::future::try_join_all(repoint).await?;
        ctx.event(
            "ReplicasRepointed",
            format!("every other member replicates from {target}, {old} included"),
        );
        task.set("waiting until every member serves");
        for m in &cluster.members {
            wait::until_ready(&cluster.pods, &m.name).await?;
        }
        Ok(window)
    })
    .await?;
    task.finish("done");
    println!(
        "switched over {}: primary {old} → {target}; writes were refused for {:.2}s",
        args.name,
        window.as_secs_f64()
    );
    Ok(())
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
    match crate::sql::execute(cluster.server(old), cluster.engine.writable_statements()).await {
        Ok(()) => error.context("switchover abandoned, the old primary takes writes again"),
        Err(_) => error.context(format!(
            "switchover abandoned; {old} stays read-only: check kubectl mysqlha status {}",
            cluster.name
        )),
    }
}

async fn check_primary_healthy(cluster: &Cluster) -> Result<()> {
    let primary = &cluster.primary;
    let member = cluster
        .member(primary)
        .context("the primary of record is not a member")?;
    if pod_phase(member.pod.as_ref()) != (PodPhase::Running { ready: true }) {
        bail!("primary {primary} is not ready: a switchover needs a healthy primary; use kubectl mysqlha failover {}", cluster.name);
    }
    let state = observe(cluster.server(primary))
        .await
        .with_context(|| format!("primary {primary} does not answer; use failover"))?;
    if state.read_only {
        bail!(
            "primary {primary} is read-only; check kubectl mysqlha status {}",
            cluster.name
        );
    }
    Ok(())
}

/// A replica fit to take over: ready, replicating from the primary, no errant transactions.
async fn check_candidate(cluster: &Cluster, pod: &str) -> Result<()> {
    let member = cluster
        .member(pod)
        .with_context(|| format!("pod {pod} is not a member of cluster {}", cluster.name))?;
    if pod == cluster.primary {
        bail!("{pod} is already the primary");
    }
    if pod_phase(member.pod.as_ref()) != (PodPhase::Running { ready: true }) {
        bail!("{pod} is not ready and cannot become the primary");
    }
    let state = observe(cluster.server(pod)).await?;
    if !state.replication.as_ref().is_some_and(|r| r.is_connected()) {
        bail!("{pod} is not replicating and cannot become the primary");
    }
    let primary = observe(cluster.server(&cluster.primary)).await?;
    let errant = state.history.errant_against(&primary.history);
    if !errant.is_empty() {
        bail!("{pod} has transactions the primary never had; rebuild it first: kubectl mysqlha rebuild-replica {} {pod}", cluster.name);
    }
    Ok(())
}

async fn most_up_to_date_replica(cluster: &Cluster) -> Result<String> {
    let mut best: Option<(Gtids, String)> = None;
    for m in cluster.members.iter().filter(|m| m.name != cluster.primary) {
        if check_candidate(cluster, &m.name).await.is_err() {
            continue;
        }
        let pos = observe(cluster.server(&m.name)).await?.applied;
        if best
            .as_ref()
            .is_none_or(|(b, _)| pos.includes(b) && pos != *b)
        {
            best = Some((pos, m.name.clone()));
        }
    }
    best.map(|(_, name)| name).with_context(|| {
        format!(
            "cluster {} has no healthy replica to switch over to",
            cluster.name
        )
    })
}
