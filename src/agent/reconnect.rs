//! A primary back after a silence (its server restarted, or its pod made anew at a new
//! address) may find its replicas stuck in a connection attempt to where it was: a connection
//! to an address nobody holds any more waits for the replica's connect timeout (its net
//! timeout, 10 s), and until a replica receives again the primary acknowledges no commit
//! (semi-sync). So when the primary answers again, the leader restarts the receiving thread of
//! each replica of the primary that is not connected: it connects again at once, through the
//! primary's member Service (manifests::member_service), which already leads to the new pod.
use super::{observe, ASK_LIMIT};
use crate::cluster::Cluster;

/// The replicas of the primary of record whose receiving thread runs but is not connected.
pub async fn not_connected(cluster: &Cluster) -> Vec<String> {
    let replicas = cluster
        .members
        .iter()
        .filter(|m| m.name != cluster.primary && m.pod.is_some());
    let asks = replicas.map(|m| async move {
        let state = observe(cluster.server(&m.name)).await.ok()?;
        let replication = state.replication?;
        (crate::manifests::member_of_host(&replication.source_host) == cluster.primary
            && replication.receiver == crate::db::engine::Receiver::Connecting)
            .then(|| m.name.clone())
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Restarts the receiving thread of each of `pods`, all at once; returns those restarted.
/// The caller holds the operation lock (a command repointing them is not raced).
pub async fn restart_receiving(cluster: &Cluster, pods: &[String]) -> Vec<String> {
    let statements = cluster.engine.reconnect_statements();
    let restarts = pods.iter().map(|pod| async move {
        let restart = crate::cluster::sql::execute(cluster.server(pod), statements);
        match tokio::time::timeout(ASK_LIMIT, restart).await {
            Ok(Ok(())) => Some(pod.clone()),
            _ => None,
        }
    });
    futures::future::join_all(restarts)
        .await
        .into_iter()
        .flatten()
        .collect()
}
