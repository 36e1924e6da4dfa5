//! Server-side apply of the plugin's typed objects, under its own field manager, and their
//! removal.
use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Resource};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

/// Server-side apply of one typed object under the plugin's field manager.
pub async fn apply<K>(api: &Api<K>, object: &K) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = object
        .meta()
        .name
        .clone()
        .context("object without a name")?;
    let params = PatchParams::apply(crate::manifests::FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .with_context(|| format!("cannot apply {} {name}", K::kind(&())))
}

/// Deletes one object by name; "not found" counts as deleted.
pub async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {} {name}", K::kind(&()))),
    }
}

/// Deletes object `name` only when the plugin made it (its managed-by label): a ConfigMap or
/// Secret of someone else's that happens to bear the name is left alone. Returns whether such
/// an object was left.
pub async fn delete_if_managed<K>(api: &Api<K>, name: &str) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let Some(object) = api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read {} {name}", K::kind(&())))?
    else {
        return Ok(false);
    };
    if !crate::manifests::is_managed(object.meta()) {
        return Ok(true);
    }
    delete_if_present(api, name).await?;
    Ok(false)
}

/// Deletes cluster `name`'s StatefulSet, its Services (the three and the member Services) and
/// its PodDisruptionBudget (the pods go with the StatefulSet); the ConfigMap, Secret and claims
/// stay.
pub async fn delete_workloads(client: &kube::Client, namespace: &str, name: &str) -> Result<()> {
    delete_if_present::<StatefulSet>(&Api::namespaced(client.clone(), namespace), name).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let members = services
        .list(&ListParams::default().labels(&crate::manifests::selector_string(name)))
        .await
        .with_context(|| format!("cannot list the Services of cluster {name}"))?
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name);
    let named = [
        name.to_string(),
        format!("{name}-primary"),
        format!("{name}-read"),
    ];
    let all: std::collections::BTreeSet<String> = named.into_iter().chain(members).collect();
    for svc in &all {
        delete_if_present(&services, svc).await?;
    }
    delete_if_present::<PodDisruptionBudget>(&Api::namespaced(client.clone(), namespace), name)
        .await?;
    Ok(())
}

/// The API traffic of apply and delete, against a scripted API server.
/// Where cluster `cluster`'s backups go, as `backup enable` recorded it (ConfigMap
/// NAME-backup); None when backups are not enabled.
pub async fn backup_config(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<Option<crate::manifests::backup::BackupConfig>> {
    use crate::manifests::backup;
    let name = backup::config_name(cluster);
    let found = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(&name)
        .await
        .with_context(|| format!("cannot read ConfigMap {name}"))?;
    Ok(found.as_ref().and_then(backup::read_config))
}

#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{
        apis, core, echo, empty_list, forbidden, foreign, list, managed, not_found, ok, success,
        Script, NS,
    };
    use k8s_openapi::api::core::v1::ConfigMap;

    fn config_maps(client: kube::Client) -> Api<ConfigMap> {
        Api::namespaced(client, NS)
    }

    #[tokio::test]
    async fn apply_is_a_forced_server_side_apply_under_the_plugins_field_manager() {
        let (client, server) = Script::new()
            .patch(
                format!(
                    "{}?fieldManager={}&force=true",
                    core("configmaps", "shop"),
                    crate::manifests::FIELD_MANAGER
                ),
                echo(),
            )
            .start();
        let mut config = ConfigMap::default();
        config.metadata.name = Some("shop".into());
        apply(&config_maps(client), &config).await.unwrap();
        let calls = server.finish();
        assert_eq!(calls[0].body["kind"], "ConfigMap");
        assert!(!calls[0].is_dry_run());
    }

    #[tokio::test]
    async fn apply_of_an_object_without_a_name_calls_nothing() {
        let (client, server) = Script::new().start();
        let error = apply(&config_maps(client), &ConfigMap::default()).await;
        assert_eq!(error.unwrap_err().to_string(), "object without a name");
        server.finish();
    }

    #[tokio::test]
    async fn an_object_already_gone_counts_as_deleted() {
        let (client, server) = Script::new()
            .delete(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .start();
        delete_if_present(&config_maps(client), "shop")
            .await
            .unwrap();
        server.finish();
    }

    #[tokio::test]
    async fn a_refused_delete_names_the_object() {
        let (client, server) = Script::new()
            .delete(
                core("configmaps", "shop"),
                forbidden("configmaps is forbidden"),
            )
            .start();
        let error = delete_if_present(&config_maps(client), "shop").await;
        assert_eq!(
            error.unwrap_err().to_string(),
            "cannot delete ConfigMap shop"
        );
        server.finish();
    }

    #[tokio::test]
    async fn delete_if_managed_leaves_a_users_object_of_the_same_name_alone() {
        let (client, server) = Script::new()
            .get(
                core("configmaps", "shop"),
                ok(foreign("v1", "ConfigMap", "shop")),
            )
            .start();
        assert!(delete_if_managed(&config_maps(client), "shop")
            .await
            .unwrap());
        server.finish();
    }

    #[tokio::test]
    async fn delete_if_managed_deletes_the_plugins_object() {
        let (client, server) = Script::new()
            .get(
                core("configmaps", "shop"),
                ok(managed("v1", "ConfigMap", "shop", "shop")),
            )
            .delete(core("configmaps", "shop"), success())
            .start();
        assert!(!delete_if_managed(&config_maps(client), "shop")
            .await
            .unwrap());
        let calls = server.finish();
        assert_eq!(calls[1].body["propagationPolicy"], "Background");
    }

    #[tokio::test]
    async fn delete_if_managed_of_a_missing_object_deletes_nothing() {
        let (client, server) = Script::new()
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .start();
        assert!(!delete_if_managed(&config_maps(client), "shop")
            .await
            .unwrap());
        server.finish();
    }

    #[tokio::test]
    async fn the_workloads_go_statefulset_first_then_every_service_then_the_budget() {
        let labels = crate::manifests::selector_string("shop");
        let (client, server) = Script::new()
            .delete(apis("apps/v1", "statefulsets", "shop"), success())
            .get(
                format!("{}?labelSelector={labels}", core("services", "")),
                list(vec![
                    managed("v1", "Service", "shop-read", "shop"),
                    managed("v1", "Service", "shop-1", "shop"),
                    managed("v1", "Service", "shop-0", "shop"),
                ]),
            )
            .delete(core("services", "shop"), success())
            .delete(core("services", "shop-0"), success())
            .delete(core("services", "shop-1"), not_found("services", "shop-1"))
            .delete(core("services", "shop-primary"), success())
            .delete(core("services", "shop-read"), success())
            .delete(apis("policy/v1", "poddisruptionbudgets", "shop"), success())
            .start();
        delete_workloads(&client, NS, "shop").await.unwrap();
        server.finish();
    }

    #[tokio::test]
    async fn the_workloads_of_a_cluster_without_member_services_are_still_found_by_name() {
        let (client, server) = Script::new()
            .delete(
                apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            )
            .get(core("services", ""), empty_list())
            .delete(core("services", "shop"), success())
            .delete(core("services", "shop-primary"), success())
            .delete(core("services", "shop-read"), success())
            .delete(
                apis("policy/v1", "poddisruptionbudgets", "shop"),
                not_found("poddisruptionbudgets", "shop"),
            )
            .start();
        delete_workloads(&client, NS, "shop").await.unwrap();
        server.finish();
    }
}
