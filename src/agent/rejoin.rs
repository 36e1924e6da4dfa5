//! After a failover the old primary comes back read-only and not replicating (its pod restarts
//! while the record names another primary). The leader brings such a member back as a replica
//! when its history holds nothing the primary lacks; otherwise it leaves it out of service and
//! says which transactions only it holds (a rebuild-replica is the way back; the agent runs it
//! with --auto-rebuild, as for a replica whose replication stopped on an error).
use super::observe;
use crate::cluster::{pod_phase, Cluster, PodPhase, ServerState};
use crate::k8s::context::Context;
use crate::ops::topology;
use anyhow::{Context as _, Result};

/// What became of a member found out of service.
pub enum Outcome {
    Rejoined { pod: String, position: String },
    Diverged { pod: String, errant: Vec<String> },
}

/// Why a member (not the primary) whose server runs serves nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum OutOfService {
    /// Read-only and replicating from no one: an old primary back after a failover.
    Idle,
    /// Its replication stopped on this error (not stopped by a person: that leaves no error).
    Broken(String),
}

/// The members (not the primary) whose server runs but serves nothing, and why. Only members
/// whose server runs but is not Ready are asked (a replica is Ready only while it replicates),
/// so a healthy cluster costs no exec.
pub async fn out_of_service(cluster: &Cluster) -> Vec<(String, OutOfService)> {
    let running = cluster.members.iter().filter(|m| {
        m.name != cluster.primary
            && matches!(
                pod_phase(m.pod.as_ref()),
                PodPhase::Running { ready: false }
            )
    });
    let asks = running.map(|m| async move {
        let state = observe(cluster.server(&m.name)).await.ok()?;
        why_out_of_service(&state).map(|why| (m.name.clone(), why))
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn why_out_of_service(state: &ServerState) -> Option<OutOfService> {
    if idle_replica(state) {
        return Some(OutOfService::Idle);
    }
    let replication = state.replication.as_ref()?;
    match replication.error() {
        Some(error) if !replication.is_running() => Some(OutOfService::Broken(error)),
        _ => None,
    }
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
    use crate::db::engine::{Applier, Receiver, Replication};

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

    #[test]
    fn a_replica_is_broken_only_when_a_thread_stopped_on_an_error() {
        let mut replication = Replication {
            receiver: Receiver::Connected,
            applier: Applier::Stopped,
            ..Default::default()
        };
        let state = |r: &Replication| ServerState {
            read_only: true,
            replication: Some(r.clone()),
            ..Default::default()
        };
        assert_eq!(
            why_out_of_service(&state(&replication)),
            None,
            "stopped by a person"
        );
        replication.last_sql_error = Some("Duplicate entry '7' for key 'PRIMARY'".into());
        assert_eq!(
            why_out_of_service(&state(&replication)),
            Some(OutOfService::Broken(
                "Duplicate entry '7' for key 'PRIMARY'".into()
            ))
        );
        replication.applier = Applier::Running;
        replication.receiver = Receiver::Connecting;
        replication.last_sql_error = None;
        replication.last_io_error = Some("error connecting to master".into());
        assert_eq!(
            why_out_of_service(&state(&replication)),
            None,
            "still retrying: its source may come back"
        );
        let idle = ServerState {
            read_only: true,
            ..Default::default()
        };
        assert_eq!(why_out_of_service(&idle), Some(OutOfService::Idle));
    }
}
