//! The leader keeps off the primary's node: a leader there is lost with the primary when that
//! node fails, and its standby first waits out the Lease (leader::LEASE_SECONDS) before it
//! watches anything, which adds those seconds to the failover. So a leader that shares the
//! primary's node hands the Lease to the other agent pod when that one is Ready on another node.
use crate::cluster::Cluster;
use k8s_openapi::api::core::v1::Pod;

/// The other agent pod to hand the leadership to, when this leader (pod POD_NAME on node
/// NODE_NAME) shares the primary's node and that pod is Ready on another node.
pub async fn peer_off_primary_node(cluster: &Cluster) -> Option<String> {
    let me = std::env::var("POD_NAME").ok()?;
    let my_node = std::env::var("NODE_NAME").ok()?;
    let primary_node = cluster
        .member(&cluster.primary)?
        .pod
        .as_ref()?
        .spec
        .as_ref()?
        .node_name
        .clone()?;
    if my_node != primary_node {
        return None;
    }
    let agents = crate::cluster::diagnostics::agent_pods(&cluster.pods, &cluster.name)
        .await
        .ok()?;
    peer_elsewhere(&me, &primary_node, &agents)
}

/// A Ready agent pod other than `me`, not being deleted, on a node other than `primary_node`.
fn peer_elsewhere(me: &str, primary_node: &str, agents: &[Pod]) -> Option<String> {
    agents
        .iter()
        .filter(|p| p.metadata.name.as_deref() != Some(me))
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_some_and(|n| n != primary_node)
        })
        .find(|p| ready(p))
        .and_then(|p| p.metadata.name.clone())
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn agent(name: &str, node: &str, is_ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if is_ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_lease_goes_to_a_ready_agent_on_another_node_only() {
        let me = agent("a-1", "n1", true);
        let elsewhere = agent("a-2", "n2", true);
        assert_eq!(
            peer_elsewhere("a-1", "n1", &[me.clone(), elsewhere.clone()]),
            Some("a-2".into())
        );
        // The other agent on the primary's node too: nothing gained.
        let same_node = agent("a-2", "n1", true);
        assert_eq!(peer_elsewhere("a-1", "n1", &[me.clone(), same_node]), None);
        // Not Ready, or going away: kept.
        let not_ready = agent("a-2", "n2", false);
        assert_eq!(peer_elsewhere("a-1", "n1", &[me.clone(), not_ready]), None);
        let mut deleting = elsewhere;
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        assert_eq!(peer_elsewhere("a-1", "n1", &[me, deleting]), None);
    }
}
