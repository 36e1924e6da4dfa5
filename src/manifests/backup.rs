//! ConfigMap NAME-backup: where cluster NAME's backups go (`backup enable`). The key itself
//! stays in the user's Secret, named here.
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const STORE_KEY: &str = "store";
pub const ENDPOINT_KEY: &str = "endpoint";
pub const CREDENTIALS_KEY: &str = "credentials";

/// The name of cluster `cluster`'s backup ConfigMap.
pub fn config_name(cluster: &str) -> String {
    format!("{cluster}-backup")
}

/// Where a cluster's backups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// s3://BUCKET/PREFIX
    pub store: String,
    pub endpoint: Option<String>,
    /// The Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    pub credentials: String,
}

pub fn config_map(cluster: &str, namespace: &str, config: &BackupConfig) -> ConfigMap {
    let mut labels = super::labels(cluster);
    labels.insert("app.kubernetes.io/component".into(), "backup".into());
    let mut data = BTreeMap::from([
        (STORE_KEY.to_string(), config.store.clone()),
        (CREDENTIALS_KEY.to_string(), config.credentials.clone()),
    ]);
    if let Some(endpoint) = &config.endpoint {
        data.insert(ENDPOINT_KEY.to_string(), endpoint.clone());
    }
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(config_name(cluster)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    }
}

/// Reads a backup ConfigMap back; None when it lacks the store or the Secret's name.
pub fn read_config(config_map: &ConfigMap) -> Option<BackupConfig> {
    let data = config_map.data.as_ref()?;
    Some(BackupConfig {
        store: data.get(STORE_KEY)?.clone(),
        endpoint: data.get(ENDPOINT_KEY).cloned(),
        credentials: data.get(CREDENTIALS_KEY)?.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_config_reads_back_as_written_and_is_the_plugins() {
        let config = BackupConfig {
            store: "s3://b/p".into(),
            endpoint: Some("http://10.0.0.1:9000".into()),
            credentials: "shop-s3".into(),
        };
        let cm = config_map("shop", "ns", &config);
        assert_eq!(cm.metadata.name.as_deref(), Some("shop-backup"));
        assert!(super::super::is_managed(&cm.metadata));
        assert_eq!(read_config(&cm), Some(config.clone()));
        let without_endpoint = BackupConfig {
            endpoint: None,
            ..config
        };
        assert_eq!(
            read_config(&config_map("shop", "ns", &without_endpoint)),
            Some(without_endpoint)
        );
        assert_eq!(read_config(&ConfigMap::default()), None);
    }
}
