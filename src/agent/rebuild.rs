//! --auto-rebuild: the leader re-clones members that cannot serve by themselves (an old
//! primary holding what the primary lacks, a replica whose replication stopped on an error),
//! one at a time, under the operation lock, in a task of its own so the primary stays watched.
use super::rejoin::OutOfService;
use super::{begin, decision, end, say};
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use anyhow::Result;
use std::collections::BTreeSet;
use tokio::task::JoinHandle;

/// The first member that cannot serve by itself and is re-cloned (--auto-rebuild), and why:
/// a replica whose replication stopped on an error, or an old primary (idle) holding what the
/// primary lacks (`diverged`).
pub fn needs_rebuild(
    found: &[(String, OutOfService)],
    diverged: &BTreeSet<String>,
) -> Option<(String, String)> {
    found.iter().find_map(|(pod, why)| match why {
        OutOfService::Broken(error) => Some((pod.clone(), format!("stopped replicating: {error}"))),
        OutOfService::Idle if diverged.contains(pod) => Some((
            pod.clone(),
            "holds transactions the primary lacks".to_string(),
        )),
        OutOfService::Idle => None,
    })
}

/// Re-clones `pod` (which `why`) under the operation lock, in its own task, so that the
/// primary stays watched meanwhile.
pub fn spawn(ctx: &Context, name: &str, pod: &str, why: String) -> JoinHandle<()> {
    let base = Context {
        client: ctx.client.clone(),
        namespace: ctx.namespace.clone(),
        lock: None,
        color: crate::base::style::ColorChoice::Never,
        events: None,
    };
    let (name, pod) = (name.to_string(), pod.to_string());
    tokio::spawn(async move {
        let Ok(op) = begin(&base, &name, "auto-rebuild").await else {
            return;
        };
        let result = rebuild(&op, &name, &pod, &why).await;
        if let Err(e) = &result {
            say(&format!(
                "cannot rebuild {pod}: {}",
                crate::base::one_line(e)
            ));
        }
        end(op, &result).await;
    })
}

/// Under the operation lock (`op`): clones `pod` afresh from the best donor and rejoins it.
async fn rebuild(op: &Context, name: &str, pod: &str, why: &str) -> Result<()> {
    let cluster = Cluster::load(op, name).await?;
    let donor = crate::ops::clone::choose_donor(&cluster, pod).await?;
    decision(
        op,
        Reason::AutoRebuild,
        &format!("{pod} {why}: its data is thrown away and cloned from {donor}"),
        Some(pod),
    );
    let passwords = cluster.passwords().await?;
    let task = crate::base::progress::Progress::new().task(pod);
    let from = crate::ops::clone::Donor::named(&donor);
    crate::ops::clone::rebuild(&cluster, pod, from, &passwords, &task).await?;
    task.finish("rebuilt");
    decision(
        op,
        Reason::Rebuilt,
        &format!(
            "{pod} cloned from {donor}, caught up and replicating from {}",
            cluster.primary
        ),
        Some(pod),
    );
    Ok(())
}
