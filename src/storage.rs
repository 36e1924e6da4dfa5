//! Growing the members' data volumes (`set --storage SIZE`): every member's claim is asked for
//! the new size. Whether a volume can grow is the StorageClass's to say (allowVolumeExpansion):
//! the API server refuses the claim's change otherwise, so every claim is first changed as a
//! server-side dry run, and a refusal (or a smaller size: volumes never shrink) changes nothing.
//! The StatefulSet's claim template cannot change: members added later get the size it names.
use crate::cluster::Cluster;
use crate::placement::data_claim;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Patch, PatchParams};
use kube::Api;

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
    let mut params = PatchParams::default();
    params.dry_run = dry_run;
    match claims.patch(name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if dry_run => bail!(
            "claim {name} cannot grow to {size}: {}; nothing changed",
            e.message
        ),
        Err(e) => Err(e).with_context(|| format!("cannot grow claim {name} to {size}")),
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
