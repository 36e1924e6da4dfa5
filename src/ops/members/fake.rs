//! A scripted stand-in for a cluster's members (tests only): each step succeeds unless
//! scripted to fail for that member, observations answer with scripted states, and every step
//! taken is written down in order, to be read back by the test.
use super::Members;
use crate::db::engine::ServerState;
use crate::k8s::events::Reason;
use anyhow::{anyhow, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A step of `Members`, to script a failure of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Lock,
    PointWriteService,
    Observe,
    Fence,
    StopAndHold,
    StopReceiving,
    Promote,
    Follow,
    SetWritable,
    ReleaseHold,
    RecordPrimary,
    RestartNow,
    WaitReady,
}

/// Scripted members: `states` answer `observe` and `stop_receiving` (a member without one does
/// not answer), `positions` answer `fence`; `fail` makes a step on a member fail.
pub struct Scripted {
    name: String,
    members: Vec<String>,
    states: HashMap<String, ServerState>,
    positions: HashMap<String, String>,
    failures: HashMap<(Step, String), String>,
    taken: Mutex<Vec<String>>,
    events: Mutex<Vec<(String, String)>>,
}

impl Scripted {
    /// Members `members` of cluster `name`, every step succeeding, none answering `observe`.
    pub fn new(name: &str, members: &[&str]) -> Self {
        Scripted {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            states: HashMap::new(),
            positions: HashMap::new(),
            failures: HashMap::new(),
            taken: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
        }
    }

    /// `pod` answers `observe` and `stop_receiving` with `state`.
    pub fn state(mut self, pod: &str, state: ServerState) -> Self {
        self.states.insert(pod.into(), state);
        self
    }

    /// A fence of `pod` answers `position`.
    pub fn position(mut self, pod: &str, position: &str) -> Self {
        self.positions.insert(pod.into(), position.into());
        self
    }

    /// `step` on `pod` (any pod for Lock and PointWriteService: "") fails saying `error`.
    pub fn fail(mut self, step: Step, pod: &str, error: &str) -> Self {
        self.failures.insert((step, pod.into()), error.into());
        self
    }

    /// The steps taken, in order, as "step pod [detail]".
    pub fn taken(&self) -> Vec<String> {
        self.taken.lock().unwrap().clone()
    }

    /// The events recorded, as (reason, note).
    pub fn events(&self) -> Vec<(String, String)> {
        self.events.lock().unwrap().clone()
    }

    /// The reasons of the events recorded, in order.
    pub fn reasons(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .map(|(reason, _)| reason)
            .collect()
    }

    /// Whether a step was taken that starts with `prefix`.
    pub fn took(&self, prefix: &str) -> bool {
        self.taken().iter().any(|t| t.starts_with(prefix))
    }

    /// Where in the order a step starting with `prefix` was first taken.
    pub fn index_of(&self, prefix: &str) -> usize {
        let taken = self.taken();
        taken
            .iter()
            .position(|t| t.starts_with(prefix))
            .unwrap_or_else(|| panic!("no step {prefix} in {taken:?}"))
    }

    /// Writes down `what` and answers as scripted for (`step`, `pod`).
    fn take(&self, step: Step, pod: &str, what: String) -> Result<()> {
        self.taken.lock().unwrap().push(what);
        match self.failures.get(&(step, pod.to_string())) {
            Some(error) => Err(anyhow!("{error}")),
            None => Ok(()),
        }
    }

    fn state_of(&self, pod: &str) -> Result<ServerState> {
        self.states
            .get(pod)
            .cloned()
            .ok_or_else(|| anyhow!("{pod} does not answer"))
    }
}

impl Members for Scripted {
    fn cluster_name(&self) -> &str {
        &self.name
    }

    fn member_names(&self) -> Vec<String> {
        self.members.clone()
    }

    fn ensure_lock_held(&self) -> Result<()> {
        self.take(Step::Lock, "", "lock held?".into())
    }

    fn event(&self, _pod: Option<&str>, reason: Reason, note: String) {
        self.events.lock().unwrap().push((reason.to_string(), note));
    }

    async fn point_write_service(&self, pod: Option<&str>) -> Result<()> {
        let at = pod.unwrap_or("none");
        self.take(
            Step::PointWriteService,
            "",
            format!("write service at {at}"),
        )
    }

    async fn observe(&self, pod: &str) -> Result<ServerState> {
        self.take(Step::Observe, pod, format!("observe {pod}"))?;
        self.state_of(pod)
    }

    async fn fence(&self, pod: &str) -> Result<String> {
        self.take(Step::Fence, pod, format!("fence {pod}"))?;
        Ok(self.positions.get(pod).cloned().unwrap_or_default())
    }

    async fn stop_and_hold(&self, pod: &str, _limit: Duration) -> Result<()> {
        self.take(Step::StopAndHold, pod, format!("stop and hold {pod}"))
    }

    async fn stop_receiving(&self, pod: &str) -> Result<ServerState> {
        self.take(Step::StopReceiving, pod, format!("stop receiving {pod}"))?;
        self.state_of(pod)
    }

    async fn promote(&self, pod: &str, position: &str, limit: Duration) -> Result<()> {
        let what = format!("promote {pod} at {position} within {}s", limit.as_secs());
        self.take(Step::Promote, pod, what)
    }

    async fn follow(&self, pod: &str, primary: &str, former_primary: bool) -> Result<()> {
        let former = if former_primary {
            " (former primary)"
        } else {
            ""
        };
        let what = format!("follow {pod} → {primary}{former}");
        self.take(Step::Follow, pod, what)
    }

    async fn set_writable(&self, pod: &str) -> Result<()> {
        self.take(Step::SetWritable, pod, format!("writable {pod}"))
    }

    async fn release_hold(&self, pod: &str) -> Result<()> {
        self.take(Step::ReleaseHold, pod, format!("release hold {pod}"))
    }

    async fn record_primary(&self, pod: &str) -> Result<()> {
        self.take(Step::RecordPrimary, pod, format!("record {pod}"))
    }

    async fn restart_now(&self, pod: &str) -> Result<()> {
        self.take(Step::RestartNow, pod, format!("restart {pod}"))
    }

    async fn wait_ready(&self, pod: &str) -> Result<()> {
        self.take(Step::WaitReady, pod, format!("ready {pod}"))
    }
}

/// A MariaDB replica's state, read as the engine's rows would say it: applied up to `applied`,
/// received up to `received`, both threads running and connected.
pub fn replica_state(applied: &str, received: &str) -> ServerState {
    let row = crate::db::sqltext::row;
    let variables = row(&[
        ("read_only", "1"),
        ("current", applied),
        ("binlog_state", applied),
    ]);
    let status = row(&[
        ("Master_Host", "db-0.db"),
        ("Slave_IO_Running", "Yes"),
        ("Slave_SQL_Running", "Yes"),
        ("Gtid_IO_Pos", received),
    ]);
    crate::db::engine::Engine::Mariadb
        .parse_state(&[variables], &[status])
        .unwrap()
}

/// A MariaDB member's state that does not replicate, at `applied`.
pub fn lone_state(read_only: bool, applied: &str) -> ServerState {
    let row = crate::db::sqltext::row;
    let variables = row(&[
        ("read_only", if read_only { "1" } else { "0" }),
        ("current", applied),
        ("binlog_state", applied),
    ]);
    crate::db::engine::Engine::Mariadb
        .parse_state(&[variables], &[])
        .unwrap()
}
