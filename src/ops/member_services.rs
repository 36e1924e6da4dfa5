//! The member Services (manifests::member_service): one per member, the address replicas
//! replicate from. `create` makes them with the cluster's other Services; the commands that
//! add or fill members make sure theirs exist before any replica is pointed at them (a fresh
//! ClusterIP takes the node proxies a moment), and `scale` down removes those of the members
//! it removed.
use crate::cluster::Cluster;
use crate::k8s::apply::{apply, delete_if_present};
use anyhow::Result;
use k8s_openapi::api::core::v1::Service;
use kube::Api;

/// Applies the member Services of members 0..count (unchanged ones cost one request each).
pub async fn ensure(cluster: &Cluster, count: i32) -> Result<()> {
    let spec = cluster.config_spec(count, &cluster.primary);
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let applies = (0..count).map(|i| {
        let service = crate::manifests::member_service(&spec, &format!("{}-{i}", cluster.name));
        let services = services.clone();
        async move { apply(&services, &service).await.map(|_| ()) }
    });
    futures::future::try_join_all(applies).await?;
    Ok(())
}

/// Deletes the member Services of members count..before (removed by a scale down).
pub async fn remove_beyond(cluster: &Cluster, count: i32, before: i32) -> Result<()> {
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    for i in count..before {
        let name = crate::manifests::member_service_name(&format!("{}-{i}", cluster.name));
        delete_if_present(&services, &name).await?;
    }
    Ok(())
}
