//! A primary whose pod is being deleted (a drain, an eviction, `kubectl delete pod`) keeps
//! serving while its preStop hook (manifests/scripts/pre-stop.sh) waits: the leader claims the
//! move (file run/leaving in the primary's pod), switches over to the healthy replica that
//! applied the most, under the operation lock, with the same switchover as `kubectl mysqlha
//! switchover`, and takes the claim back when it cannot; the pod then stops as before and its
//! silence is a lost primary's (failover after the grace).
use super::machine::Moved;
use crate::base::progress::Progress;
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::ops::{plan, switchover};
use anyhow::{Context as _, Result};
use std::time::Duration;

/// The file the preStop hook waits on while the agent moves the primary away.
const CLAIM: &str = "/etc/mysqlha/run/leaving";
/// The longest the move may take (the hook gives it 30 s once claimed, the pod 60 s in all).
const MOVE_TIMEOUT: Duration = Duration::from_secs(28);

/// Switches over from `primary`, whose pod is being deleted, under the operation lock (a
/// command holding it: an error, nothing done). The claim comes first, so that the hook keeps
/// the server up while the lock is taken and the members asked.
pub async fn switch_over(ctx: &Context, name: &str, cluster: &Cluster) -> Result<Moved> {
    let primary = cluster.primary.as_str();
    claim(cluster, primary, true).await?;
    let moved = super::with_primary_locked(ctx, name, primary, "planned-switchover", |op, now| {
        Box::pin(async move {
            tokio::time::timeout(MOVE_TIMEOUT, move_away(op, now, &now.primary))
                .await
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!(
                        "the switchover took over {}s",
                        MOVE_TIMEOUT.as_secs()
                    ))
                })
        })
    })
    .await;
    if moved.is_err() {
        // The hook stops waiting: the pod stops as it would have without an agent.
        claim(cluster, primary, false).await.ok();
    }
    moved.with_context(|| format!("switchover away from {primary}, whose pod is being deleted"))
}

async fn move_away(op: &Context, cluster: &Cluster, primary: &str) -> Result<Moved> {
    let target = plan::switchover::plan_primary_leaving(cluster)
        .await
        .go_ahead()?;
    op.member_event(
        &target,
        Reason::CandidateChosen,
        format!("{target} is to become the primary: {primary}'s pod is being deleted"),
    );
    let passwords = cluster.passwords().await?;
    let task = Progress::new().task(&format!("{primary} → {target}"));
    let window = switchover::move_primary(op, cluster, primary, &target, &passwords, &task).await?;
    task.finish("switched over");
    Ok(Moved {
        old: primary.to_string(),
        new: target,
        window,
    })
}

/// Makes (`on`) or removes the claim in `pod`'s server container.
async fn claim(cluster: &Cluster, pod: &str, on: bool) -> Result<()> {
    let script = if on {
        format!("touch {CLAIM}")
    } else {
        format!("rm -f {CLAIM}")
    };
    tokio::time::timeout(
        Duration::from_secs(5),
        crate::k8s::exec::run(cluster.server(pod), &["sh", "-c", &script], None),
    )
    .await
    .with_context(|| format!("no answer from pod {pod} within 5s"))?
    .with_context(|| format!("cannot mark pod {pod} as leaving"))?;
    Ok(())
}
