//! `kubectl mysqlha failover NAME [--to POD]`: the primary is dead, gone or cut off. Fence it,
//! promote the replica that received the most (after it applied all it received), repoint the
//! others; the old primary restarts read-only, out of service, to be checked and rebuilt.
use crate::cli::FailoverArgs;
use crate::cluster::{observe, pod_phase, Cluster, PodPhase, ServerState};
use crate::cmd::{confirm, rebuild_replica::passwords};
use crate::context::Context;
use crate::gtid::GtidList;
use crate::progress::Progress;
use crate::{sql, topology, wait};
use anyhow::{bail, Context as _, Result};
use kube::api::DeleteParams;
use std::time::{Duration, Instant};

/// How long a member may take to answer before it counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn run(ctx: &Context, args: &FailoverArgs) -> Result<()> {
    let started = Instant::now();
    let cluster = Cluster::load(ctx, &args.name).await?;
    let old = cluster.primary.clone();
    let old_answers = refuse_if_primary_healthy(&cluster).await?;
    let replicas = reachable_replicas(&cluster, args.force).await?;
    // Decide before changing anything: the candidate must have received all any replica has.
    let candidate = choose_candidate(&cluster.name, &replicas, args.to.as_deref())?;
    confirm(
        &format!("Fail over cluster {} from {old} to {candidate}?", args.name),
        args.yes,
    )?;
    let passwords = passwords(ctx, &cluster).await?;
    let task = Progress::new().task(&format!("{old} → {candidate}"));
    let what = format!("failing over from {old} to {candidate}");
    let writable_after = wait::with_timeout(args.timeout, &what, async {
        task.set("fencing the old primary");
        topology::point_write_service(&cluster, None).await?;
        if old_answers {
            let _ = tokio::time::timeout(PROBE_TIMEOUT, topology::fence(&cluster, &old)).await;
        }
        // Replicas stop receiving from the old primary: it can get no more acknowledgements.
        for (pod, _) in &replicas {
            sql::execute(cluster.server(pod), "STOP SLAVE IO_THREAD;").await?;
        }
        let received = received_position(&cluster, &candidate).await?;
        task.set("applying the relay log");
        topology::wait_applied(
            &cluster,
            &candidate,
            &received.to_string(),
            Duration::from_secs(60),
        )
        .await?;
        topology::promote(&cluster, &candidate).await?;
        topology::record_primary(&cluster, &candidate).await?;
        let writable_after = started.elapsed();
        task.set("repointing the replicas");
        for (pod, _) in replicas.iter().filter(|(p, _)| *p != candidate) {
            topology::follow(&cluster, pod, &candidate, &passwords, false).await?;
        }
        task.set("restarting the old primary read-only");
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        match cluster.pods.delete(&old, &now).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e).context("cannot restart the old primary"),
        }
        wait::until_ready(&cluster.pods, &candidate).await?;
        Ok(writable_after)
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

/// Refuses while the primary is healthy; otherwise tells whether its server still answers
/// (then it is fenced with read_only; a silent one is not waited for).
async fn refuse_if_primary_healthy(cluster: &Cluster) -> Result<bool> {
    let primary = &cluster.primary;
    let current = cluster.pods.get_opt(primary).await?;
    if !matches!(pod_phase(current.as_ref()), PodPhase::Running { .. }) {
        return Ok(false);
    }
    match tokio::time::timeout(PROBE_TIMEOUT, observe(cluster.server(primary))).await {
        Ok(Ok(state)) if !state.read_only && !cut_off_from_replicas(cluster).await => bail!(
            "primary {primary} is healthy and takes writes: nothing changed. For a planned move use kubectl mysqlha switchover {}",
            cluster.name
        ),
        Ok(Ok(_)) => Ok(true),
        _ => Ok(false),
    }
}

/// A primary that answers the plugin (exec does not cross the pod network) may still be cut
/// off: no replica's IO thread is connected to it.
async fn cut_off_from_replicas(cluster: &Cluster) -> bool {
    let mut replicas = 0;
    for m in cluster.members.iter().filter(|m| m.name != cluster.primary) {
        replicas += 1;
        if let Ok(Ok(state)) =
            tokio::time::timeout(PROBE_TIMEOUT, observe(cluster.server(&m.name))).await
        {
            if state.replication.is_some_and(|r| r.io_running == "Yes") {
                return false;
            }
        }
    }
    replicas > 0
}

/// Every replica and its state; an unreachable one may hold acknowledged writes, so without
/// --force that is a refusal.
async fn reachable_replicas(cluster: &Cluster, force: bool) -> Result<Vec<(String, ServerState)>> {
    let mut reachable = Vec::new();
    let mut unreachable = Vec::new();
    for m in cluster.members.iter().filter(|m| m.name != cluster.primary) {
        let running = matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { .. });
        let state = if running {
            tokio::time::timeout(PROBE_TIMEOUT, observe(cluster.server(&m.name)))
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        match state {
            Some(s) if s.replication.is_some() => reachable.push((m.name.clone(), s)),
            _ => unreachable.push(m.name.clone()),
        }
    }
    if reachable.is_empty() {
        bail!("no replica of cluster {} can be promoted (none answers and replicates): nothing changed", cluster.name);
    }
    if !unreachable.is_empty() && !force {
        bail!(
            "replica(s) {} cannot be reached and may hold acknowledged writes the others lack: nothing changed. Bring them back, or accept the risk with --force",
            unreachable.join(", ")
        );
    }
    Ok(reachable)
}

/// What a replica has received from the primary (Gtid_IO_Pos), or what it applied if more.
fn received(state: &ServerState) -> GtidList {
    let io: GtidList = state
        .replication
        .as_ref()
        .and_then(|r| r.gtid_io_pos.parse().ok())
        .unwrap_or_default();
    let applied: GtidList = state.current_pos().unwrap_or_default();
    if io.includes(&applied) {
        io
    } else {
        applied
    }
}

async fn received_position(cluster: &Cluster, pod: &str) -> Result<GtidList> {
    Ok(received(&observe(cluster.server(pod)).await?))
}

fn choose_candidate(
    cluster: &str,
    replicas: &[(String, ServerState)],
    wanted: Option<&str>,
) -> Result<String> {
    let positions: Vec<(&str, GtidList)> = replicas
        .iter()
        .map(|(p, s)| (p.as_str(), received(s)))
        .collect();
    let has_all = |pos: &GtidList| positions.iter().all(|(_, other)| pos.includes(other));
    match wanted {
        Some(pod) => {
            let (_, pos) = positions.iter().find(|(p, _)| *p == pod).with_context(|| {
                format!("{pod} is not a reachable replica of cluster {cluster}: nothing changed")
            })?;
            if !has_all(pos) {
                bail!("{pod} has received less than another replica; promoting it would lose writes: nothing changed");
            }
            Ok(pod.to_string())
        }
        None => positions
            .iter()
            .find(|(_, pos)| has_all(pos))
            .map(|(p, _)| p.to_string())
            .context("no replica has received everything the others have (their histories differ): nothing changed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Replication;

    fn replica(name: &str, applied: &str, received: &str) -> (String, ServerState) {
        let replication = Replication {
            gtid_io_pos: received.into(),
            master_host: "x".into(),
            ..Default::default()
        };
        (
            name.into(),
            ServerState {
                read_only: true,
                gtid_current_pos: applied.into(),
                replication: Some(replication),
                ..Default::default()
            },
        )
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
