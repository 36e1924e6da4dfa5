//! ConfigMap NAME-backup: where cluster NAME's backups go (`backup enable`). The key itself
//! stays in the user's Secret, named here.
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const STORE_KEY: &str = "store";
pub const ENDPOINT_KEY: &str = "endpoint";
pub const CREDENTIALS_KEY: &str = "credentials";
/// The last base backup taken (written by `backup NAME` once its manifest is in the store).
pub const LAST_ID_KEY: &str = "last-backup-id";
pub const LAST_FINISHED_KEY: &str = "last-backup-finished";
pub const LAST_BYTES_KEY: &str = "last-backup-bytes";
pub const LAST_GTID_KEY: &str = "last-backup-gtid";
/// How often the agent takes a base backup, and how long backups are kept (seconds).
pub const EVERY_KEY: &str = "every-seconds";
pub const KEEP_KEY: &str = "keep-seconds";

/// `7d`, `24h`, `90m`, `45s`: the largest unit that divides `secs`.
pub fn period_text(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// The name of cluster `cluster`'s backup ConfigMap.
pub fn config_name(cluster: &str) -> String {
    format!("{cluster}-backup")
}

/// Where a cluster's backups go, and the last one taken.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct BackupConfig {
    /// s3://BUCKET/PREFIX
    pub store: String,
    pub endpoint: Option<String>,
    /// The Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    pub credentials: String,
    pub last: Option<LastBackup>,
    /// A base backup every this many seconds, taken by the agent (None: only on demand).
    pub every_seconds: Option<u64>,
    /// Base backups (and the archive they need) kept this many seconds (None: all).
    pub keep_seconds: Option<u64>,
}

/// The last base backup taken, as `backup NAME` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LastBackup {
    pub id: String,
    pub finished: String,
    pub bytes: u64,
    pub gtid: String,
}

/// The merge patch that records `last` on the backup ConfigMap.
pub fn last_backup_patch(last: &LastBackup) -> serde_json::Value {
    serde_json::json!({"data": {
        LAST_ID_KEY: last.id,
        LAST_FINISHED_KEY: last.finished,
        LAST_BYTES_KEY: last.bytes.to_string(),
        LAST_GTID_KEY: last.gtid,
    }})
}

impl BackupConfig {
    /// `s3://b/p at http://… (key from Secret s3); last backup ID at TIME (N bytes, GTID g)`.
    pub fn describe(&self) -> String {
        let mut out = self.store.clone();
        if let Some(endpoint) = &self.endpoint {
            out += &format!(" at {endpoint}");
        }
        out += &format!(" (key from Secret {})", self.credentials);
        if let Some(every) = self.every_seconds {
            out += &format!(", every {}", period_text(every));
        }
        if let Some(keep) = self.keep_seconds {
            out += &format!(", kept {}", period_text(keep));
        }
        match &self.last {
            Some(last) => {
                out += &format!(
                    "; last backup {} at {} ({} bytes, GTID {})",
                    last.id, last.finished, last.bytes, last.gtid
                )
            }
            None => out += "; no backup taken yet",
        }
        out
    }
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
    if let Some(every) = config.every_seconds {
        data.insert(EVERY_KEY.to_string(), every.to_string());
    }
    if let Some(keep) = config.keep_seconds {
        data.insert(KEEP_KEY.to_string(), keep.to_string());
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
    let last = (|| {
        Some(LastBackup {
            id: data.get(LAST_ID_KEY)?.clone(),
            finished: data.get(LAST_FINISHED_KEY)?.clone(),
            bytes: data.get(LAST_BYTES_KEY)?.parse().ok()?,
            gtid: data.get(LAST_GTID_KEY)?.clone(),
        })
    })();
    Some(BackupConfig {
        store: data.get(STORE_KEY)?.clone(),
        endpoint: data.get(ENDPOINT_KEY).cloned(),
        credentials: data.get(CREDENTIALS_KEY)?.clone(),
        last,
        every_seconds: data.get(EVERY_KEY).and_then(|v| v.parse().ok()),
        keep_seconds: data.get(KEEP_KEY).and_then(|v| v.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_in_their_largest_unit() {
        for (secs, text) in [
            (604_800, "7d"),
            (86_400, "1d"),
            (7_200, "2h"),
            (5_400, "90m"),
            (61, "61s"),
        ] {
            assert_eq!(period_text(secs), text);
        }
    }

    #[test]
    fn a_schedule_reads_back_as_written() {
        let config = BackupConfig {
            store: "s3://b/p".into(),
            credentials: "k".into(),
            every_seconds: Some(86_400),
            keep_seconds: Some(604_800),
            ..Default::default()
        };
        let back = read_config(&config_map("shop", "ns", &config)).unwrap();
        assert_eq!(back, config);
        assert!(
            back.describe().contains(", every 1d, kept 7d"),
            "{}",
            back.describe()
        );
    }

    #[test]
    fn a_backup_config_reads_back_as_written_and_is_the_plugins() {
        let config = BackupConfig {
            store: "s3://b/p".into(),
            endpoint: Some("http://10.0.0.1:9000".into()),
            credentials: "shop-s3".into(),
            last: None,
            ..Default::default()
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

    #[test]
    fn the_last_backup_is_recorded_by_a_patch_and_described() {
        let config = BackupConfig {
            store: "s3://b/p".into(),
            endpoint: None,
            credentials: "s3".into(),
            last: None,
            ..Default::default()
        };
        assert_eq!(
            config.describe(),
            "s3://b/p (key from Secret s3); no backup taken yet"
        );
        let last = LastBackup {
            id: "20261206T100000Z".into(),
            finished: "2026-12-06T10:00:09Z".into(),
            bytes: 42,
            gtid: "0-1-7".into(),
        };
        let mut cm = config_map("shop", "ns", &config);
        let patch = last_backup_patch(&last);
        for (k, v) in patch["data"].as_object().unwrap() {
            cm.data
                .as_mut()
                .unwrap()
                .insert(k.clone(), v.as_str().unwrap().to_string());
        }
        let read = read_config(&cm).unwrap();
        assert_eq!(read.last, Some(last));
        assert_eq!(
            read.describe(),
            "s3://b/p (key from Secret s3); last backup 20261206T100000Z at 2026-12-06T10:00:09Z (42 bytes, GTID 0-1-7)"
        );
    }
}
