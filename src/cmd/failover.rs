//! `kubectl mysqlha failover NAME [--to POD]`: the primary is dead, gone or cut off. Fence it,
//! promote the replica that received the most (after it applied all it received), repoint the
//! others; the old primary restarts read-only, out of service, to be checked and rebuilt.
use crate::cli::FailoverArgs;
use crate::cluster::{self, observe_after, pod_phase, Cluster, PodPhase, ServerState};
use crate::cmd::confirm;
use crate::context::Context;
use crate::engine::Gtids;
use crate::progress::Progress;
use crate::{topology, wait};
use anyhow::{anyhow, bail, Context as _, Result};
use kube::api::DeleteParams;
use std::time::{Duration, Instant};

/// How long a member may take to answer before it counts as unreachable: its server has
/// sql::PROBE_CONNECT_TIMEOUT to greet; the rest is for the exec through the API server.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(ctx: &Context, args: &FailoverArgs) -> Result<()> {
    let started = Instant::now();
    let cluster = Cluster::load(ctx, &args.name).await?;
    let old = cluster.primary.clone();
    // Every member is asked at once: a silent primary costs one PROBE_TIMEOUT, not more.
    let (old_state, replica_states) =
        tokio::join!(probe_member(&cluster, &old), probe_replicas(&cluster));
    let old_answers = refuse_if_primary_healthy(&cluster, old_state.as_ref(), &replica_states)?;
    let replicas = reachable_replicas(&cluster, replica_states, args.force)?;
    // Decide before changing anything: the candidate must have received all any replica has.
    let candidate = choose_candidate(&cluster.name, &replicas, args.to.as_deref())
        .map_err(|e| anyhow!("{e}: nothing changed"))?;
    ctx.member_event(
        &candidate,
        "CandidateChosen",
        format!(
            "{candidate} has received all any reachable replica has; old primary {old} {}",
            if old_answers {
                "answers but is unhealthy"
            } else {
                "does not answer"
            }
        ),
    );
    confirm(
        &format!("Fail over cluster {} from {old} to {candidate}?", args.name),
        args.yes,
    )?;
    let passwords = cluster.passwords().await?;
    let task = Progress::new().task(&format!("{old} → {candidate}"));
    let what = format!("failing over from {old} to {candidate}");
    let (candidate, writable_after) = wait::with_timeout(args.timeout, &what, async {
        task.set("fencing the old primary");
        let pods: Vec<&str> = replicas.iter().map(|(p, _)| p.as_str()).collect();
        let (service, (), stopped) = tokio::join!(
            topology::point_write_service(&cluster, None),
            fence_if_it_answers(&cluster, &old, old_answers),
            stop_receiving(&cluster, &pods),
        );
        service?;
        // Nothing more can arrive now: decide again on what each replica really received.
        let stopped = stopped?;
        let candidate = choose_candidate(&cluster.name, &stopped, args.to.as_deref()).map_err(|e| {
            anyhow!("{e}, once the replicas stopped receiving; the write Service points at no pod: run failover again")
        })?;
        let position = received(state_of(&stopped, &candidate)).to_string();
        ctx.member_event(&old, "Fenced", format!("old primary {old} fenced ({}); no pod behind the write Service; the replicas stopped receiving, {candidate} at GTID {position}", if old_answers { "read-only" } else { "not answering" }));
        task.set("applying the relay log and promoting");
        ctx.ensure_lock_held()?;
        topology::promote(&cluster, &candidate, &position, Duration::from_secs(60)).await?;
        ctx.member_event(&candidate, "Promoted", format!("{candidate} applied its relay log up to GTID {position} and takes writes"));
        task.set("recording the new primary; repointing the replicas");
        let repoint = pods
            .iter()
            .filter(|p| **p != candidate)
            .map(|p| topology::follow(&cluster, p, &candidate, &passwords, false));
        let (recorded, repointed) = tokio::join!(
            topology::record_primary(&cluster, &candidate),
            futures::future::try_join_all(repoint),
        );
        recorded?;
        let writable_after = started.elapsed();
        repointed?;
        ctx.event("ReplicasRepointed", format!("{candidate} is the primary of record; the other replicas replicate from it"));
        task.set("restarting the old primary read-only");
        restart_now(&cluster, &old).await?;
        ctx.member_event(&old, "OldPrimaryRestarted", format!("{old} restarts read-only and out of service; check it, then kubectl mysqlha rebuild-replica {} {old}", cluster.name));
        wait::until_ready(&cluster.pods, &candidate).await?;
        Ok((candidate, writable_after))
    })
    .await?;
    task.finish("done");
    println!(
        "failed over {}: primary {old} → {candidate}, writable after {:.2}s; {old} restarts read-only and out of service: check `kubectl mysqlha status {}`, then `kubectl mysqlha rebuild-replica {} {old}`",
        args.name,
        writable_after.as_secs_f64(),
        args.name,
        args.name
    );
    Ok(())
}

/// A running member's state, or None when it does not answer within PROBE_TIMEOUT.
async fn probe_member(cluster: &Cluster, pod: &str) -> Option<ServerState> {
    let running = cluster
        .member(pod)
        .is_some_and(|m| matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { .. }));
    if !running {
        return None;
    }
    tokio::time::timeout(PROBE_TIMEOUT, cluster::probe(cluster.server(pod)))
        .await
        .ok()
        .and_then(Result::ok)
}

/// Every replica of record and its state (None: it does not answer), probed at once.
async fn probe_replicas(cluster: &Cluster) -> Vec<(String, Option<ServerState>)> {
    let replicas: Vec<&str> = cluster
        .members
        .iter()
        .map(|m| m.name.as_str())
        .filter(|m| *m != cluster.primary)
        .collect();
    let states = futures::future::join_all(replicas.iter().map(|p| probe_member(cluster, p))).await;
    replicas.into_iter().map(String::from).zip(states).collect()
}

/// read_only and sessions cut on an old primary that still answers; a silent one is not waited
/// for (it gets no acknowledgement once the replicas stop receiving).
async fn fence_if_it_answers(cluster: &Cluster, old: &str, answers: bool) {
    if answers {
        let _ = tokio::time::timeout(PROBE_TIMEOUT, topology::fence(cluster, old)).await;
    }
}

/// Stops every replica's IO thread (the old primary can get no more acknowledgements) and
/// reads what each has received, one exec per replica, all at once.
async fn stop_receiving(cluster: &Cluster, pods: &[&str]) -> Result<Vec<(String, ServerState)>> {
    let statements = cluster.engine.stop_receiving_statements();
    let stop: Vec<&str> = statements.iter().map(String::as_str).collect();
    let stop = &stop;
    let stop = pods.iter().map(|pod| async move {
        let state = observe_after(cluster.server(pod), stop)
            .await
            .with_context(|| format!("cannot stop replication on {pod}"))?;
        Ok::<_, anyhow::Error>((pod.to_string(), state))
    });
    futures::future::try_join_all(stop).await
}

fn state_of<'a>(states: &'a [(String, ServerState)], pod: &str) -> &'a ServerState {
    &states
        .iter()
        .find(|(p, _)| p == pod)
        .expect("a chosen candidate")
        .1
}

/// Deletes the old primary's pod at once: it restarts read-only (the record names another
/// primary) and out of the write Service.
async fn restart_now(cluster: &Cluster, pod: &str) -> Result<()> {
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    match cluster.pods.delete(pod, &now).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).context("cannot restart the old primary"),
    }
}

/// Refuses while the primary is healthy; otherwise tells whether its server still answers
/// (then it is fenced with read_only; a silent one is not waited for).
fn refuse_if_primary_healthy(
    cluster: &Cluster,
    primary: Option<&ServerState>,
    replicas: &[(String, Option<ServerState>)],
) -> Result<bool> {
    match primary {
        Some(state) if !state.read_only && !cut_off_from_replicas(replicas) => bail!(
            "primary {} is healthy and takes writes: nothing changed. For a planned move use kubectl mysqlha switchover {}",
            cluster.primary,
            cluster.name
        ),
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// A primary that answers the plugin (exec does not cross the pod network) may still be cut
/// off: no replica's IO thread is connected to it.
fn cut_off_from_replicas(replicas: &[(String, Option<ServerState>)]) -> bool {
    !replicas.is_empty()
        && !replicas.iter().any(|(_, state)| {
            state
                .as_ref()
                .and_then(|s| s.replication.as_ref())
                .is_some_and(|r| r.io_running == "Yes")
        })
}

/// The replicas that answer and replicate; an unreachable one may hold acknowledged writes, so
/// without --force that is a refusal.
fn reachable_replicas(
    cluster: &Cluster,
    probed: Vec<(String, Option<ServerState>)>,
    force: bool,
) -> Result<Vec<(String, ServerState)>> {
    let (reachable, unreachable): (Vec<_>, Vec<_>) = probed
        .into_iter()
        .partition(|(_, s)| s.as_ref().is_some_and(|s| s.replication.is_some()));
    if reachable.is_empty() {
        bail!("no replica of cluster {} can be promoted (none answers and replicates): nothing changed", cluster.name);
    }
    if !unreachable.is_empty() && !force {
        let names: Vec<&str> = unreachable.iter().map(|(p, _)| p.as_str()).collect();
        bail!(
            "replica(s) {} cannot be reached and may hold acknowledged writes the others lack: nothing changed. Bring them back, or accept the risk with --force",
            names.join(", ")
        );
    }
    Ok(reachable
        .into_iter()
        .filter_map(|(p, s)| s.map(|s| (p, s)))
        .collect())
}

/// What a replica has received from the primary, applied or not (the engine's reading).
fn received(state: &ServerState) -> Gtids {
    state
        .replication
        .as_ref()
        .map(|r| r.received.clone())
        .unwrap_or_else(|| state.applied.clone())
}

fn choose_candidate(
    cluster: &str,
    replicas: &[(String, ServerState)],
    wanted: Option<&str>,
) -> Result<String> {
    let positions: Vec<(&str, Gtids)> = replicas
        .iter()
        .map(|(p, s)| (p.as_str(), received(s)))
        .collect();
    let has_all = |pos: &Gtids| positions.iter().all(|(_, other)| pos.includes(other));
    match wanted {
        Some(pod) => {
            let (_, pos) = positions.iter().find(|(p, _)| *p == pod).with_context(|| {
                format!("{pod} is not a reachable replica of cluster {cluster}")
            })?;
            if !has_all(pos) {
                bail!(
                    "{pod} has received less than another replica; promoting it would lose writes"
                );
            }
            Ok(pod.to_string())
        }
        None => positions
            .iter()
            .find(|(_, pos)| has_all(pos))
            .map(|(p, _)| p.to_string())
            .context("no replica has received everything the others have (their histories differ)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A MariaDB replica's state as the engine reads it from its rows.
    fn replica(name: &str, applied: &str, received: &str) -> (String, ServerState) {
        let row = crate::sqltext::row;
        let vars = row(&[
            ("read_only", "1"),
            ("current", applied),
            ("binlog_state", applied),
        ]);
        let slave = row(&[
            ("Master_Host", "x"),
            ("Slave_IO_Running", "No"),
            ("Slave_SQL_Running", "Yes"),
            ("Gtid_IO_Pos", received),
        ]);
        let state = crate::engine::Engine::Mariadb
            .parse_state(&[vars], &[slave])
            .unwrap();
        (name.into(), state)
    }

    #[test]
    fn the_candidate_is_the_one_that_received_the_most_not_applied_the_most() {
        let replicas = [
            replica("db-1", "0-1-90", "0-1-100"),
            replica("db-2", "0-1-95", "0-1-96"),
        ];
        assert_eq!(choose_candidate("db", &replicas, None).unwrap(), "db-1");
        assert_eq!(
            choose_candidate("db", &replicas, Some("db-1")).unwrap(),
            "db-1"
        );
        let err = choose_candidate("db", &replicas, Some("db-2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("received less"), "{err}");
        assert!(choose_candidate("db", &replicas, Some("db-7")).is_err());
    }

    #[test]
    fn an_empty_io_position_falls_back_to_what_was_applied() {
        let replicas = [
            replica("db-1", "0-1-50", ""),
            replica("db-2", "0-1-40", "0-1-40"),
        ];
        assert_eq!(choose_candidate("db", &replicas, None).unwrap(), "db-1");
    }
}
