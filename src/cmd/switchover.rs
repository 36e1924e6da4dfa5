//! `kubectl mysqlha switchover NAME [--to POD] [--dry-run]`: a planned move of the primary.
//! Writes stop on the old primary, the target applies everything the old primary committed,
//! and only then is it promoted; no acknowledged write can be lost and no history forks. The
//! decision is plan::switchover's; --dry-run prints it and changes nothing.
use crate::base::progress::Progress;
use crate::cli::SwitchoverArgs;
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::{k8s::wait, ops::plan, ops::switchover};
use anyhow::Result;

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
        Reason::CandidateChosen,
        format!("{target} is to become the primary ({why})"),
    );
    let passwords = cluster.passwords().await?;
    let task = Progress::new().task(&format!("{old} → {target}"));
    let what = format!("switching over from {old} to {target}");
    let window = wait::with_timeout(args.timeout, &what, async {
        let window =
            switchover::move_primary(ctx, &cluster, &old, &target, &passwords, &task).await?;
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
