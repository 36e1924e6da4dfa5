//! The members' TLS certificates after `create`: a member that `scale` adds needs its own in
//! the credentials Secret before its pod starts (write-config.sh refuses to start without it).
use crate::cluster::Cluster;
use crate::manifests::tls::{member_pods, secret_key, Authority};
use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::Api;

/// The members of 0..count whose certificate is not in `credentials`.
pub fn lacking_certificates(cluster: &str, count: i32, credentials: &Secret) -> Vec<String> {
    let has = |key: &str| {
        credentials
            .data
            .as_ref()
            .is_some_and(|d| d.contains_key(key))
            || credentials
                .string_data
                .as_ref()
                .is_some_and(|d| d.contains_key(key))
    };
    member_pods(cluster, count)
        .into_iter()
        .filter(|pod| {
            !has(&secret_key(&format!("{pod}.crt"))) || !has(&secret_key(&format!("{pod}.key")))
        })
        .collect()
}

/// Issues the certificates members 0..count lack, signed by the cluster's CA (Secret NAME-ca
/// or the user's), into the credentials Secret. Nothing for a cluster without TLS.
pub async fn ensure(cluster: &Cluster, count: i32) -> Result<()> {
    if !cluster.tls.on() {
        return Ok(());
    }
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = format!("{}-credentials", cluster.name);
    let credentials = secrets
        .get(&name)
        .await
        .with_context(|| format!("cannot read Secret {name}"))?;
    let lacking = lacking_certificates(&cluster.name, count, &credentials);
    if lacking.is_empty() {
        return Ok(());
    }
    let ca_name = cluster.config_spec(count, &cluster.primary).ca_secret();
    let ca_secret = secrets.get(&ca_name).await.with_context(|| {
        format!("cannot read Secret {ca_name}, the CA that signs the members' certificates")
    })?;
    let ca = Authority::from_secret(&ca_secret)?;
    let mut entries = ca.member_entries(
        &cluster.name,
        &cluster.namespace,
        &lacking,
        time::OffsetDateTime::now_utc(),
    )?;
    // The CA bundle and the generation are in the Secret already (a rotation may have changed
    // both): only the new members' files are added.
    entries.remove(&secret_key(crate::manifests::tls::CA_CERT_KEY));
    entries.remove(crate::manifests::tls::GENERATION_KEY);
    let patch = serde_json::json!({ "stringData": entries });
    secrets
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!(
                "cannot add the certificates of {} to Secret {name}",
                lacking.join(", ")
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_without_both_files_get_a_certificate() {
        let mut secret = Secret::default();
        secret.data = Some(
            [
                "tls-ca.crt",
                "tls-shop-0.crt",
                "tls-shop-0.key",
                "tls-shop-1.crt",
            ]
            .iter()
            .map(|k| (k.to_string(), k8s_openapi::ByteString(vec![1])))
            .collect(),
        );
        assert_eq!(
            lacking_certificates("shop", 3, &secret),
            ["shop-1", "shop-2"]
        );
        assert!(lacking_certificates("shop", 1, &secret).is_empty());
    }
}
