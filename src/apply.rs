//! Server-side apply of the plugin's typed objects, under its own field manager.
use anyhow::{Context, Result};
use kube::api::{Patch, PatchParams};
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
