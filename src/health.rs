//! The verdict on a cluster: every member observed (in parallel), its role, threads, lag,
//! errant transactions and errors, the durability picture, and one verdict with reasons and the
//! commands that fix them. Read by `status`, and by commands that must know the cluster is
//! healthy before changing it.
use crate::cluster::{observe, pod_phase, Cluster, PodPhase, ServerState};
use serde::Serialize;
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
    pub endpoints: Endpoints,
    pub durability: Durability,
    /// mariadb or mysql.
    pub engine: String,
    pub members: Vec<MemberReport>,
    /// The operation holding the cluster's lock right now, if any.
    pub operation: Option<crate::lock::Holder>,
    /// The cluster's last events (its history in Kubernetes Events), oldest first.
    pub events: Vec<crate::events::Entry>,
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
    pub ready: bool,
    /// Where its pod is.
    pub state: MemberState,
    pub replicating: bool,
    pub lag_seconds: Option<u64>,
    pub gtid: String,
    /// read_only as the server says it; None when it could not be asked.
    pub read_only: Option<bool>,
    pub io_thread: Option<String>,
    pub sql_thread: Option<String>,
    pub source: Option<String>,
    pub errant: Vec<String>,
    /// The server's version, as it reports it.
    pub version: String,
    pub error: Option<String>,
}

/// Observes every member (all at once: one round trip per member, in parallel) and judges the
/// whole.
pub async fn report(cluster: &Cluster) -> Report {
    let observed = futures::future::join_all(cluster.members.iter().map(|m| async move {
        match pod_phase(m.pod.as_ref()) {
            PodPhase::Running { .. } => Some(observe(cluster.server(&m.name)).await),
            _ => None,
        }
    }))
    .await;
    let mut members = Vec::new();
    let mut states: Vec<Option<ServerState>> = Vec::new();
    for (m, observed) in cluster.members.iter().zip(observed) {
        let phase = pod_phase(m.pod.as_ref());
        let mut r = MemberReport {
            name: m.name.clone(),
            role: if m.name == cluster.primary {
                Role::Primary
            } else {
                Role::Replica
            },
            ..Default::default()
        };
        let state = match &phase {
            PodPhase::Running { ready } => {
                r.ready = *ready;
                r.state = MemberState::Running;
                match observed.expect("a running member is observed") {
                    Ok(s) => Some(s),
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
                r.io_thread = Some(repl.io_running.clone());
                r.sql_thread = Some(repl.sql_running.clone());
                r.source = Some(
                    repl.source_host
                        .split('.')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
                r.error = r.error.take().or_else(|| repl.error());
            }
        }
        members.push(r);
        states.push(state);
    }
    let mut reasons = judge(cluster, &mut members, &states);
    let durability = durability(cluster, &mut reasons).await;
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
        endpoints: Endpoints {
            write: cluster.write_endpoint(),
            read: cluster.read_endpoint(),
        },
        durability,
        engine: cluster.engine.name().into(),
        members,
        operation: crate::lock::current(&cluster.client, &cluster.namespace, &cluster.name)
            .await
            .ok()
            .flatten(),
        events: crate::events::recent(
            &cluster.client,
            &cluster.namespace,
            &cluster.name,
            crate::events::RECENT,
        )
        .await
        .unwrap_or_default(),
    }
}

/// Problems found, each flagged as breaking (true) or degrading (false) the cluster.
fn judge(
    cluster: &Cluster,
    members: &mut [MemberReport],
    states: &[Option<ServerState>],
) -> Vec<(bool, String)> {
    let mut reasons = Vec::new();
    let primary_idx = members.iter().position(|m| m.role == Role::Primary);
    let primary_state = primary_idx.and_then(|i| states[i].as_ref());
    match (primary_idx, primary_state) {
        (None, _) if cluster.primary.is_empty() => reasons.push((
            true,
            format!(
                "no primary of record: kept data is being brought back (run kubectl mysqlha create {} to finish)",
                cluster.name
            ),
        )),
        (None, _) => reasons.push((
            true,
            format!("the primary of record {} is not a member", cluster.primary),
        )),
        (Some(i), None) => reasons.push((
            true,
            format!("primary {} is {}", members[i].name, members[i].state),
        )),
        (Some(i), Some(s)) if s.read_only => {
            reasons.push((true, format!("primary {} is read-only", members[i].name)))
        }
        _ => {}
    }
    let writable: Vec<&str> = members
        .iter()
        .zip(states)
        .filter(|(_, s)| s.as_ref().is_some_and(|s| !s.read_only))
        .map(|(m, _)| m.name.as_str())
        .collect();
    if writable.len() > 1 {
        reasons.push((
            true,
            format!("more than one writable member: {}", writable.join(", ")),
        ));
    }
    let primary_history = primary_state.map(|s| &s.history);
    let rebuild = |name: &str| format!("kubectl mysqlha rebuild-replica {} {name}", cluster.name);
    for (m, s) in members.iter_mut().zip(states) {
        if m.role == Role::Primary {
            continue;
        }
        let Some(s) = s else {
            reasons.push((false, format!("replica {} is {}", m.name, m.state)));
            continue;
        };
        if let Some(p) = primary_history {
            m.errant = s.history.errant_against(p).items();
        }
        if !m.errant.is_empty() {
            reasons.push((
                false,
                format!(
                    "replica {} has errant transactions {} (the primary never had them): run {}",
                    m.name,
                    m.errant.join(","),
                    rebuild(&m.name)
                ),
            ));
        } else if !s.read_only {
            reasons.push((true, format!("replica {} is writable", m.name)));
        } else if s.replication.is_none() {
            reasons.push((false, format!("replica {} does not replicate", m.name)));
        } else if !m.replicating {
            let err = m.error.clone().unwrap_or_else(|| "threads stopped".into());
            reasons.push((
                false,
                format!(
                    "replica {} is not replicating ({}): run {}",
                    m.name,
                    first_line(&err),
                    rebuild(&m.name)
                ),
            ));
        } else if m.source.as_deref() != Some(cluster.primary.as_str()) {
            reasons.push((
                false,
                format!(
                    "replica {} follows {} instead of the primary {}",
                    m.name,
                    m.source.clone().unwrap_or_default(),
                    cluster.primary
                ),
            ));
        } else if !m.ready {
            reasons.push((false, format!("replica {} is not ready", m.name)));
        }
    }
    reasons
}

/// Reads the primary's semi-synchronous state and names a degraded durability.
async fn durability(cluster: &Cluster, reasons: &mut Vec<(bool, String)>) -> Durability {
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
    let sql = cluster.engine.semi_sync_status_query();
    let Ok(rows) = crate::sql::query(cluster.server(&cluster.primary), sql).await else {
        return d;
    };
    let value = |name: &str| {
        rows.iter()
            .find(|r| r.get("name").is_some_and(|n| n == name))
            .and_then(|r| r.get("value").cloned())
            .unwrap_or_default()
    };
    d.semi_sync_active = value("status") == "ON";
    d.acknowledging_replicas = value("clients").parse().unwrap_or(0);
    d.waiting_sessions = value("wait_sessions").parse().unwrap_or(0);
    if expected && !d.semi_sync_active {
        reasons.push((
            false,
            format!(
                "durability degraded: primary {} does not wait for replicas (semi-sync is off)",
                cluster.primary
            ),
        ));
    } else if expected && d.acknowledging_replicas == 0 {
        reasons.push((
            false,
            format!(
                "durability: no replica acknowledges; commits on {} wait until one reconnects",
                cluster.primary
            ),
        ));
    }
    if d.waiting_sessions > 0 {
        reasons.push((
            false,
            format!(
                "primary {} has {} session(s) waiting for a replica's acknowledgement",
                cluster.primary, d.waiting_sessions
            ),
        ));
    }
    d
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
