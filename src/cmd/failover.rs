//! `kubectl mysqlha failover NAME [--to POD] [--dry-run]`: the primary is dead, gone or cut
//! off. Fence it, promote the replica that received the most (after it applied all it
//! received), repoint the others; the old primary restarts read-only, out of service, to be
//! checked and rebuilt. The decision is plan::failover's, the execution crate::ops::failover's (the
//! agent runs the same); --dry-run prints the decision and changes nothing.
use crate::cli::FailoverArgs;
use crate::cluster::Cluster;
use crate::cmd::confirm;
use crate::k8s::context::Context;
use crate::{ops::failover, ops::plan};
use anyhow::Result;
use std::time::Instant;

pub async fn run(ctx: &Context, args: &FailoverArgs) -> Result<()> {
    let started = Instant::now();
    let cluster = Cluster::load(ctx, &args.name).await?;
    // Decide before changing anything: the candidate must have received all any replica has.
    let plan = plan::failover::plan(&cluster, args.to.as_deref(), args.force).await;
    if args.dry_run {
        return plan.plan.print_dry_run(&cluster, args.output).await;
    }
    let candidate = failover::candidate(ctx, &cluster, &plan)?;
    let old = &cluster.primary;
    confirm(
        &format!("Fail over cluster {} from {old} to {candidate}?", args.name),
        args.yes,
    )?;
    let done = failover::execute(
        ctx,
        &cluster,
        plan,
        args.to.as_deref(),
        args.timeout,
        started,
    )
    .await?;
    let (old, candidate) = (&done.old, &done.candidate);
    println!(
        "failed over {}: primary {old} → {candidate}, writable after {:.2}s; {old} restarts read-only and out of service: check `kubectl mysqlha status {}`, then `kubectl mysqlha rebuild-replica {} {old}`",
        args.name,
        done.writable_after.as_secs_f64(),
        args.name,
        args.name
    );
    Ok(())
}
