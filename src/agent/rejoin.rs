//! After a failover the old primary comes back read-only and not replicating (its pod restarts
//! while the record names another primary). The leader brings such a member back as a replica
//! when its history holds nothing the primary lacks; otherwise it leaves it out of service and
//! says which transactions only it holds (a rebuild-replica is the way back).
use crate::cluster::{observe, pod_phase, Cluster, PodPhase, ServerState};
use crate::context::Context;
use crate::topology;
use anyhow::{Context as _, Result};

/// What became of a member found out of service.
pub enum Outcome {
    Rejoined { pod: String, position: String },
    Diverged { pod: String, errant: Vec<String> },
}

/// The members (not the primary) whose server runs read-only with no replication configured.
/// Only members whose server runs but is not Ready are asked (a replica is Ready only while it
/// replicates), so a healthy cluster costs no exec.
pub async fn out_of_service(cluster: &Cluster) -> Vec<String> {
    let running = cluster.members.iter().filter(|m| {
        m.name != cluster.primary
            && matches!(
                pod_phase(m.pod.as_ref()),
                PodPhase::Running { ready: false }
            )
    });
    let asks = running.map(|m| async move {
        let state = observe(cluster.server(&m.name)).await.ok()?;
        idle_replica(&state).then(|| m.name.clone())
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Read-only and replicating from no one.
fn idle_replica(state: &ServerState) -> bool {
    state.read_only && state.replication.is_none()
}

/// Under the operation lock (`ctx`): reads `pod` and the primary again and either makes `pod`
/// replicate from the primary (nothing errant) or reports what only `pod` holds.
pub async fn rejoin(ctx: &Context, cluster: &Cluster, pod: &str) -> Result<Option<Outcome>> {
    let primary = &cluster.primary;
    let (state, primary_state) = tokio::join!(
        observe(cluster.server(pod)),
        observe(cluster.server(primary))
    );
    let state = state.with_context(|| format!("cannot read {pod}"))?;
    let primary_state = primary_state.with_context(|| format!("cannot read primary {primary}"))?;
    if !idle_replica(&state) || primary_state.read_only {
        return Ok(None);
    }
    let errant = state.history.errant_against(&primary_state.history);
    if !errant.is_empty() {
        return Ok(Some(Outcome::Diverged {
            pod: pod.to_string(),
            errant: errant.items(),
        }));
    }
    ctx.ensure_lock_held()?;
    let passwords = cluster.passwords().await?;
    topology::follow(cluster, pod, primary, &passwords, true).await?;
    Ok(Some(Outcome::Rejoined {
        pod: pod.to_string(),
        position: state.history.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Replication;

    #[test]
    fn only_a_read_only_member_replicating_from_no_one_is_idle() {
        let mut state = ServerState {
            read_only: true,
            ..Default::default()
        };
        assert!(idle_replica(&state));
        state.replication = Some(Replication::default());
        assert!(!idle_replica(&state), "a stopped replica is the user's");
        state.replication = None;
        state.read_only = false;
        assert!(!idle_replica(&state), "a writable member is not a replica");
    }
}
