//! The agent's Lease (NAME-agent) as others read it: who leads, its heartbeat, its last
//! failover and cooldown (kept in the Lease's annotations by the leader, agent::leader).
use crate::manifests;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::Api;

/// A leader not renewed for this long is replaced.
pub const LEASE_SECONDS: i32 = 5;
/// Annotations of the agent's Lease.
pub const WATCHING_ANNOTATION: &str = "mysqlha.io/watching";
pub const LAST_FAILOVER_ANNOTATION: &str = "mysqlha.io/last-failover";
pub const COOLDOWN_UNTIL_ANNOTATION: &str = "mysqlha.io/cooldown-until";
/// The last automatic failover as the cooldown rule reads it (crate::agent::cooldown).
pub const LAST_FAILOVER_RECORD_ANNOTATION: &str = "mysqlha.io/last-failover-record";
/// The pod a freed Lease is reserved for (a hand-off).
pub const HANDED_TO_ANNOTATION: &str = "mysqlha.io/handed-to";

/// The agent as its Lease tells it: the leader, its last heartbeat, the last failover and the
/// cooldown (for `status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentState {
    pub leader: String,
    pub heartbeat_seconds_ago: i64,
    pub last_failover: Option<String>,
    pub cooldown_until: Option<String>,
}

impl AgentState {
    /// Its leader renewed the Lease within the Lease's duration.
    pub fn leads(&self) -> bool {
        (0..=i64::from(LEASE_SECONDS)).contains(&self.heartbeat_seconds_ago)
    }

    /// "leader nobody@shop-agent-x (pid 1), heartbeat 0s ago; last failover ...; cooldown until ..."
    pub fn describe(&self) -> String {
        let mut out = if self.heartbeat_seconds_ago > i64::from(LEASE_SECONDS) {
            format!(
                "no leader: last heartbeat {}s ago from {}",
                self.heartbeat_seconds_ago, self.leader
            )
        } else {
            format!(
                "leader {}, heartbeat {}s ago",
                self.leader, self.heartbeat_seconds_ago
            )
        };
        if let Some(last) = &self.last_failover {
            out += &format!("; last failover {last}");
        }
        if let Some(until) = &self.cooldown_until {
            out += &format!("; cooldown until {until}");
        }
        out
    }
}

pub async fn state(client: &kube::Client, namespace: &str, cluster: &str) -> Option<AgentState> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let lease = leases
        .get_opt(&manifests::agent::agent_name(cluster))
        .await
        .ok()??;
    let spec = lease.spec?;
    let annotations = lease.metadata.annotations.unwrap_or_default();
    Some(AgentState {
        leader: spec.holder_identity.unwrap_or_default(),
        heartbeat_seconds_ago: spec
            .renew_time
            .map(|t| (Timestamp::now() - t.0).get_seconds())
            .unwrap_or(-1),
        last_failover: annotations.get(LAST_FAILOVER_ANNOTATION).cloned(),
        cooldown_until: annotations.get(COOLDOWN_UNTIL_ANNOTATION).cloned(),
    })
}
