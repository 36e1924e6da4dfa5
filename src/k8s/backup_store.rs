//! Opening a cluster's object store from what `backup enable` recorded: ConfigMap NAME-backup
//! names the store and the Secret whose AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY open it.
use crate::manifests::backup::BackupConfig;
use crate::store::{Credentials, Store, StoreUrl};
use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// The key in Secret `name`: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
async fn credentials(client: &kube::Client, namespace: &str, name: &str) -> Result<Credentials> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read Secret {name}"))?
        .with_context(|| format!("Secret {name} not found in namespace {namespace}"))?;
    let data = secret.data.unwrap_or_default();
    let value = |key: &str| -> Result<String> {
        let bytes = data
            .get(key)
            .with_context(|| format!("Secret {name} has no key {key}"))?;
        String::from_utf8(bytes.0.clone())
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .with_context(|| format!("Secret {name}: {key} is empty or not text"))
    };
    Ok(Credentials {
        access_key_id: value("AWS_ACCESS_KEY_ID")?,
        secret_access_key: value("AWS_SECRET_ACCESS_KEY")?,
    })
}

/// Opens the store `config` names.
pub async fn open(client: &kube::Client, namespace: &str, config: &BackupConfig) -> Result<Store> {
    let url = StoreUrl::parse(&config.store)?;
    let key = credentials(client, namespace, &config.credentials).await?;
    Store::open(&url, config.endpoint.as_deref(), &key)
}
