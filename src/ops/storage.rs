//! Growing the members' data volumes (`set --storage SIZE`): every member's claim is asked for
//! the new size. Whether a volume can grow is the StorageClass's to say (allowVolumeExpansion):
//! the API server refuses the claim's change otherwise, so every claim is first changed as a
//! server-side dry run, and a refusal (or a smaller size: volumes never shrink) changes nothing.
//! Then the volumes' driver expands them (the command waits until each claim holds the size),
//! and the StatefulSet's claim template is made to ask for it too, so that members added later
//! get the same size: a claim template cannot change in place, so the StatefulSet is deleted
//! leaving its pods and claims (orphan) and made anew with the new size; it adopts its pods
//! again, its pod template unchanged, and nothing restarts.
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::wait;
use crate::manifests::STATEFULSET_BEING_REMADE;
use crate::ops::placement::data_claim;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::Api;
use std::sync::Mutex;
use std::time::Duration;

/// The StatefulSet's claim template of the members' data volumes.
const DATA_TEMPLATE: &str = "data";

/// The members' claims that must grow to `size` (checked, none changed yet); an error when a
/// claim holds more already or the API server refuses to grow one.
pub async fn claims_to_grow(cluster: &Cluster, size: &str) -> Result<Vec<String>> {
    let wanted = bytes(size).with_context(|| format!("--storage {size}: not a size"))?;
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut grow = Vec::new();
    for m in &cluster.members {
        let name = data_claim(&m.name);
        let claim = claims
            .get(&name)
            .await
            .with_context(|| format!("cannot read PersistentVolumeClaim {name}"))?;
        let current = requested(&claim).unwrap_or_default();
        match bytes(&current) {
            Some(have) if have > wanted => bail!(
                "claim {name} holds {current} already: storage can only grow, not shrink to {size}; nothing changed"
            ),
            Some(have) if have == wanted => {}
            _ => grow.push(name),
        }
    }
    for name in &grow {
        resize(&claims, name, size, true).await?;
    }
    Ok(grow)
}

/// Asks each of `names` for `size` (after `claims_to_grow`).
pub async fn grow(cluster: &Cluster, names: &[String], size: &str) -> Result<()> {
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    for name in names {
        resize(&claims, name, size, false).await?;
    }
    Ok(())
}

async fn resize(
    claims: &Api<PersistentVolumeClaim>,
    name: &str,
    size: &str,
    dry_run: bool,
) -> Result<()> {
    let patch = serde_json::json!({ "spec": { "resources": { "requests": { "storage": size } } } });
    let params = PatchParams {
        dry_run,
        ..PatchParams::default()
    };
    match claims.patch(name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if dry_run => bail!(
            "claim {name} cannot grow to {size}: {}; nothing changed",
            e.message
        ),
        Err(e) => Err(e).with_context(|| format!("cannot grow claim {name} to {size}")),
    }
}

/// Waits until each claim in `names` holds `size` (its status capacity: its volume's driver
/// has expanded it), for at most `timeout`.
pub async fn wait_grown(
    cluster: &Cluster,
    names: &[String],
    size: &str,
    timeout: Duration,
) -> Result<()> {
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let wanted = bytes(size).with_context(|| format!("--storage {size}: not a size"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    for name in names {
        let last: Mutex<Option<PersistentVolumeClaim>> = Mutex::new(None);
        let (claims, last_ref) = (&claims, &last);
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let grown = wait::until_some(left, &format!("claim {name} holds {size}"), || async move {
            let claim = claims
                .get(name)
                .await
                .with_context(|| format!("cannot read PersistentVolumeClaim {name}"))?;
            let held = capacity(&claim).unwrap_or_default();
            if bytes(&held).is_some_and(|have| have >= wanted) {
                return Ok(Some(()));
            }
            wait::note(format!("claim {name} holds {held}"));
            *last_ref.lock().unwrap_or_else(|e| e.into_inner()) = Some(claim);
            Ok(None)
        })
        .await;
        match grown {
            Err(e) if e.is::<wait::TimedOut>() => {
                let claim = last
                    .into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_default();
                bail!(
                    "claim {name} asks for {size} but holds {} after {}s: its volume was not expanded{}",
                    capacity(&claim).unwrap_or_default(),
                    timeout.as_secs(),
                    conditions(&claim)
                );
            }
            grown => grown?,
        }
    }
    Ok(())
}

/// Makes the StatefulSet's claim template ask for `size` (members added later get it); false
/// when it asks for that already. The StatefulSet is deleted with its pods and claims left in
/// place, then made anew from the same object: its pods run on, undisturbed, and are adopted.
pub async fn resize_claim_template(cluster: &Cluster, size: &str) -> Result<bool> {
    let statefulsets: Api<StatefulSet> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = &cluster.name;
    let mut sts = statefulsets
        .get(name)
        .await
        .with_context(|| format!("cannot read StatefulSet {name}"))?;
    let Some(template) = sts
        .spec
        .as_mut()
        .and_then(|s| s.volume_claim_templates.as_mut())
        .and_then(|t| {
            t.iter_mut()
                .find(|c| c.metadata.name.as_deref() == Some(DATA_TEMPLATE))
        })
    else {
        bail!("StatefulSet {name} has no claim template {DATA_TEMPLATE}");
    };
    if requested(template).and_then(|r| bytes(&r)) == bytes(size) {
        return Ok(false);
    }
    let requests = template
        .spec
        .get_or_insert_with(Default::default)
        .resources
        .get_or_insert_with(Default::default)
        .requests
        .get_or_insert_with(Default::default);
    requests.insert("storage".into(), Quantity(size.into()));
    let meta = &mut sts.metadata;
    meta.resource_version = None;
    meta.uid = None;
    meta.creation_timestamp = None;
    meta.generation = None;
    meta.managed_fields = None;
    sts.status = None;
    // Kept where the next run finds it before the StatefulSet goes: interrupted between the
    // delete and the create, re-running `set` creates it (finish_remake).
    keep_for_remake(cluster, Some(&sts)).await?;
    let orphan = DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    statefulsets
        .delete(name, &orphan)
        .await
        .with_context(|| format!("cannot delete StatefulSet {name} (leaving its pods)"))?;
    wait_gone(&statefulsets, name).await?;
    remake(&statefulsets, &sts).await.with_context(|| {
        format!("StatefulSet {name} was deleted (its pods run on) but cannot be made anew with claims of {size}: run `kubectl mysqlha set {name} --storage {size}` again to finish")
    })?;
    keep_for_remake(cluster, None).await?;
    Ok(true)
}

/// Finishes what an interrupted `set --storage` left (before anything else of the cluster is
/// read): the StatefulSet it deleted is created from the copy kept on the ConfigMap. True when
/// there was something to finish.
pub async fn finish_remake(ctx: &Context, name: &str) -> Result<bool> {
    let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let Some(config) = configs
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read ConfigMap {name}"))?
    else {
        return Ok(false);
    };
    let Some(kept) = config
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATEFULSET_BEING_REMADE))
    else {
        return Ok(false);
    };
    let sts: StatefulSet = serde_json::from_str(kept).with_context(|| {
        format!("ConfigMap {name}: annotation {STATEFULSET_BEING_REMADE} holds no StatefulSet")
    })?;
    let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    // Interrupted before the delete, or after the create: nothing to make (what the template
    // asks for is checked again by the run that follows).
    let gone_or_going = match statefulsets
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read StatefulSet {name}"))?
    {
        None => true,
        Some(current) => current.metadata.deletion_timestamp.is_some(),
    };
    if gone_or_going {
        wait_gone(&statefulsets, name).await?;
        remake(&statefulsets, &sts).await.with_context(|| {
            format!("cannot make StatefulSet {name} anew from ConfigMap {name}")
        })?;
    }
    forget_remake(&configs, name).await?;
    Ok(true)
}

/// Creates `sts` (retried for 10 s: the API server may still hold the deleted one's name).
async fn remake(statefulsets: &Api<StatefulSet>, sts: &StatefulSet) -> Result<()> {
    let name = sts.metadata.name.clone().unwrap_or_default();
    let params = PostParams {
        field_manager: Some(crate::manifests::FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    crate::k8s::wait::retry(
        Duration::from_secs(10),
        &format!("re-creating StatefulSet {name}"),
        || async { Ok(statefulsets.create(&params, sts).await?) },
    )
    .await?;
    Ok(())
}

/// Keeps `sts` on the cluster's ConfigMap as the StatefulSet being remade; None removes it.
async fn keep_for_remake(cluster: &Cluster, sts: Option<&StatefulSet>) -> Result<()> {
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    match sts {
        Some(sts) => {
            let kept = serde_json::to_string(sts)?;
            let patch = serde_json::json!({
                "metadata": { "annotations": { STATEFULSET_BEING_REMADE: kept } }
            });
            configs
                .patch(
                    &cluster.name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .with_context(|| {
                    format!(
                        "cannot keep a copy of StatefulSet {} on ConfigMap {}",
                        cluster.name, cluster.name
                    )
                })?;
            Ok(())
        }
        None => forget_remake(&configs, &cluster.name).await,
    }
}

/// Removes the copy of the StatefulSet being remade from ConfigMap `name`.
async fn forget_remake(configs: &Api<ConfigMap>, name: &str) -> Result<()> {
    let patch = serde_json::json!({
        "metadata": { "annotations": { STATEFULSET_BEING_REMADE: null } }
    });
    configs
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!("cannot remove annotation {STATEFULSET_BEING_REMADE} from ConfigMap {name}")
        })?;
    Ok(())
}

/// Waits (up to 60 s) until StatefulSet `name` is gone: an orphaning delete first detaches its
/// pods and claims.
async fn wait_gone(statefulsets: &Api<StatefulSet>, name: &str) -> Result<()> {
    let gone = wait::until_some(
        GONE_LIMIT,
        &format!("StatefulSet {name} is gone"),
        || async {
            let there = statefulsets
                .get_opt(name)
                .await
                .with_context(|| format!("cannot read StatefulSet {name}"))?;
            Ok(there.is_none().then_some(()))
        },
    )
    .await;
    match gone {
        Err(e) if e.is::<wait::TimedOut>() => bail!(
            "StatefulSet {name} is still being deleted after {} s (its pods are detached from it one by one)",
            GONE_LIMIT.as_secs()
        ),
        gone => gone,
    }
}

/// The longest an orphaning delete of the StatefulSet may take.
const GONE_LIMIT: Duration = Duration::from_secs(60);

/// The size a claim holds (its status capacity).
fn capacity(claim: &PersistentVolumeClaim) -> Option<String> {
    let capacity = claim.status.as_ref()?.capacity.as_ref()?;
    Some(capacity.get("storage")?.0.clone())
}

/// A claim's conditions, as ` (TYPE: message; …)`, or nothing.
fn conditions(claim: &PersistentVolumeClaim) -> String {
    let listed: Vec<String> = claim
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .map(|c| format!("{}: {}", c.type_, c.message.clone().unwrap_or_default()))
        .collect();
    if listed.is_empty() {
        String::new()
    } else {
        format!(" ({})", listed.join("; "))
    }
}

/// The size a claim asks for (its request).
fn requested(claim: &PersistentVolumeClaim) -> Option<String> {
    let requests = claim.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?;
    Some(requests.get("storage")?.0.clone())
}

/// A Kubernetes quantity in bytes (`10Gi`, `500M`, `2e9`); None when it is not one.
fn bytes(quantity: &str) -> Option<f64> {
    let end = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(end);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn quantities_in_bytes() {
        assert_eq!(bytes("10Gi"), Some(10.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(bytes("1.5G"), Some(1.5e9));
        assert_eq!(bytes("2e3"), Some(2000.0));
        assert!(bytes("20Gi") > bytes("10Gi") && bytes("10G") < bytes("10Gi"));
        assert_eq!(bytes("10GB"), None);
    }
}

/// Waiting for the volumes, against a scripted API server (time paused).
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{core, ok, Script};

    fn claim(name: &str, asks: &str, holds: &str, condition: Option<&str>) -> serde_json::Value {
        let conditions: Vec<_> = condition
            .map(|m| serde_json::json!({ "type": "Resizing", "status": "True", "message": m }))
            .into_iter()
            .collect();
        serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": { "name": name },
            "spec": { "resources": { "requests": { "storage": asks } } },
            "status": { "capacity": { "storage": holds }, "conditions": conditions },
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_volume_not_expanded_in_time_is_told_with_what_its_claim_holds() {
        let path = core("persistentvolumeclaims", "data-shop-1");
        let (ctx, server) = Script::new()
            .cluster_loaded("shop", 2, "shop-0")
            .get(
                core("persistentvolumeclaims", "data-shop-0"),
                ok(claim("data-shop-0", "2Gi", "2Gi", None)),
            )
            .get(&path, ok(claim("data-shop-1", "2Gi", "1Gi", None)))
            .get(&path, ok(claim("data-shop-1", "2Gi", "1Gi", None)))
            .get(
                &path,
                ok(claim(
                    "data-shop-1",
                    "2Gi",
                    "1Gi",
                    Some("waiting for the driver"),
                )),
            )
            .start_context();
        let cluster = Cluster::load(&ctx, "shop").await.unwrap();
        let names = ["data-shop-0".to_string(), "data-shop-1".to_string()];
        let error = wait_grown(&cluster, &names, "2Gi", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "claim data-shop-1 asks for 2Gi but holds 1Gi after 1s: its volume was not expanded (Resizing: waiting for the driver)"
        );
        server.finish();
    }
}
