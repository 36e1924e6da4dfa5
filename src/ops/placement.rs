//! Where members live, and moving one off a node that is lost for good: its claim (whose
//! node-local volume cannot follow it) and its pod are released so that the StatefulSet
//! re-creates both on a live node.
use crate::base::progress::Task;
use crate::cluster::Cluster;
use crate::k8s::wait;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kube::api::DeleteParams;
use kube::Api;

/// The claim holding member `pod`'s data (the StatefulSet's template "data").
pub fn data_claim(pod: &str) -> String {
    format!("data-{pod}")
}

/// Why Kubernetes holds `node` for lost, or None when it does not (or cannot be asked).
pub fn node_lost_reason(node: &Node) -> Option<String> {
    let ready = node
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")?;
    (ready.status != "True").then(|| {
        format!(
            "node {} is {} since {}{}",
            node.metadata.name.as_deref().unwrap_or_default(),
            if ready.status == "Unknown" {
                "unreachable"
            } else {
                "not ready"
            },
            ready
                .last_transition_time
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_else(|| "an unknown time".into()),
            ready
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )
    })
}

/// The pod's own evidence, readable with namespace rights only: the eviction Kubernetes
/// started because the pod's node stopped reporting (condition DisruptionTarget, reason
/// DeletionByTaintManager).
pub fn evicted_from_lost_node(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| {
            c.type_ == "DisruptionTarget"
                && c.status == "True"
                && c.reason.as_deref() == Some("DeletionByTaintManager")
        })
        .map(|c| {
            format!(
                "Kubernetes is evicting pod {} from its node: {}",
                pod.metadata.name.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or("the node is unreachable")
            )
        })
}

/// The node of member `pod` and why it counts as lost; an error (nothing changed) when it
/// does not.
pub async fn confirm_node_lost(cluster: &Cluster, pod: &str) -> Result<(String, String)> {
    let member = cluster
        .member(pod)
        .with_context(|| format!("pod {pod} is not a member of cluster {}", cluster.name))?;
    let Some(node) = member
        .pod
        .as_ref()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.node_name.clone())
    else {
        bail!("pod {pod} is on no node: nothing to move (run rebuild-replica without --lost-node)");
    };
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    match nodes.get_opt(&node).await {
        Ok(None) => return Ok((node.clone(), format!("node {node} no longer exists"))),
        Ok(Some(n)) => {
            if let Some(reason) = node_lost_reason(&n) {
                return Ok((node, reason));
            }
            bail!("node {node} of {pod} is Ready: not lost, nothing changed (run rebuild-replica without --lost-node to re-clone it in place)");
        }
        // Without the right to read nodes, the pod's eviction by Kubernetes is the evidence.
        Err(kube::Error::Api(e)) if e.code == 403 => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read node {node}")),
    }
    match member.pod.as_ref().and_then(evicted_from_lost_node) {
        Some(reason) => Ok((node, reason)),
        None => bail!(
            "cannot confirm that node {node} of {pod} is lost (no right to read nodes, and Kubernetes is not evicting the pod): nothing changed"
        ),
    }
}

/// Releases member `pod` from its lost node: deletes its claim (its volume is tied to that
/// node) and force-deletes its pod (the node cannot confirm the deletion), then waits until
/// the old claim is gone. The StatefulSet re-creates the pod and a new claim, bound on a live
/// node. The old volume is never reused, even when the node comes back.
pub async fn release_from_lost_node(cluster: &Cluster, pod: &str, task: &Task) -> Result<()> {
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let claim = data_claim(pod);
    let old_address = cluster
        .member(pod)
        .and_then(|m| m.pod.as_ref())
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.pod_ip.clone());
    let old_uid = claims
        .get_opt(&claim)
        .await
        .with_context(|| format!("cannot read claim {claim}"))?
        .and_then(|c| c.metadata.uid);
    task.set(&format!("releasing claim {claim} and pod {pod}"));
    if old_uid.is_some() {
        match claims.delete(&claim, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("cannot delete claim {claim}")),
        }
    }
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    match cluster.pods.delete(pod, &now).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e).with_context(|| format!("cannot delete pod {pod}")),
    }
    if let Some(address) = old_address {
        task.set("ending the primary's replication session with the lost member");
        end_dump_threads(cluster, &address).await;
    }
    task.set(&format!("waiting until the old claim {claim} is gone"));
    wait::retry(
        std::time::Duration::from_secs(120),
        &format!("the old claim {claim} to be deleted"),
        || async {
            let current = claims.get_opt(&claim).await?.and_then(|c| c.metadata.uid);
            if current.is_some() && current == old_uid {
                bail!("claim {claim} is still there");
            }
            Ok(())
        },
    )
    .await
}

/// Ends the primary's binary log dump threads for the lost member at `address`. The dead peer
/// never closed its connection, so the thread would live until TCP gives up (~15 min), counted
/// among the primary's semi-sync clients. (With its predecessor's server id, the replacement's
/// registration once deadlocked a MariaDB 10.11 primary; every pod now has a new server id:
/// write-config.sh.) Best effort: a failure is reported and the move goes on.
async fn end_dump_threads(cluster: &Cluster, address: &str) {
    let primary = cluster.server(&cluster.primary);
    let query = cluster.engine.dump_threads_of(address);
    let ended = async {
        let rows = crate::cluster::sql::query(primary, &query).await?;
        for id in rows.iter().filter_map(|r| r.get("id")) {
            crate::cluster::sql::execute(primary, &format!("KILL {}", id.parse::<u64>()?)).await?;
        }
        Ok::<_, anyhow::Error>(rows.len())
    };
    if let Err(e) = ended.await {
        eprintln!(
            "warning: could not end the replication session of {address} on primary {}: {e:#}",
            cluster.primary
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus, PodCondition, PodStatus};

    fn node(ready: &str) -> Node {
        Node {
            metadata: kube::api::ObjectMeta {
                name: Some("n2".into()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    message: Some("Kubelet stopped posting node status.".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_node_is_lost_when_it_is_not_ready() {
        assert!(node_lost_reason(&node("True")).is_none());
        let why = node_lost_reason(&node("Unknown")).unwrap();
        assert!(why.contains("node n2 is unreachable"), "{why}");
        assert!(node_lost_reason(&node("False"))
            .unwrap()
            .contains("not ready"));
    }

    #[test]
    fn an_eviction_by_the_taint_manager_is_evidence_of_a_lost_node() {
        let pod = |reason: &str| Pod {
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                    reason: Some(reason.into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(evicted_from_lost_node(&pod("DeletionByTaintManager")).is_some());
        assert!(evicted_from_lost_node(&pod("EvictionByEvictionAPI")).is_none());
        assert!(evicted_from_lost_node(&Pod::default()).is_none());
    }
}
