//! Moving the primary: fencing, promoting, repointing replicas, and the record of the primary
//! (ConfigMap key and the write Service's selector).
use crate::cluster::sql;
use crate::cluster::{Cluster, Record};
use crate::db::engine::Gtids;
use crate::db::engine::KEEP_SESSIONS_OF;
use crate::k8s::apply::apply;
use crate::manifests::{self, Passwords};
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::time::{Duration, Instant};

/// Points the write Service at `pod` (or at nothing, with None) without touching the ConfigMap.
pub async fn point_write_service(cluster: &Cluster, pod: Option<&str>) -> Result<()> {
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let patch = serde_json::json!({ "spec": { "selector": {
        crate::manifests::POD_NAME_LABEL: pod.unwrap_or("none"),
    }}});
    services
        .patch(
            &format!("{}-primary", cluster.name),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .context("cannot update the write Service")?;
    Ok(())
}

/// The record of the primary as the API server holds it now (a command's Cluster may have
/// been loaded before a move).
pub async fn live_record(cluster: &Cluster) -> Result<Record> {
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let config = configs
        .get(&cluster.name)
        .await
        .with_context(|| format!("cannot read ConfigMap {}", cluster.name))?;
    Record::of(&config)
        .with_context(|| format!("ConfigMap {} holds no record of the primary", cluster.name))
}

/// Renders and applies the ConfigMap for `replicas` members, the record of the primary kept as
/// it is now.
pub async fn apply_config(cluster: &Cluster, replicas: i32) -> Result<()> {
    apply_config_with(cluster, replicas, &live_record(cluster).await?).await
}

/// Renders and applies the ConfigMap for `replicas` members holding `record`.
async fn apply_config_with(cluster: &Cluster, replicas: i32, record: &Record) -> Result<()> {
    let mut spec = cluster.config_spec(replicas, &record.primary);
    spec.generation = record.generation;
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    apply(&configs, &manifests::config_map(&spec)).await?;
    Ok(())
}

/// Makes `pod` the primary of record, one generation on: ConfigMap first (a new pod reads it),
/// then the write Service, and, at the same time, the running members' own copy of the record
/// (a restarting server reads the newer of its copy and the mounted ConfigMap, which the kubelet
/// refreshes only within about a minute).
pub async fn record_primary(cluster: &Cluster, pod: &str) -> Result<Record> {
    let record = Record {
        primary: pod.to_string(),
        generation: live_record(cluster).await?.generation + 1,
    };
    apply_config_with(cluster, cluster.replicas(), &record).await?;
    let (pointed, ()) = tokio::join!(
        point_write_service(cluster, Some(pod)),
        tell_members(cluster, &record)
    );
    pointed?;
    Ok(record)
}

/// How long writing the new primary's copy of the record may take, all tries together: it
/// has just been promoted, so it answers; an exec on a loaded node can take seconds.
const TELL_PRIMARY_TIMEOUT: Duration = Duration::from_secs(10);
/// One try of it.
const TELL_TRY: Duration = Duration::from_secs(4);
/// The one try for every other member (a member on a lost node, or an old primary whose server
/// was just stopped, never answers: it restarts in a new pod, or comes back held).
const TELL_OTHER_TIMEOUT: Duration = Duration::from_secs(2);

/// The shell command that writes a member's copy of the record (`$1`) in its run directory.
const WRITE_RECORD: &str = "printf '%s' \"$1\" >/etc/mysqlha/run/primary.new && mv /etc/mysqlha/run/primary.new /etc/mysqlha/run/primary";

/// Writes `record` into every running member's run directory, all at once: the new primary
/// tried again within TELL_PRIMARY_TIMEOUT (a restart must find it primary), every other
/// member once. A member not told keeps an older copy, which its mounted ConfigMap outdates
/// (higher generation) once the kubelet refreshes it; a member that was neither the old nor
/// the new primary takes the same role with either record, and an old primary is held (fence,
/// stop_and_hold) until it follows the new one, which writes its copy again (release_hold).
async fn tell_members(cluster: &Cluster, record: &Record) {
    let copy = record.as_member_copy();
    // pod_phase counts a pod being deleted as not running.
    let told = cluster.members.iter().filter(|m| {
        matches!(
            crate::cluster::pod_phase(m.pod.as_ref()),
            crate::cluster::PodPhase::Running { .. }
        )
    });
    let writes = told.map(|m| {
        let copy = copy.as_str();
        let write = move || async move {
            let command = ["sh", "-c", WRITE_RECORD, "sh", copy];
            crate::k8s::exec::run(cluster.server(&m.name), &command, None).await
        };
        async move {
            if m.name != record.primary {
                let _ = tokio::time::timeout(TELL_OTHER_TIMEOUT, write()).await;
                return;
            }
            let _ = tokio::time::timeout(TELL_PRIMARY_TIMEOUT, async {
                while !matches!(tokio::time::timeout(TELL_TRY, write()).await, Ok(Ok(_))) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
            .await;
        }
    });
    futures::future::join_all(writes).await;
}

/// Stops writes on `pod`: read-only for every account, then client sessions are cut so that
/// clients reconnect through the write Service. Returns the GTID position `pod` has written to
/// its binary log, which no client can add to any more.
///
/// The hold mark goes first, in the same exec: a server that restarts after the fence, while
/// the record still names it (until the move is recorded, and until its kubelet refreshes the
/// mounted record), comes back read-only and not replicating, never writable beside the new
/// primary. `follow` (or the switchover given up) removes the mark.
pub async fn fence(cluster: &Cluster, pod: &str) -> Result<String> {
    let [read_only, position] = cluster.engine.fence_statements();
    let sets = sql::query_sets_after(
        cluster.server(pod),
        &format!("touch {HOLD_MARK}"),
        &[
            read_only,
            position,
            &format!("SELECT id FROM information_schema.processlist WHERE user NOT IN ({KEEP_SESSIONS_OF}) AND id <> CONNECTION_ID();"),
        ],
        sql::WORK_CONNECT_TIMEOUT,
    )
    .await
    .with_context(|| format!("cannot make {pod} read-only"))?;
    let position = sets
        .get(1)
        .and_then(|rows| rows.first())
        .and_then(|r| r.get("pos"))
        .cloned()
        .unwrap_or_default();
    let kills: String = sets
        .get(2)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id"))
        .map(|id| format!("KILL CONNECTION {id};\n"))
        .collect();
    if !kills.is_empty() {
        // A session may end on its own between the query and the kill: not an error.
        let _ = sql::execute(cluster.server(pod), &kills).await;
    }
    Ok(position)
}

/// The mark stop-and-hold.sh leaves (write-config.sh reads it): the server restarts read-only
/// and not replicating. It lives in the pod's run directory, so a new pod starts without it.
const HOLD_MARK: &str = "/etc/mysqlha/run/held-old-primary";

/// Stops the server of an old primary that does not answer SQL, from inside its container
/// (while its node's kubelet still answers): it restarts read-only and not replicating, so it
/// can take no write once another member is promoted. Fails within `limit` when the container
/// cannot be reached (its node is lost or cut off).
pub async fn stop_and_hold(cluster: &Cluster, pod: &str, limit: Duration) -> Result<()> {
    let script = include_str!("../manifests/scripts/stop-and-hold.sh");
    let command = ["sh", "-c", script, cluster.engine.server_process()];
    let ran = tokio::time::timeout(
        limit,
        crate::k8s::exec::run(cluster.server(pod), &command, None),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer from {pod}'s container within {limit:?}"))?;
    match ran {
        Ok(_) => Ok(()),
        // The server's end ends its container, and the runtime kills what else runs there:
        // this script, once it has marked the pod and killed the server.
        Err(e)
            if e.downcast_ref::<crate::k8s::exec::Failed>()
                .and_then(|f| f.code)
                == Some(137) =>
        {
            Ok(())
        }
        Err(e) => {
            let why = e
                .downcast_ref::<crate::k8s::exec::Failed>()
                .map_or_else(|| format!("{e:#}"), |f| f.detail().to_string());
            Err(anyhow::anyhow!("cannot stop the server of {pod}: {why}"))
        }
    }
}

/// Waits until `pod` has applied `position`, in steps of at most WAIT_STEP, for as long as its
/// applied position keeps moving: it fails once that stood still for `stall` (or at `limit`),
/// saying how far behind it is. A step that fails (a restarting server, a cut session) is
/// tried again; only the lack of progress ends the wait.
pub async fn wait_applied(
    cluster: &Cluster,
    pod: &str,
    position: &str,
    stall: Duration,
    limit: Duration,
) -> Result<()> {
    if position.is_empty() {
        return Ok(());
    }
    let target = cluster.engine.parse_gtids(position)?;
    let started = Instant::now();
    let mut progress = Progress::new(started, stall, limit);
    let mut last_error = None;
    let mut last_state = None;
    loop {
        let step = progress.next_step(Instant::now());
        let waited = sql::query(
            cluster.server(pod),
            &cluster
                .engine
                .wait_step_statement(position, step.as_secs().max(1)),
        )
        .await;
        match waited {
            Ok(rows)
                if rows
                    .first()
                    .and_then(|r| r.get("waited"))
                    .map(String::as_str)
                    == Some("0") =>
            {
                return Ok(())
            }
            Ok(_) => {}
            Err(e) => {
                last_error = Some(crate::base::one_line(&e));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        let state = crate::cluster::observe(cluster.server(pod)).await.ok();
        let applied = state.as_ref().map(|s| s.applied.clone());
        if let Some(applied) = &applied {
            if applied.includes(&target) {
                return Ok(());
            }
        }
        if state.is_some() {
            last_state = state;
        }
        if let Some(ended) = progress.seen(applied.as_ref(), Instant::now()) {
            let (_, behind) = applied.as_ref().map_or((vec![], 0), |a| target.beyond(a));
            let why = match ended {
                WaitEnd::Stalled => format!("no progress for {}s", stall.as_secs()),
                WaitEnd::Limit => format!("the limit of {}s", limit.as_secs()),
            };
            let error = last_error
                .map(|e| format!("; last error asking it: {e}"))
                .unwrap_or_default();
            let replication = last_state
                .as_ref()
                .map(|s| format!("; {}", describe_replication(s, &target)))
                .unwrap_or_default();
            bail!(
                "{pod} had not applied the primary's transactions after {:.0}s ({why}; behind by {behind} transaction(s)){replication}{error}; run the command again to retry",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// A stalled replica's replication in a few words, for the error that ends a wait for `target`:
/// whether it receives from its source (and from which), whether it applies, what it received
/// that it has not applied, and its last replication error.
pub fn describe_replication(state: &crate::db::engine::ServerState, target: &Gtids) -> String {
    let Some(r) = &state.replication else {
        return "it does not replicate (no source configured)".into();
    };
    let (_, unreceived) = target.beyond(&r.received);
    let (_, unapplied) = r.received.beyond(&state.applied);
    let mut words = format!(
        "its receiver from {}: {}, its applier: {}; received but not applied: {unapplied}, not received: {unreceived}",
        r.source_host, r.receiver, r.applier
    );
    if let Some(error) = r.error() {
        words.push_str(&format!("; its last replication error: {error}"));
    }
    words
}

/// How long one step of `wait_applied` waits in the server.
const WAIT_STEP: Duration = Duration::from_secs(5);

/// Why a wait for an applied position ended without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The applied position stood still for the stall time.
    Stalled,
    /// The overall limit was reached.
    Limit,
}

/// The progress of a replica's applied position during a wait (pure: times are passed in).
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    stall: Duration,
    limit: Duration,
    last: Option<Gtids>,
    moved_at: Instant,
}

impl Progress {
    pub fn new(started: Instant, stall: Duration, limit: Duration) -> Self {
        Progress {
            started,
            stall,
            limit,
            last: None,
            moved_at: started,
        }
    }

    /// How long the next step may wait: WAIT_STEP, less near the limit (at least a second).
    pub fn next_step(&self, now: Instant) -> Duration {
        let left = (self.started + self.limit).saturating_duration_since(now);
        WAIT_STEP.min(left).max(Duration::from_secs(1))
    }

    /// Takes in the applied position read at `now` (None: it could not be read) and says
    /// whether the wait ends: a new position is progress; none, or the same, is not.
    pub fn seen(&mut self, applied: Option<&Gtids>, now: Instant) -> Option<WaitEnd> {
        if let Some(applied) = applied {
            if self.last.as_ref() != Some(applied) {
                self.last = Some(applied.clone());
                self.moved_at = now;
            }
        }
        if now.duration_since(self.started) >= self.limit {
            Some(WaitEnd::Limit)
        } else if now.duration_since(self.moved_at) >= self.stall {
            Some(WaitEnd::Stalled)
        } else {
            None
        }
    }
}

/// Whether a primary of a cluster of `members` members waits for a replica's acknowledgement
/// (`semi_sync`: the cluster asks for it): a lone primary has no one to wait for.
pub fn semi_sync_waits(semi_sync: bool, members: i32) -> bool {
    semi_sync && members > 1
}

/// Turns replica `pod` into the writable primary once it has applied `position` (waiting at most
/// `limit`), in one exec: a failed wait stops the statements before any of them changes `pod`.
pub async fn promote(cluster: &Cluster, pod: &str, position: &str, limit: Duration) -> Result<()> {
    let semi_sync = semi_sync_waits(cluster.semi_sync, cluster.replicas());
    let sql = format!(
        "{}{}",
        cluster.engine.fail_unless_applied(pod, position, limit),
        cluster.engine.promote_statements(semi_sync)
    );
    match sql::execute(cluster.server(pod), &sql).await {
        // The wait's own failure (MySQL can only signal it by a JSON error): in plain words.
        Err(e) if cluster.engine.is_wait_failure(&format!("{e:#}")) => bail!(
            "cannot promote {pod}: it had not applied every write up to {position} after {}s; it stays a replica",
            limit.as_secs()
        ),
        other => other.with_context(|| format!("cannot promote {pod}")),
    }
}

/// Makes `pod` replicate from `primary` by GTID. A former primary first adopts its own binary
/// log position as its replication position, and then loses the hold a failover put on it
/// (stop_and_hold; the failover also deletes the old primary's pod, which ends the hold, but a
/// pod that survived that kept it): it is a replica like the others again, and a later restart
/// brings it back in its role of record.
pub async fn follow(
    cluster: &Cluster,
    pod: &str,
    primary: &str,
    passwords: &Passwords,
    former_primary: bool,
) -> Result<()> {
    let sql = cluster.engine.follow_statements(
        &cluster.host_of(primary),
        &passwords.replication,
        former_primary,
        cluster.tls_files().as_ref(),
    );
    sql::execute(cluster.server(pod), &sql)
        .await
        .with_context(|| format!("cannot make {pod} follow {primary}"))?;
    if former_primary {
        release_hold(cluster, pod).await?;
    }
    Ok(())
}

/// Removes the hold (of stop-and-hold.sh or of a fence) from `pod`, after writing the record as
/// it is now into its run directory, in one exec: once free, a restart takes the role of record.
pub async fn release_hold(cluster: &Cluster, pod: &str) -> Result<()> {
    let copy = live_record(cluster).await?.as_member_copy();
    let script = format!("{WRITE_RECORD} && rm -f {HOLD_MARK}");
    crate::k8s::exec::run(
        cluster.server(pod),
        &["sh", "-c", &script, "sh", &copy],
        None,
    )
    .await
    .with_context(|| format!("cannot release the hold on {pod}"))?;
    Ok(())
}

/// Renders the ConfigMap for `replicas` members and sets the primary's semi-sync wait to match:
/// a lone primary must not wait for acknowledgements that no one can send.
pub async fn set_member_count(cluster: &Cluster, replicas: i32) -> Result<()> {
    apply_config(cluster, replicas).await?;
    let wait = semi_sync_waits(cluster.semi_sync, replicas);
    sql::execute(
        cluster.server(&cluster.primary),
        &cluster.engine.set_semi_sync_wait(wait),
    )
    .await
    .context("cannot set the primary's semi-synchronous replication")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_for_an_applied_position_ends_only_when_progress_stops() {
        let gtids = |t: &str| crate::db::engine::Engine::Mariadb.parse_gtids(t).unwrap();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut p = Progress::new(t0, Duration::from_secs(60), Duration::from_secs(600));
        // Under load the position moves slowly: never stalled while it moves, however long.
        for (s, pos) in [
            (5, "0-1-10"),
            (50, "0-1-11"),
            (100, "0-1-12"),
            (159, "0-1-12"),
        ] {
            assert_eq!(p.seen(Some(&gtids(pos)), at(s)), None, "at {s}s");
        }
        // Unreadable (a restarting server) is no progress.
        assert_eq!(p.seen(None, at(159)), None);
        assert_eq!(p.seen(None, at(160)), Some(WaitEnd::Stalled));
        // Moving again is progress again; the limit ends it however it moves.
        assert_eq!(p.seen(Some(&gtids("0-1-13")), at(161)), None);
        assert_eq!(
            p.seen(Some(&gtids("0-1-14")), at(600)),
            Some(WaitEnd::Limit)
        );
        // Steps never pass the limit, and are at least a second.
        assert_eq!(p.next_step(at(0)), WAIT_STEP);
        assert_eq!(p.next_step(at(598)), Duration::from_secs(2));
        assert_eq!(p.next_step(at(700)), Duration::from_secs(1));
    }

    #[test]
    fn a_stalled_replica_is_described_by_what_it_received_and_applied() {
        use crate::db::engine::{Applier, Engine, Receiver, Replication, ServerState};
        let gtids = |t: &str| Engine::Mariadb.parse_gtids(t).unwrap();
        let state = |replication| ServerState {
            read_only: true,
            applied: gtids("0-1-10"),
            history: gtids("0-1-10"),
            version: "10.11".into(),
            replication,
        };
        let target = gtids("0-1-15");
        assert_eq!(
            describe_replication(&state(None), &target),
            "it does not replicate (no source configured)"
        );
        let applier_stopped = Replication {
            source_host: "db-0.db".into(),
            receiver: Receiver::Connected,
            applier: Applier::Stopped,
            received: gtids("0-1-14"),
            last_sql_error: Some("Duplicate entry '7'".into()),
            ..Replication::default()
        };
        assert_eq!(
            describe_replication(&state(Some(applier_stopped)), &target),
            "its receiver from db-0.db: Yes, its applier: No; received but not applied: 4, not received: 1; its last replication error: Duplicate entry '7'"
        );
        let not_connected = Replication {
            source_host: "db-0.db".into(),
            receiver: Receiver::Connecting,
            applier: Applier::Running,
            received: gtids("0-1-10"),
            last_io_error: Some("error connecting to master".into()),
            ..Replication::default()
        };
        assert_eq!(
            describe_replication(&state(Some(not_connected)), &target),
            "its receiver from db-0.db: Connecting, its applier: Yes; received but not applied: 0, not received: 5; its last replication error: error connecting to master"
        );
    }

    #[test]
    fn a_lone_primary_never_waits_for_acknowledgements() {
        assert!(!semi_sync_waits(true, 1));
        assert!(!semi_sync_waits(false, 1));
    }

    #[test]
    fn a_primary_with_replicas_waits_only_when_the_cluster_asks_for_semi_sync() {
        assert!(semi_sync_waits(true, 2));
        assert!(semi_sync_waits(true, 3));
        assert!(!semi_sync_waits(false, 3));
    }

    #[test]
    fn a_failed_wait_is_told_from_other_errors() {
        use crate::db::engine::Engine;
        let mysql = "ERROR 3141 (22032) at line 1: Invalid JSON text in argument 1 to function json_extract: \"Invalid value.\" at position 0.";
        assert!(Engine::Mysql.is_wait_failure(mysql));
        assert!(!Engine::Mysql.is_wait_failure("ERROR 2013 (HY000): Lost connection"));
        assert!(Engine::Mariadb
            .is_wait_failure("ERROR 1644 (45000) at line 1: db-1 did not apply 0-1-5 within 30s"));
    }
}
