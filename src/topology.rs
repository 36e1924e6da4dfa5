//! Moving the primary: fencing, promoting, repointing replicas, and the record of the primary
//! (ConfigMap key and the write Service's selector).
use crate::apply::apply;
use crate::cluster::Cluster;
use crate::engine::KEEP_SESSIONS_OF;
use crate::manifests::{self, Passwords};
use crate::sql;
use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::time::Duration;

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

/// Makes `pod` the primary of record: ConfigMap first (a restarting pod reads it), then the
/// write Service, and, at the same time, the running members' own copy of the record.
pub async fn record_primary(cluster: &Cluster, pod: &str) -> Result<()> {
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    apply(
        &configs,
        &manifests::config_map(&cluster.config_spec(cluster.replicas(), pod)),
    )
    .await?;
    let (pointed, ()) = tokio::join!(
        point_write_service(cluster, Some(pod)),
        tell_members(cluster, pod)
    );
    pointed
}

/// How long writing a member's copy of the record may take (a member on a lost node never
/// answers; it restarts in a new pod, which reads the ConfigMap afresh).
const TELL_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes `primary` into every running member's run directory (write-config.sh prefers it to
/// the mounted ConfigMap while it is newer: the kubelet refreshes that within about a minute).
/// Best effort: a member not told keeps an older copy, which the next refresh outdates.
async fn tell_members(cluster: &Cluster, primary: &str) {
    let script = "printf '%s\\n' \"$1\" >/etc/mysqlha/run/primary.new && mv /etc/mysqlha/run/primary.new /etc/mysqlha/run/primary";
    // pod_phase counts a pod being deleted as not running.
    let told = cluster.members.iter().filter(|m| {
        matches!(
            crate::cluster::pod_phase(m.pod.as_ref()),
            crate::cluster::PodPhase::Running { .. }
        )
    });
    let writes = told.map(|m| async move {
        let command = ["sh", "-c", script, "sh", primary];
        let _ = tokio::time::timeout(
            TELL_TIMEOUT,
            crate::exec::run(cluster.server(&m.name), &command, None),
        )
        .await;
    });
    futures::future::join_all(writes).await;
}

/// Stops writes on `pod`: read-only for every account, then client sessions are cut so that
/// clients reconnect through the write Service. Returns the GTID position `pod` has written to
/// its binary log, which no client can add to any more.
pub async fn fence(cluster: &Cluster, pod: &str) -> Result<String> {
    let [read_only, position] = cluster.engine.fence_statements();
    let sets = sql::query_sets(
        cluster.server(pod),
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
    let script = include_str!("manifests/scripts/stop-and-hold.sh");
    let command = ["sh", "-c", script, cluster.engine.server_process()];
    let ran = tokio::time::timeout(limit, crate::exec::run(cluster.server(pod), &command, None))
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {pod}'s container within {limit:?}"))?;
    match ran {
        Ok(_) => Ok(()),
        // The server's end ends its container, and the runtime kills what else runs there:
        // this script, once it has marked the pod and killed the server.
        Err(e) if e.downcast_ref::<crate::exec::Failed>().and_then(|f| f.code) == Some(137) => {
            Ok(())
        }
        Err(e) => {
            let why = e
                .downcast_ref::<crate::exec::Failed>()
                .map_or_else(|| format!("{e:#}"), |f| f.detail().to_string());
            Err(anyhow::anyhow!("cannot stop the server of {pod}: {why}"))
        }
    }
}

/// Waits until `pod` has applied `position` (MariaDB MASTER_GTID_WAIT, MySQL
/// WAIT_FOR_EXECUTED_GTID_SET).
pub async fn wait_applied(
    cluster: &Cluster,
    pod: &str,
    position: &str,
    limit: Duration,
) -> Result<()> {
    if position.is_empty() {
        return Ok(());
    }
    sql::execute(
        cluster.server(pod),
        &cluster.engine.fail_unless_applied(pod, position, limit),
    )
    .await
}

/// Turns replica `pod` into the writable primary once it has applied `position` (waiting at most
/// `limit`), in one exec: a failed wait stops the statements before any of them changes `pod`.
pub async fn promote(cluster: &Cluster, pod: &str, position: &str, limit: Duration) -> Result<()> {
    let semi_sync = cluster.semi_sync && cluster.replicas() > 1;
    let sql = format!(
        "{}{}",
        cluster.engine.fail_unless_applied(pod, position, limit),
        cluster.engine.promote_statements(semi_sync)
    );
    sql::execute(cluster.server(pod), &sql)
        .await
        .with_context(|| format!("cannot promote {pod}"))
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
    );
    sql::execute(cluster.server(pod), &sql)
        .await
        .with_context(|| format!("cannot make {pod} follow {primary}"))?;
    if former_primary {
        release_hold(cluster, pod).await?;
    }
    Ok(())
}

/// Removes the hold of stop-and-hold.sh from `pod` (the mark in its run directory).
async fn release_hold(cluster: &Cluster, pod: &str) -> Result<()> {
    crate::exec::run(cluster.server(pod), &["rm", "-f", HOLD_MARK], None)
        .await
        .with_context(|| format!("cannot release the hold on {pod}"))?;
    Ok(())
}

/// Renders the ConfigMap for `replicas` members and sets the primary's semi-sync wait to match:
/// a lone primary must not wait for acknowledgements that no one can send.
pub async fn set_member_count(cluster: &Cluster, replicas: i32) -> Result<()> {
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let spec = cluster.config_spec(replicas, &cluster.primary);
    apply(&configs, &manifests::config_map(&spec)).await?;
    let wait = cluster.semi_sync && replicas > 1;
    sql::execute(
        cluster.server(&cluster.primary),
        &cluster.engine.set_semi_sync_wait(wait),
    )
    .await
    .context("cannot set the primary's semi-synchronous replication")
}
