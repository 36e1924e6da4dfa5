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
