//! The verdict on a cluster: every member observed (in parallel), its role, threads, lag,
//! errant transactions and errors, the durability picture, and one verdict with reasons and the
//! commands that fix them. Read by `status`, and by commands that must know the cluster is
//! healthy before changing it.
use crate::cluster::sql::Row;
use crate::cluster::{pod_phase, Cluster, PodPhase, ServerState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The role of record of a member.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    #[default]
    Replica,
}

/// Where a member's pod is.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MemberState {
    Running,
    WaitingForData,
    Pending,
    #[default]
    Missing,
}

/// The one word on the whole cluster.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Degraded,
    Broken,
}

/// The JSON spelling, for tables and messages.
fn word(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&word(self))
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&word(self))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&word(self))
    }
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub name: String,
    pub namespace: String,
    pub primary: String,
    pub healthy: bool,
    /// healthy, degraded or broken
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Risks that do not change the verdict (e.g. members sharing a node), each with its remedy.
    pub notes: Vec<String>,
    pub endpoints: Endpoints,
    pub durability: Durability,
    /// mariadb or mysql.
    pub engine: String,
    /// off, verified (members verify each other; clients may use TLS) or required (clients
    /// must), as recorded.
    pub tls: String,
    pub members: Vec<MemberReport>,
    /// The operation holding the cluster's lock right now, if any.
    pub operation: Option<crate::k8s::lock::Holder>,
    /// The cluster's last events (its history in Kubernetes Events), oldest first.
    pub events: Vec<crate::k8s::events::Entry>,
    /// The automatic-failover agent, as its Lease tells it (None: no agent ran).
    pub agent: Option<crate::k8s::agent_lease::AgentState>,
    /// Where its backups go and the last one taken (None: backups not enabled).
    pub backups: Option<crate::manifests::backup::BackupConfig>,
    /// The binary-log archive (None: backups not enabled).
    pub archive: Option<crate::store::archive::ArchiveState>,
}

/// Whether a commit on the primary waits until a replica has it.
#[derive(Serialize, Debug, Default)]
pub struct Durability {
    /// "semi-sync" or "async", as configured.
    pub mode: String,
    /// The primary waits for acknowledgements right now.
    pub semi_sync_active: bool,
    /// Replicas connected that acknowledge (Rpl_semi_sync_master_clients /
    /// Rpl_semi_sync_source_clients).
    pub acknowledging_replicas: u64,
    /// Sessions of the primary waiting for an acknowledgement at this moment.
    pub waiting_sessions: u64,
    /// How long the longest of them has waited so far (0 when none waits).
    pub longest_wait_seconds: u64,
    /// Semi-sync is the cluster's mode and the primary has replicas, yet it does not wait for
    /// them: commits are asynchronous.
    pub fell_back_to_async: bool,
}

#[derive(Serialize, Debug)]
pub struct Endpoints {
    pub write: String,
    pub read: String,
}

#[derive(Serialize, Debug, Default)]
pub struct MemberReport {
    pub name: String,
    /// The role of record.
    pub role: Role,
    /// The node its pod runs on (spec.nodeName); None before it is scheduled.
    pub node: Option<String>,
    pub ready: bool,
    /// Where its pod is.
    pub state: MemberState,
    pub replicating: bool,
    pub lag_seconds: Option<u64>,
    pub gtid: String,
    /// read_only as the server says it; None when it could not be asked.
    pub read_only: Option<bool>,
    pub io_thread: Option<crate::db::engine::Receiver>,
    pub sql_thread: Option<crate::db::engine::Applier>,
    pub source: Option<String>,
    pub errant: Vec<String>,
    /// The server's version, as it reports it.
    pub version: String,
    pub error: Option<String>,
    /// Its binary logs on disk (SHOW BINARY LOGS); None when it could not be asked.
    pub binary_logs: Option<BinaryLogs>,
    /// When the certificate its server presents expires (RFC 3339, UTC); None without TLS or
    /// when it could not be asked.
    pub tls_not_after: Option<String>,
}

/// A member's binary logs: how many files, how many bytes.
#[derive(Serialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BinaryLogs {
    pub files: u64,
    pub bytes: u64,
}

impl BinaryLogs {
    fn from_rows(rows: &[Row]) -> Self {
        BinaryLogs {
            files: rows.len() as u64,
            bytes: rows
                .iter()
                .filter_map(|r| r.get("File_size").and_then(|v| v.parse::<u64>().ok()))
                .sum(),
        }
    }
}

/// What `status` reads from a member besides its state, in the same exec
/// (`Engine::status_statements`).
#[derive(Debug, Default)]
struct Extras {
    semi_sync: Vec<Row>,
    waits: Vec<Row>,
    binary_logs: Vec<Row>,
    tls: Vec<Row>,
}

impl Extras {
    fn from_sets(mut sets: Vec<Vec<Row>>) -> Self {
        sets.resize(4, Vec::new());
        let tls = sets.pop().unwrap_or_default();
        let binary_logs = sets.pop().unwrap_or_default();
        let waits = sets.pop().unwrap_or_default();
        let semi_sync = sets.pop().unwrap_or_default();
        Extras {
            semi_sync,
            waits,
            binary_logs,
            tls,
        }
    }
}

/// A certificate date as the servers print it (Ssl_server_not_after: "Dec  6 07:38:09 2028 GMT").
fn server_time(text: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:none] [hour]:[minute]:[second] [year] GMT"
    );
    let squeezed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    time::PrimitiveDateTime::parse(&squeezed, format)
        .ok()
        .map(|t| t.assume_utc())
}

/// A certificate this close to its end is a note in `status`.
const CERTIFICATE_WARNING: time::Duration = time::Duration::days(30);

/// The members whose certificate has expired (reasons: the verdict is degraded, replicas that
/// verify it stop connecting) and those whose certificate ends within 30 days (notes), each
/// with what renews it.
fn certificate_expiry(
    members: &[MemberReport],
    now: time::OffsetDateTime,
) -> (Vec<String>, Vec<String>) {
    let (mut expired, mut expiring) = (vec![], vec![]);
    for m in members {
        let Some(not_after) = m.tls_not_after.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        }) else {
            continue;
        };
        let date = not_after.date();
        if not_after <= now {
            expired.push(format!(
                "{}: its TLS certificate expired on {date}: replicas verifying it cannot connect; renew the members' certificates (docs/tls.md#renewing-certificates)",
                m.name
            ));
        } else if not_after - now <= CERTIFICATE_WARNING {
            expiring.push(format!(
                "{}: its TLS certificate expires on {date} ({} days): renew the members' certificates before (docs/tls.md#renewing-certificates)",
                m.name,
                (not_after - now).whole_days()
            ));
        }
    }
    (expired, expiring)
}

/// Where the cluster's backups go (ConfigMap NAME-backup), when enabled and readable.
async fn backup_config(cluster: &Cluster) -> Option<crate::manifests::backup::BackupConfig> {
    crate::k8s::apply::backup_config(&cluster.client, &cluster.namespace, &cluster.name)
        .await
        .ok()
        .flatten()
}

/// How long `status` waits for the archive's head.
const ARCHIVE_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The archive's state, when backups are enabled: its head in the store (read within
/// ARCHIVE_READ_LIMIT), or why it cannot be read.
async fn archive_state(
    cluster: &Cluster,
    config: Option<&crate::manifests::backup::BackupConfig>,
) -> Option<crate::store::archive::ArchiveState> {
    use crate::store::archive::{read_head, ArchiveState};
    let config = config?;
    let read = async {
        let store =
            crate::k8s::backup_store::open(&cluster.client, &cluster.namespace, config).await?;
        read_head(&store, &cluster.name).await
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    Some(match tokio::time::timeout(ARCHIVE_READ_LIMIT, read).await {
        Ok(Ok(head)) => ArchiveState::from_head(head.as_ref(), now),
        Ok(Err(e)) => ArchiveState {
            error: Some(format!(
                "cannot read its head: {}",
                crate::base::one_line(&e)
            )),
            ..ArchiveState::from_head(None, now)
        },
        Err(_) => ArchiveState {
            error: Some(format!(
                "cannot read its head: the object store did not answer within {}s",
                ARCHIVE_READ_LIMIT.as_secs()
            )),
            ..ArchiveState::from_head(None, now)
        },
    })
}

/// Observes every member (all at once: one exec for all of them, or one per member, in
/// parallel; see `survey`) and judges the whole.
pub async fn report(cluster: &Cluster) -> Report {
    let extra = cluster.engine.status_statements();
    let (observed, operation, agent, events, agent_deployment, backups) = tokio::join!(
        crate::cluster::survey::observe_running(cluster, &extra),
        crate::k8s::lock::current(&cluster.client, &cluster.namespace, &cluster.name),
        crate::k8s::agent_lease::state(&cluster.client, &cluster.namespace, &cluster.name),
        crate::k8s::events::recent(
            &cluster.client,
            &cluster.namespace,
            &cluster.name,
            crate::k8s::events::RECENT,
        ),
        agent_deployment(cluster),
        backup_config(cluster),
    );
    let mut members = Vec::new();
    let mut states: Vec<Option<ServerState>> = Vec::new();
    let mut primary_extras = None;
    for (m, observed) in cluster.members.iter().zip(observed) {
        let phase = pod_phase(m.pod.as_ref());
        let mut r = MemberReport {
            name: m.name.clone(),
            role: if m.name == cluster.primary {
                Role::Primary
            } else {
                Role::Replica
            },
            node: m
                .pod
                .as_ref()
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.node_name.clone()),
            ..Default::default()
        };
        let state = match &phase {
            PodPhase::Running { ready } => {
                r.ready = *ready;
                r.state = MemberState::Running;
                match observed.expect("a running member is observed") {
                    Ok((s, sets)) => {
                        let extras = Extras::from_sets(sets);
                        r.binary_logs = Some(BinaryLogs::from_rows(&extras.binary_logs));
                        r.tls_not_after = extras
                            .tls
                            .first()
                            .and_then(|row| row.get("Value"))
                            .and_then(|v| server_time(v))
                            .and_then(|t| {
                                t.format(&time::format_description::well_known::Rfc3339)
                                    .ok()
                            });
                        if r.role == Role::Primary {
                            primary_extras = Some(extras);
                        }
                        Some(s)
                    }
                    Err(e) => {
                        r.error = Some(format!(
                            "cannot query the server: {}",
                            first_line(&e.to_string())
                        ));
                        None
                    }
                }
            }
            PodPhase::WaitingForData => {
                r.state = MemberState::WaitingForData;
                r.error = Some(format!(
                    "waiting for data: run kubectl mysqlha rebuild-replica {} {}",
                    cluster.name, m.name
                ));
                None
            }
            PodPhase::Missing => {
                r.state = MemberState::Missing;
                None
            }
            PodPhase::Pending(reason) => {
                r.state = MemberState::Pending;
                r.error = reason.clone();
                None
            }
        };
        if let Some(s) = &state {
            r.gtid = s.applied.to_string();
            r.version = s.version.clone();
            r.read_only = Some(s.read_only);
            if let Some(repl) = &s.replication {
                r.replicating = repl.is_running();
                r.lag_seconds = repl.seconds_behind;
                r.io_thread = Some(repl.receiver.clone());
                r.sql_thread = Some(repl.applier.clone());
                r.source = Some(crate::manifests::member_of_host(&repl.source_host));
                r.error = r.error.take().or_else(|| repl.error());
            }
        }
        members.push(r);
        states.push(state);
    }
    reread_primary_history_if_a_replica_looks_errant(cluster, &mut states).await;
    let mut reasons = judge(cluster, &mut members, &states);
    let durability = durability(cluster, &members, primary_extras.as_ref(), &mut reasons);
    if let Some(problem) = agent_problem(&cluster.name, agent_deployment.as_ref(), agent.as_ref()) {
        reasons.push((false, problem));
    }
    let archive = archive_state(cluster, backups.as_ref()).await;
    let mut notes = shared_nodes(&members);
    let (expired, expiring) = certificate_expiry(&members, time::OffsetDateTime::now_utc());
    reasons.extend(expired.into_iter().map(|r| (false, r)));
    notes.extend(expiring);
    notes.extend(archive.as_ref().and_then(|a| a.warning(&cluster.name)));
    let broken = reasons.iter().any(|(b, _)| *b);
    let verdict = if reasons.is_empty() {
        Verdict::Healthy
    } else if broken {
        Verdict::Broken
    } else {
        Verdict::Degraded
    };
    Report {
        name: cluster.name.clone(),
        namespace: cluster.namespace.clone(),
        primary: cluster.primary.clone(),
        healthy: reasons.is_empty(),
        verdict,
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
        notes,
        endpoints: Endpoints {
            write: cluster.write_endpoint(),
            read: cluster.read_endpoint(),
        },
        durability,
        engine: cluster.engine.name().into(),
        tls: cluster.tls.record().unwrap_or("off").into(),
        members,
        operation: operation.ok().flatten(),
        agent,
        events: events.unwrap_or_default(),
        backups,
        archive,
    }
}

/// The agent's Deployment as `status` sees it: None when the cluster has none (no agent asked
/// for); else why its pods cannot run, if one says so.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentDeployment {
    pub stuck: Option<String>,
    /// Seconds since the Deployment was made (its pods may still be starting).
    pub age_seconds: i64,
}

/// How long a new agent may take to lead before its absence is a problem.
const AGENT_START_SECONDS: i64 = 90;

async fn agent_deployment(cluster: &Cluster) -> Option<AgentDeployment> {
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let deployment = deployments
        .get_opt(&crate::manifests::agent::agent_name(&cluster.name))
        .await
        .ok()??;
    let age_seconds = deployment.metadata.creation_timestamp.map_or(0, |t| {
        (k8s_openapi::jiff::Timestamp::now() - t.0).get_seconds()
    });
    let pods = crate::cluster::diagnostics::agent_pods(&cluster.pods, &cluster.name)
        .await
        .unwrap_or_default();
    Some(AgentDeployment {
        stuck: pods.iter().find_map(crate::cluster::stuck_reason),
        age_seconds,
    })
}

/// A deployed agent that does not lead (its pods cannot run or never took the Lease, or the
/// leader stopped renewing it): automatic failover is off, which `status` must say, with why
/// and the fix.
pub fn agent_problem(
    name: &str,
    deployment: Option<&AgentDeployment>,
    state: Option<&crate::k8s::agent_lease::AgentState>,
) -> Option<String> {
    let deployment = deployment?;
    if state.is_some_and(|s| s.leads()) {
        return None;
    }
    let starting = deployment.age_seconds < AGENT_START_SECONDS;
    if starting && deployment.stuck.is_none() && state.is_none() {
        return None;
    }
    let why = match (&deployment.stuck, state) {
        (Some(stuck), _) => format!("its pods cannot run ({stuck})"),
        (None, None) => "no agent pod has taken the lead yet".to_string(),
        (None, Some(s)) => format!(
            "its last leader {} stopped renewing {}s ago",
            s.leader, s.heartbeat_seconds_ago
        ),
    };
    Some(format!(
        "no automatic failover: the agent of cluster {name} has no leader: {why}: check kubectl get pods -l app.kubernetes.io/name=mysqlha-agent; redeploy it with a usable image: kubectl mysqlha agent enable {name} --agent-image IMAGE (or remove it: kubectl mysqlha agent disable {name})"
    ))
}

/// The commands that fix what `judge` and `durability` find, spelled out for one cluster.
struct Fix<'a> {
    name: &'a str,
    namespace: &'a str,
}

impl Fix<'_> {
    fn rebuild(&self, pod: &str) -> String {
        format!("kubectl mysqlha rebuild-replica {} {pod}", self.name)
    }

    fn failover(&self) -> String {
        format!("kubectl mysqlha failover {}", self.name)
    }

    /// A restarted server takes the role of record again (read-only for a replica, writable
    /// for the primary) and starts replicating.
    fn restart(&self, pods: &[&str]) -> String {
        format!(
            "kubectl delete pod {} -n {}",
            pods.join(" "),
            self.namespace
        )
    }

    fn describe(&self, pod: &str) -> String {
        format!("kubectl describe pod {pod} -n {}", self.namespace)
    }

    fn logs(&self, pod: &str) -> String {
        format!(
            "kubectl logs {pod} -c {} -n {}",
            crate::manifests::SERVER_CONTAINER,
            self.namespace
        )
    }
}

/// Problems found, each flagged as breaking (true) or degrading (false) the cluster; each
/// ends with the command that fixes it (or the exact check to make).
fn judge(
    cluster: &Cluster,
    members: &mut [MemberReport],
    states: &[Option<ServerState>],
) -> Vec<(bool, String)> {
    let fix = Fix {
        name: &cluster.name,
        namespace: &cluster.namespace,
    };
    let mut reasons = Vec::new();
    let primary_idx = members.iter().position(|m| m.role == Role::Primary);
    let primary_state = primary_idx.and_then(|i| states[i].as_ref());
    match (primary_idx, primary_state) {
        (None, _) if cluster.primary.is_empty() => reasons.push((
            true,
            format!(
                "no primary of record: kept data is being brought back: run kubectl mysqlha create {} to finish",
                cluster.name
            ),
        )),
        (None, _) => reasons.push((true, primary_not_a_member(cluster, &fix))),
        (Some(i), None) => reasons.push((true, member_down(&members[i], &fix))),
        (Some(i), Some(s)) if s.read_only => reasons.push((
            true,
            format!(
                "no writable member: primary {p} is read-only; unless an operation is in progress (the agent, when deployed, makes it writable after its grace), restart it: it comes back in its role of record, writable: {}",
                fix.restart(&[&members[i].name]),
                p = members[i].name
            ),
        )),
        _ => {}
    }
    let writable: Vec<&str> = members
        .iter()
        .zip(states)
        .filter(|(_, s)| s.as_ref().is_some_and(|s| !s.read_only))
        .map(|(m, _)| m.name.as_str())
        .collect();
    if writable.len() > 1 {
        let others: Vec<&str> = writable
            .iter()
            .copied()
            .filter(|m| *m != cluster.primary)
            .collect();
        reasons.push((
            true,
            format!(
                "more than one writable member: {} (only the primary of record {} may take writes): restart the others read-only: {}",
                writable.join(", "),
                cluster.primary,
                fix.restart(&others)
            ),
        ));
    }
    let primary_history = primary_state.map(|s| &s.history);
    for (m, s) in members.iter_mut().zip(states) {
        if m.role == Role::Primary {
            continue;
        }
        let Some(s) = s else {
            reasons.push((false, member_down(m, &fix)));
            continue;
        };
        if let Some(p) = primary_history {
            m.errant = s.history.errant_against(p).items();
        }
        if let Some(reason) = replica_problem(cluster, m, s, &fix) {
            reasons.push(reason);
        }
    }
    reasons
}

/// Every member is asked at once, so under writes a replica's answer can come after the
/// primary's and hold transactions the primary's answer did not show yet: errant in appearance
/// only. When a replica looks errant, the primary's history is read again (now, after every
/// replica's answer) and is what errant sets are computed against; a real errant transaction
/// stays errant.
async fn reread_primary_history_if_a_replica_looks_errant(
    cluster: &Cluster,
    states: &mut [Option<ServerState>],
) {
    let Some(at) = cluster
        .members
        .iter()
        .position(|m| m.name == cluster.primary)
    else {
        return;
    };
    let Some(primary) = &states[at] else {
        return;
    };
    let suspect = states.iter().enumerate().any(|(i, s)| {
        i != at
            && s.as_ref()
                .is_some_and(|s| !s.history.errant_against(&primary.history).is_empty())
    });
    if !suspect {
        return;
    }
    if let (Ok(now), Some(primary)) = (
        crate::cluster::observe(cluster.server(&cluster.primary)).await,
        states[at].as_mut(),
    ) {
        primary.history = now.history;
    }
}

/// The record names a primary beyond the StatefulSet's members (a plain `kubectl scale`
/// removed it).
fn primary_not_a_member(cluster: &Cluster, fix: &Fix) -> String {
    let ordinal = cluster
        .primary
        .rsplit('-')
        .next()
        .and_then(|o| o.parse::<i32>().ok());
    let remedy = match ordinal {
        Some(o) => format!(
            "run kubectl mysqlha scale {} --replicas {} to bring it back",
            cluster.name,
            o + 1
        ),
        None => format!("run {}", fix.failover()),
    };
    format!(
        "the primary of record {} is not a member: {remedy}",
        cluster.primary
    )
}

/// A member whose server could not be asked anything, and what to do about it.
fn member_down(m: &MemberReport, fix: &Fix) -> String {
    let primary = m.role == Role::Primary;
    let role = if primary { "primary" } else { "replica" };
    let name = &m.name;
    let error = m.error.as_deref().map(first_line).unwrap_or_default();
    let (what, check) = match m.state {
        MemberState::Running => (format!("does not answer ({error})"), fix.logs(name)),
        MemberState::Pending if error.is_empty() => ("is pending".to_string(), fix.describe(name)),
        MemberState::Pending => (format!("is pending ({error})"), fix.describe(name)),
        MemberState::WaitingForData if primary => (
            "waits for data (its data directory is empty)".to_string(),
            String::new(),
        ),
        MemberState::WaitingForData => {
            return format!("replica {name} waits for data: run {}", fix.rebuild(name))
        }
        MemberState::Missing => (
            "is missing (its StatefulSet recreates it)".to_string(),
            format!(
                "kubectl describe statefulset {} -n {}",
                fix.name, fix.namespace
            ),
        ),
    };
    match (primary, check.is_empty()) {
        (true, true) => format!("{role} {name} {what}: run {}", fix.failover()),
        (true, false) => format!(
            "{role} {name} {what}: check {check}; if it stays down, run {}",
            fix.failover()
        ),
        (false, _) => format!("{role} {name} {what}: check {check}"),
    }
}

/// What is wrong with a replica whose server answered, flagged as breaking (true) or
/// degrading (false), with its remedy.
fn replica_problem(
    cluster: &Cluster,
    m: &MemberReport,
    s: &ServerState,
    fix: &Fix,
) -> Option<(bool, String)> {
    let name = &m.name;
    if !m.errant.is_empty() {
        return Some((
            false,
            format!(
                "replica {name} has errant transactions {} (the primary never had them): run {}",
                m.errant.join(","),
                fix.rebuild(name)
            ),
        ));
    }
    if !s.read_only {
        return Some((
            true,
            format!(
                "replica {name} is writable: restart it read-only: {}",
                fix.restart(&[name])
            ),
        ));
    }
    let Some(repl) = &s.replication else {
        return Some((
            false,
            format!(
                "replica {name} does not replicate (no source set): run {}",
                fix.rebuild(name)
            ),
        ));
    };
    if !m.replicating {
        return Some((
            false,
            match repl.error() {
                Some(err) => format!(
                    "replica {name} is not replicating ({}): run {}",
                    first_line(&err),
                    fix.rebuild(name)
                ),
                None => format!(
                    "replica {name} is not replicating (threads stopped: IO {}, SQL {}): restart it, it starts replicating: {} (or run {})",
                    repl.receiver,
                    repl.applier,
                    fix.restart(&[name]),
                    fix.rebuild(name)
                ),
            },
        ));
    }
    if m.source.as_deref() != Some(cluster.primary.as_str()) {
        return Some((
            false,
            format!(
                "replica {name} follows {} instead of the primary {}: run {}",
                m.source.clone().unwrap_or_default(),
                cluster.primary,
                fix.rebuild(name)
            ),
        ));
    }
    if !m.ready {
        return Some((
            false,
            format!("replica {name} is not ready: check {}", fix.describe(name)),
        ));
    }
    None
}

/// The durability picture from the primary's semi-sync status and process list (read in the
/// same exec as its state), and the reasons it degrades the cluster.
fn durability(
    cluster: &Cluster,
    members: &[MemberReport],
    primary: Option<&Extras>,
    reasons: &mut Vec<(bool, String)>,
) -> Durability {
    let fix = Fix {
        name: &cluster.name,
        namespace: &cluster.namespace,
    };
    let expected = cluster.semi_sync && cluster.replicas() > 1;
    let mut d = Durability {
        mode: if cluster.semi_sync {
            "semi-sync"
        } else {
            "async"
        }
        .into(),
        ..Default::default()
    };
    let Some(x) = primary else {
        return d;
    };
    let value = |name: &str| {
        x.semi_sync
            .iter()
            .find(|r| r.get("name").is_some_and(|n| n == name))
            .and_then(|r| r.get("value").cloned())
            .unwrap_or_default()
    };
    let waits = |column: &str| -> u64 {
        x.waits
            .first()
            .and_then(|r| r.get(column))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    d.semi_sync_active = value("status") == "ON";
    d.acknowledging_replicas = value("clients").parse().unwrap_or(0);
    d.waiting_sessions = value("wait_sessions")
        .parse()
        .unwrap_or(0)
        .max(waits("sessions"));
    d.longest_wait_seconds = waits("longest");
    d.fell_back_to_async = expected && !d.semi_sync_active;
    let primary = &cluster.primary;
    let waiting = if d.waiting_sessions > 0 {
        format!(
            "{} session(s) waiting {}s for an acknowledgement",
            d.waiting_sessions, d.longest_wait_seconds
        )
    } else {
        String::new()
    };
    if d.fell_back_to_async {
        reasons.push((
            false,
            format!(
                "durability degraded: primary {primary} does not wait for replicas (semi-sync is off, commits are asynchronous): run kubectl mysqlha scale {} --replicas {} to turn the wait on again",
                cluster.name,
                cluster.replicas()
            ),
        ));
    } else if expected && d.acknowledging_replicas == 0 {
        let and_waiting = if waiting.is_empty() {
            String::new()
        } else {
            format!(" ({waiting})")
        };
        reasons.push((
            false,
            format!(
                "durability: no replica acknowledges, commits on {primary} wait until one does{and_waiting}: {}",
                receivers_fix(members, &fix)
            ),
        ));
    } else if d.longest_wait_seconds >= SLOW_ACKNOWLEDGEMENT_SECONDS {
        reasons.push((
            false,
            format!(
                "primary {primary} has {waiting}: {}",
                receivers_fix(members, &fix)
            ),
        ));
    }
    d
}

/// A commit that waits this long for an acknowledgement is a problem, not a moment's latency.
const SLOW_ACKNOWLEDGEMENT_SECONDS: u64 = 1;

/// Which replicas to look at when acknowledgements do not come: those whose IO (receiver)
/// thread is not connected, and how to start them again.
fn receivers_fix(members: &[MemberReport], fix: &Fix) -> String {
    let stalled: Vec<&MemberReport> = members
        .iter()
        .filter(|m| {
            m.role == Role::Replica && m.io_thread != Some(crate::db::engine::Receiver::Connected)
        })
        .collect();
    if stalled.is_empty() {
        return format!(
            "every replica's IO thread is connected: check each replica's semi-sync status (SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'); {} re-joins one",
            fix.rebuild("POD")
        );
    }
    let listed: Vec<String> = stalled
        .iter()
        .map(|m| {
            format!(
                "{} (IO {})",
                m.name,
                m.io_thread
                    .as_ref()
                    .map_or("unknown", crate::db::engine::Receiver::as_str)
            )
        })
        .collect();
    let names: Vec<&str> = stalled.iter().map(|m| m.name.as_str()).collect();
    format!(
        "the IO threads of {} do not receive; restart them replicating: {} (an IO error that stays needs {})",
        listed.join(", "),
        fix.restart(&names),
        fix.rebuild("POD")
    )
}

/// Members that share a node: a risk that does not change the verdict (a one-node Kubernetes
/// has no choice), with its remedy.
fn shared_nodes(members: &[MemberReport]) -> Vec<String> {
    let mut by_node: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in members {
        if let Some(node) = &m.node {
            by_node.entry(node).or_default().push(&m.name);
        }
    }
    by_node
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(node, names)| {
            format!(
                "members {} share node {node}: a lost node takes {} at once; add nodes so members can run apart (kubectl get nodes)",
                names.join(", "),
                if names.len() == 2 { "both" } else { "them all" }
            )
        })
        .collect()
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_on_one_node_are_noted_with_a_remedy() {
        let member = |name: &str, node: Option<&str>| MemberReport {
            name: name.into(),
            node: node.map(String::from),
            ..Default::default()
        };
        let notes = shared_nodes(&[
            member("ha-0", Some("n1")),
            member("ha-1", Some("n1")),
            member("ha-2", Some("n2")),
            member("ha-3", None),
        ]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("members ha-0, ha-1 share node n1: a lost node takes both"),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("add nodes"), "{}", notes[0]);
        assert!(shared_nodes(&[member("a", Some("x")), member("b", Some("y"))]).is_empty());
        // Three on one node (the one-node bed): one note for them all.
        let all = shared_nodes(&[
            member("ha-0", Some("n1")),
            member("ha-1", Some("n1")),
            member("ha-2", Some("n1")),
        ]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0]
                .starts_with("members ha-0, ha-1, ha-2 share node n1: a lost node takes them all"),
            "{}",
            all[0]
        );
        // Two nodes each shared: a note per node.
        let two = shared_nodes(&[
            member("a", Some("n1")),
            member("b", Some("n2")),
            member("c", Some("n1")),
            member("d", Some("n2")),
        ]);
        assert_eq!(two.len(), 2, "{two:?}");
        assert!(
            two[0].starts_with("members a, c share node n1"),
            "{}",
            two[0]
        );
        assert!(
            two[1].starts_with("members b, d share node n2"),
            "{}",
            two[1]
        );
    }

    #[test]
    fn an_agent_without_a_leader_is_said_with_why_and_the_fix() {
        use crate::k8s::agent_lease::AgentState;
        let leading = AgentState {
            leader: "nobody@ha-agent-1 (pid 1)".into(),
            heartbeat_seconds_ago: 1,
            last_failover: None,
            cooldown_until: None,
        };
        let stale = AgentState {
            heartbeat_seconds_ago: 120,
            ..leading.clone()
        };
        let deployed = AgentDeployment {
            stuck: None,
            age_seconds: 600,
        };
        let pulling = AgentDeployment {
            stuck: Some("container agent: ImagePullBackOff: Back-off pulling image".into()),
            age_seconds: 5,
        };
        // Just deployed, its pods starting: not yet a problem; stuck: at once.
        let starting = AgentDeployment {
            stuck: None,
            age_seconds: 5,
        };
        assert_eq!(agent_problem("ha", Some(&starting), None), None);
        // No agent asked for, or one that leads: nothing to say.
        assert_eq!(agent_problem("ha", None, None), None);
        assert_eq!(agent_problem("ha", Some(&deployed), Some(&leading)), None);
        let said = |d, s| agent_problem("ha", Some(d), s).unwrap();
        assert!(
            said(&pulling, None).contains("its pods cannot run (container agent: ImagePullBackOff")
        );
        assert!(
            said(&pulling, None).contains("kubectl mysqlha agent enable ha --agent-image IMAGE")
        );
        assert!(said(&deployed, None).contains("no agent pod has taken the lead yet"));
        assert!(said(&deployed, Some(&stale)).contains("stopped renewing 120s ago"));
        assert!(said(&deployed, Some(&stale)).starts_with("no automatic failover:"));
    }

    #[test]
    fn binary_logs_are_summed() {
        let row = crate::db::sqltext::row;
        let b = BinaryLogs::from_rows(&[
            row(&[("Log_name", "mysql-bin.000001"), ("File_size", "328")]),
            row(&[("Log_name", "mysql-bin.000002"), ("File_size", "1000")]),
        ]);
        assert_eq!(
            b,
            BinaryLogs {
                files: 2,
                bytes: 1328
            }
        );
    }

    #[test]
    fn stalled_receivers_are_named_with_their_restart() {
        let fix = Fix {
            name: "ha",
            namespace: "ns",
        };
        let replica = |name: &str, io: &str| MemberReport {
            name: name.into(),
            role: Role::Replica,
            io_thread: Some(crate::db::engine::Receiver::parse(io)),
            ..Default::default()
        };
        let text = receivers_fix(
            &[
                replica("ha-1", "No"),
                replica("ha-2", "Yes"),
                replica("ha-3", "Connecting"),
            ],
            &fix,
        );
        assert!(
            text.contains("ha-1 (IO No), ha-3 (IO Connecting)"),
            "{text}"
        );
        assert!(
            text.contains("kubectl delete pod ha-1 ha-3 -n ns"),
            "{text}"
        );
    }

    #[test]
    fn a_certificate_date_reads_as_the_servers_print_it() {
        let t = server_time("Dec  6 07:38:09 2028 GMT").unwrap();
        assert_eq!(
            (t.year(), t.month() as u8, t.day(), t.hour()),
            (2028, 12, 6, 7)
        );
        assert_eq!(server_time("Jan 16 00:00:01 2027 GMT").unwrap().day(), 16);
        assert!(server_time("").is_none());
    }

    #[test]
    fn an_expired_certificate_degrades_and_one_ending_within_30_days_is_a_note() {
        let now = server_time("Dec  7 08:00:00 2026 GMT").unwrap();
        let member = |name: &str, until: Option<&str>| MemberReport {
            name: name.into(),
            tls_not_after: until.map(|u| {
                server_time(u)
                    .unwrap()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap()
            }),
            ..Default::default()
        };
        let members = [
            member("db-0", Some("Dec  6 07:38:09 2028 GMT")),
            member("db-1", Some("Dec 27 08:00:00 2026 GMT")),
            member("db-2", Some("Dec  7 07:59:59 2026 GMT")),
            member("db-3", None),
        ];
        let (expired, expiring) = certificate_expiry(&members, now);
        assert_eq!(expired.len(), 1, "{expired:?}");
        assert!(expired[0].starts_with("db-2: its TLS certificate expired on 2026-12-07"));
        assert_eq!(expiring.len(), 1, "{expiring:?}");
        assert!(
            expiring[0].starts_with("db-1: its TLS certificate expires on 2026-12-27 (20 days)")
        );
    }
}
