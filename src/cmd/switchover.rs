//! `kubectl mysqlha switchover NAME [--to POD] [--dry-run]`: a planned move of the primary.
//! Writes stop on the old primary, the target applies everything the old primary committed,
//! and only then is it promoted; no acknowledged write can be lost and no history forks. The
//! decision is plan::switchover's; --dry-run prints it and changes nothing.
use crate::cli::SwitchoverArgs;
use crate::cluster::{observe, Cluster};
use crate::context::Context;
use crate::progress::Progress;
use crate::{plan, topology, wait};
use anyhow::Result;
use std::time::{Duration, Instant};

pub async fn run(ctx: &Context, args: &SwitchoverArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let old = cluster.primary.clone();
    let plan = plan::switchover::plan(&cluster, args.to.as_deref()).await;
    if args.dry_run {
        return plan.print_dry_run(&cluster, args.output).await;
    }
    let target = plan.go_ahead()?;
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
