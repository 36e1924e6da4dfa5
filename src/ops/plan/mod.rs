//! Plans for moving the primary, decided once: what `failover` and `switchover` would do, to
//! which replica and why, what they would refuse and what could be lost. The commands execute
//! the plan; with --dry-run they print it and change nothing (no lock, no statement that
//! writes, no Kubernetes object touched).
pub mod failover;
pub mod switchover;

use crate::base::style::OutputFormat;
use crate::cluster::health::{first_line, Role};
use crate::cluster::{self, pod_phase, Cluster, PodPhase, ServerState};
use anyhow::{anyhow, Result};
use serde::Serialize;
use std::time::Duration;

/// How long a member may take to answer a quick probe before it counts as unreachable: its
/// server has sql::PROBE_CONNECT_TIMEOUT to greet; the rest is for the exec through the API
/// server.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a member may take to answer when asked patiently (a switchover's plan): its server
/// has sql::WORK_CONNECT_TIMEOUT to greet, but an exec to a pod whose node lost power never
/// ends on its own (the API server's dial to that node waits 30 s), and a switchover needs a
/// healthy cluster anyway.
pub const PATIENT_LIMIT: Duration = Duration::from_secs(8);

/// The same for the primary of record in a quick plan (a failover's, whose primary is most
/// likely gone): an exec to a pod on a node that lost power waits for the API server's dial to
/// that node, which never comes. Shorter than a replica's: a replica that cannot be asked makes
/// a failover refuse (it may hold acknowledged writes), a primary that cannot be asked only
/// goes unkilled (it gets no acknowledgement once the replicas stop receiving, and the failover
/// restarts its pod).
pub const PRIMARY_PROBE_TIMEOUT: Duration = Duration::from_millis(2500);

/// One member as a plan sees it: where its pod is and what its server said.
#[derive(Debug, Clone)]
pub struct Observed {
    pub name: String,
    /// The primary of record.
    pub primary: bool,
    pub phase: PodPhase,
    pub state: Option<ServerState>,
    /// Why there is no state: the pod does not run, or the server did not answer.
    pub silence: Option<String>,
    /// An exec into its server container went through (its server may still be silent): false
    /// when the pod does not run or its node does not answer.
    pub reached: bool,
}

impl Observed {
    fn ready(&self) -> bool {
        self.phase == (PodPhase::Running { ready: true })
    }
}

/// How members are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// Within PROBE_TIMEOUT: a silent server counts as unreachable (failover).
    Quick,
    /// With the usual connect timeout (switchover, on a cluster expected healthy).
    Patiently,
}

/// Every member of record, its pod and its server's state. Quick: all asked at once (a silent
/// primary costs one PROBE_TIMEOUT, not more). Patiently: the replicas at once, then the
/// primary, so that the primary's history includes everything a replica's can hold (asked
/// together under writes, a replica's newest transactions would look errant). Nothing is
/// changed: the state statements only read.
pub async fn observe_members(cluster: &Cluster, asking: Asking) -> Vec<Observed> {
    let observe_all = |primary: bool| {
        let members = cluster
            .members
            .iter()
            .filter(move |m| (m.name == cluster.primary) == primary);
        futures::future::join_all(members.map(|m| observe_member(cluster, m, asking)))
    };
    let mut observed = match asking {
        Asking::Quick => {
            let (primary, replicas) = tokio::join!(observe_all(true), observe_all(false));
            primary.into_iter().chain(replicas).collect::<Vec<_>>()
        }
        Asking::Patiently => {
            let replicas = observe_all(false).await;
            observe_all(true)
                .await
                .into_iter()
                .chain(replicas)
                .collect()
        }
    };
    // In the order of the members (by ordinal).
    observed.sort_by_key(|o| {
        cluster
            .members
            .iter()
            .position(|m| m.name == o.name)
            .unwrap_or(usize::MAX)
    });
    observed
}

/// As observe_members(Patiently), and the primary's server is asked even while its pod is
/// being deleted (its server still runs: a drain or a pod deletion the agent switches over at).
pub async fn observe_members_primary_leaving(cluster: &Cluster) -> Vec<Observed> {
    let mut observed = observe_members(cluster, Asking::Patiently).await;
    let leaving = cluster
        .member(&cluster.primary)
        .and_then(|m| m.pod.as_ref())
        .is_some_and(crate::k8s::pods::server_runs_while_deleted);
    if let Some(primary) = observed.iter_mut().find(|o| o.primary && leaving) {
        let (state, silence, reached) = ask(cluster, &primary.name, Asking::Patiently).await;
        (primary.state, primary.silence, primary.reached) = (state, silence, reached);
    }
    observed
}

async fn observe_member(cluster: &Cluster, m: &cluster::Member, asking: Asking) -> Observed {
    let phase = pod_phase(m.pod.as_ref());
    let (state, silence, reached) = match &phase {
        PodPhase::Running { .. } => ask(cluster, &m.name, asking).await,
        PodPhase::Missing => (None, Some("its pod does not exist".into()), false),
        PodPhase::WaitingForData => (None, Some("its pod waits for data".into()), false),
        PodPhase::Pending(reason) => (
            None,
            Some(match reason {
                Some(r) => format!("its pod is not running ({r})"),
                None => "its pod is not running".into(),
            }),
            false,
        ),
    };
    Observed {
        name: m.name.clone(),
        primary: m.name == cluster.primary,
        phase,
        state,
        silence,
        reached,
    }
}

/// The server's state, or why there is none; and whether the exec reached its container.
async fn ask(
    cluster: &Cluster,
    pod: &str,
    asking: Asking,
) -> (Option<ServerState>, Option<String>, bool) {
    let limit = match asking {
        Asking::Quick if pod == cluster.primary => PRIMARY_PROBE_TIMEOUT,
        Asking::Quick => PROBE_TIMEOUT,
        Asking::Patiently => PATIENT_LIMIT,
    };
    let read = async {
        match asking {
            Asking::Quick => cluster::probe(cluster.server(pod)).await,
            Asking::Patiently => cluster::observe(cluster.server(pod)).await,
        }
    };
    let Ok(answer) = tokio::time::timeout(limit, read).await else {
        return (
            None,
            Some(format!("does not answer within {}s", limit.as_secs_f64())),
            false,
        );
    };
    match answer {
        Ok(state) => (Some(state), None, true),
        Err(e) => (
            None,
            Some(format!(
                "does not answer: {}",
                first_line(&e.root_cause().to_string())
            )),
            e.chain().any(|c| c.is::<crate::k8s::exec::Failed>()),
        ),
    }
}

/// A GTID position for a reader ("none" when empty).
fn shown(gtids: &crate::db::engine::Gtids) -> String {
    if gtids.is_empty() {
        "none".into()
    } else {
        gtids.to_string()
    }
}

/// What a move of the primary would do: shown by --dry-run, executed by the command.
#[derive(Serialize, Debug, Default)]
pub struct Plan {
    /// failover or switchover.
    pub operation: String,
    pub cluster: String,
    pub namespace: String,
    /// The primary of record.
    pub primary: String,
    /// The real command would go ahead (nothing refused).
    pub proceeds: bool,
    pub members: Vec<MemberView>,
    /// The replica that would be promoted.
    pub candidate: Option<String>,
    /// Why this candidate, and why not the others.
    pub reasons: Vec<String>,
    /// What the real command would refuse, in the order it checks; the first is its error.
    pub refusals: Vec<String>,
    /// failover: what could be lost by promoting the candidate.
    pub would_lose: Option<WouldLose>,
    /// The operation holding the cluster's lock right now (the real command would wait for
    /// it with --wait, or fail).
    pub operation_in_progress: Option<crate::k8s::lock::Holder>,
}

/// A member's role, whether it answers, and its positions.
#[derive(Serialize, Debug, Default, Clone)]
pub struct MemberView {
    pub name: String,
    pub role: Role,
    pub ready: bool,
    /// Its server answered.
    pub answers: bool,
    pub read_only: Option<bool>,
    /// Everything it received from its source, applied or not (replicas).
    pub received: Option<String>,
    /// Everything it applied (on the primary: everything it committed).
    pub applied: Option<String>,
    pub io_thread: Option<String>,
    pub sql_thread: Option<String>,
    /// The member it replicates from.
    pub source: Option<String>,
    /// Why it does not answer, or why it cannot be the candidate.
    pub note: Option<String>,
}

/// Transactions a failover could lose.
#[derive(Serialize, Debug, Default, Clone)]
pub struct WouldLose {
    /// Per member that answers: what it holds that the candidate has not received.
    pub transactions: Vec<Lost>,
    /// Members that do not answer: whatever they hold beyond the candidate is unknown.
    pub unknown: Vec<String>,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Lost {
    pub member: String,
    pub role: Role,
    pub gtids: Vec<String>,
    pub count: u64,
}

impl Plan {
    fn new(operation: &str, cluster: &str, primary: &str, observed: &[Observed]) -> Self {
        Plan {
            operation: operation.into(),
            cluster: cluster.into(),
            primary: primary.into(),
            members: observed.iter().map(view).collect(),
            ..Default::default()
        }
    }

    /// Records the outcome once every check has run.
    fn conclude(mut self) -> Self {
        self.proceeds = self.refusals.is_empty() && self.candidate.is_some();
        self
    }

    fn note(&mut self, member: &str, note: String) {
        if let Some(m) = self.members.iter_mut().find(|m| m.name == member) {
            m.note = Some(match m.note.take() {
                Some(before) => format!("{before}; {note}"),
                None => note,
            });
        }
    }

    /// The replica to promote, or the first refusal as the error.
    pub fn go_ahead(&self) -> Result<String> {
        if let Some(refusal) = self.refusals.first() {
            return Err(anyhow!("{refusal}"));
        }
        self.candidate
            .clone()
            .ok_or_else(|| anyhow!("no candidate: nothing changed"))
    }

    /// --dry-run: prints the plan (and the operation holding the cluster's lock, if any) on
    /// stdout; the first refusal is the error when the real command would refuse.
    pub async fn print_dry_run(mut self, cluster: &Cluster, format: OutputFormat) -> Result<()> {
        self.namespace = cluster.namespace.clone();
        self.operation_in_progress =
            crate::k8s::lock::current(&cluster.client, &cluster.namespace, &cluster.name)
                .await
                .ok()
                .flatten();
        match format {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&self)?),
            OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&self)?),
            OutputFormat::Table => print!("{}", self.text()),
        }
        match self.refusals.first() {
            Some(refusal) => Err(anyhow!("{} would refuse: {refusal}", self.operation)),
            None => Ok(()),
        }
    }

    /// The plan for a reader.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Dry run: {} of cluster {} in namespace {} (nothing was changed)\n\n",
            self.operation, self.cluster, self.namespace
        );
        out += &table(&self.members);
        out += "\n";
        match &self.candidate {
            Some(c) => out += &format!("Candidate: {c}\n"),
            None => out += "Candidate: none\n",
        }
        for reason in &self.reasons {
            out += &format!("  - {reason}\n");
        }
        if let Some(lose) = &self.would_lose {
            out += &lose.text(self.candidate.as_deref().unwrap_or("the candidate"));
        }
        if let Some(op) = &self.operation_in_progress {
            out += &format!(
                "Operation in progress: {} (the real command waits for it with --wait, or fails)\n",
                op.describe()
            );
        }
        if self.refusals.is_empty() {
            out += &format!(
                "Verdict: {} would proceed: {} → {}\n",
                self.operation,
                self.primary,
                self.candidate.as_deref().unwrap_or("-")
            );
        } else {
            out += &format!("Verdict: {} would refuse:\n", self.operation);
            for refusal in &self.refusals {
                out += &format!("  - {refusal}\n");
            }
        }
        out
    }
}

impl WouldLose {
    fn text(&self, candidate: &str) -> String {
        let mut out = String::from("Could be lost by promoting it:\n");
        if self.transactions.is_empty() && self.unknown.is_empty() {
            out += &format!(
                "  - nothing: {candidate} received everything every member that answers holds\n"
            );
        }
        for lost in &self.transactions {
            out += &format!(
                "  - {} transaction(s) that {} ({}) holds and {candidate} has not received: {}\n",
                lost.count,
                lost.member,
                lost.role,
                lost.gtids.join(",")
            );
        }
        for member in &self.unknown {
            out += &format!("  - unknown: {member} cannot be reached; whatever it holds beyond {candidate} is lost\n");
        }
        out
    }
}

fn view(o: &Observed) -> MemberView {
    let mut v = MemberView {
        name: o.name.clone(),
        role: if o.primary {
            Role::Primary
        } else {
            Role::Replica
        },
        ready: o.ready(),
        answers: o.state.is_some(),
        note: o.silence.clone(),
        ..Default::default()
    };
    if let Some(s) = &o.state {
        v.read_only = Some(s.read_only);
        v.applied = Some(s.applied.to_string());
        if let Some(r) = &s.replication {
            v.received = Some(r.received.to_string());
            v.io_thread = Some(r.receiver.to_string());
            v.sql_thread = Some(r.applier.to_string());
            v.source = Some(crate::manifests::member_of_host(&r.source_host));
        }
    }
    v
}

fn table(members: &[MemberView]) -> String {
    let header = [
        "MEMBER",
        "ROLE",
        "READY",
        "ANSWERS",
        "READ-ONLY",
        "IO",
        "SQL",
        "RECEIVED",
        "APPLIED",
        "NOTE",
    ];
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    // An empty position of a member that answers: it has no transaction at all.
    let position = |s: &Option<String>| match s.as_deref() {
        Some("") => "none".to_string(),
        other => dash(&other.map(String::from)),
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.role.to_string(),
                yes_no(m.ready),
                yes_no(m.answers),
                m.read_only.map_or("-".into(), yes_no),
                dash(&m.io_thread),
                dash(&m.sql_thread),
                position(&m.received),
                position(&m.applied),
                dash(&m.note),
            ]
        })
        .collect();
    crate::base::style::columns(&header, &rows)
}
