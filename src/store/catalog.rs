//! What a cluster's backups are in the object store, and which one a restore takes.
//!
//! Layout under the store's prefix, per cluster NAME:
//! `NAME/base/ID/data` (the backup stream: MariaDB xbstream, MySQL a tar of a clone) and
//! `NAME/base/ID/manifest.json`, written last: a base backup without its manifest is
//! incomplete (interrupted) and is never restored. ID is the UTC time it began
//! (`20261206T213700Z`), so IDs sort by time.
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

pub use crate::db::engine::BackupFormat as Format;

/// What a base backup says of itself (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub id: String,
    pub cluster: String,
    /// "mariadb" or "mysql".
    pub engine: String,
    /// The donor server's version string.
    pub server_version: String,
    pub format: Format,
    pub donor: String,
    /// A GTID position every transaction of which the backup holds (the donor's applied
    /// position when the backup began; the backup holds at least that).
    pub gtid: String,
    /// The donor's applied position when the backup ended: the backup holds at most that
    /// (empty in backups taken before it was recorded).
    #[serde(default)]
    pub gtid_end: String,
    /// The archive's last segment when the backup began (0: no archive then): the runs that
    /// ended before it are what retention may delete once this backup is the oldest kept.
    #[serde(default)]
    pub archive_seq: u64,
    pub started: String,
    pub finished: String,
    pub bytes: u64,
    pub sha256: String,
    /// The user tables (`schema.table`) the donor held when the backup began.
    pub tables: Vec<String>,
}

/// The key of a base backup's data object.
pub fn data_key(cluster: &str, id: &str) -> String {
    format!("{cluster}/base/{id}/data")
}

/// The key of a base backup's manifest.
pub fn manifest_key(cluster: &str, id: &str) -> String {
    format!("{cluster}/base/{id}/manifest.json")
}

/// Where a cluster's base backups are listed from.
pub fn base_dir(cluster: &str) -> String {
    format!("{cluster}/base")
}

/// A backup ID for a backup beginning at `time` (RFC 3339, UTC).
pub fn id_at(time: &str) -> Result<String> {
    let t: k8s_openapi::jiff::Timestamp = time
        .parse()
        .with_context(|| format!("{time} is not an RFC 3339 time"))?;
    Ok(t.strftime("%Y%m%dT%H%M%SZ").to_string())
}

/// The time (RFC 3339) a backup ID names (`20261206T213700Z`), if it is one.
pub fn id_time(id: &str) -> Option<String> {
    let t = k8s_openapi::jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", id).ok()?;
    Some(format!("{}Z", t.strftime("%Y-%m-%dT%H:%M:%S")))
}

/// A base backup as listed: complete (its manifest read) or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    Complete(Box<Manifest>),
    /// Data without a manifest: interrupted, or still being written.
    Incomplete {
        id: String,
        bytes: u64,
    },
}

impl Listed {
    pub fn id(&self) -> &str {
        match self {
            Listed::Complete(m) => &m.id,
            Listed::Incomplete { id, .. } => id,
        }
    }
}

/// The IDs of base backups under `base_dir(cluster)`, from a listing's keys (relative to the
/// store's prefix), each with whether it has a manifest and its data's size.
pub fn ids_in_listing(cluster: &str, keys: &[(String, u64)]) -> Vec<(String, bool, u64)> {
    let dir = format!("{}/", base_dir(cluster));
    let mut found: std::collections::BTreeMap<String, (bool, u64)> = Default::default();
    for (key, size) in keys {
        let Some(rest) = key.strip_prefix(&dir) else {
            continue;
        };
        let Some((id, file)) = rest.split_once('/') else {
            continue;
        };
        let entry = found.entry(id.to_string()).or_default();
        match file {
            "manifest.json" => entry.0 = true,
            "data" => entry.1 = *size,
            _ => {}
        }
    }
    found.into_iter().map(|(id, (m, b))| (id, m, b)).collect()
}

/// The backup a restore takes: `id` when given (it must be complete), else the newest complete
/// one. `backups` may be in any order.
pub fn choose<'a>(cluster: &str, backups: &'a [Listed], id: Option<&str>) -> Result<&'a Manifest> {
    let complete = || {
        backups.iter().filter_map(|b| match b {
            Listed::Complete(m) => Some(m.as_ref()),
            Listed::Incomplete { .. } => None,
        })
    };
    match id {
        Some(id) => match backups.iter().find(|b| b.id() == id) {
            Some(Listed::Complete(m)) => Ok(m.as_ref()),
            Some(Listed::Incomplete { .. }) => bail!(
                "backup {id} of cluster {cluster} is incomplete (it has no manifest: interrupted or still being written)"
            ),
            None => bail!(
                "cluster {cluster} has no backup {id} (see kubectl mysqlha backup list {cluster})"
            ),
        },
        None => complete()
            .max_by(|a, b| a.id.cmp(&b.id))
            .with_context(|| format!("cluster {cluster} has no complete base backup")),
    }
}

/// The base backup a restore to `target` starts from: `id` when given, else the newest
/// complete one that holds nothing after the target (finished before the time; its end
/// position within the GTID target). `holds_at_most(manifest, gtid)`: the backup's end
/// position is within `gtid` (the engine decides).
pub fn choose_for<'a>(
    cluster: &str,
    backups: &'a [Listed],
    id: Option<&str>,
    target: &super::archive::Target,
    holds_at_most: impl Fn(&Manifest, &str) -> bool,
) -> Result<&'a Manifest> {
    use super::archive::Target;
    if id.is_some() || *target == Target::Latest {
        return choose(cluster, backups, id);
    }
    let fits = |m: &Manifest| match target {
        Target::Latest => true,
        Target::Time(t) => m
            .finished
            .parse::<k8s_openapi::jiff::Timestamp>()
            .is_ok_and(|f| f <= *t),
        Target::Gtid(g) => holds_at_most(m, g),
    };
    backups
        .iter()
        .filter_map(|b| match b {
            Listed::Complete(m) => Some(m.as_ref()),
            Listed::Incomplete { .. } => None,
        })
        .filter(|m| fits(m))
        .max_by(|a, b| a.id.cmp(&b.id))
        .with_context(|| {
            format!(
                "cluster {cluster} has no complete base backup from before {} (see kubectl mysqlha backup list {cluster})",
                target.describe()
            )
        })
}

/// The span a restore to a time may target: from the end of the oldest complete base backup to
/// when the archive was last current (`archive_current_at`); None without an archive or a
/// complete backup.
pub fn window(backups: &[Listed], archive_current_at: Option<&str>) -> Option<(String, String)> {
    let current = archive_current_at.filter(|c| !c.is_empty())?;
    let oldest = backups
        .iter()
        .filter_map(|b| match b {
            Listed::Complete(m) => Some(m.as_ref()),
            Listed::Incomplete { .. } => None,
        })
        .min_by(|a, b| a.id.cmp(&b.id))?;
    Some((oldest.finished.clone(), current.to_string()))
}

/// The tables a restored server lacks of those its backup recorded.
pub fn missing_tables(recorded: &[String], restored: &[String]) -> Vec<String> {
    recorded
        .iter()
        .filter(|t| !restored.contains(t))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(id: &str) -> Manifest {
        Manifest {
            id: id.into(),
            cluster: "shop".into(),
            engine: "mariadb".into(),
            server_version: "10.11.14-MariaDB".into(),
            format: Format::Xbstream,
            donor: "shop-1".into(),
            gtid: "0-1-10".into(),
            gtid_end: "0-1-12".into(),
            archive_seq: 0,
            started: "2026-12-06T21:37:00Z".into(),
            finished: "2026-12-06T21:37:09Z".into(),
            bytes: 1024,
            sha256: "ab".into(),
            tables: vec!["app.t".into()],
        }
    }

    #[test]
    fn backup_ids_are_utc_times_that_sort() {
        assert_eq!(
            id_at("2026-12-06T21:37:00.123Z").unwrap(),
            "20261206T213700Z"
        );
        assert_eq!(
            id_at("2026-12-06T22:37:00+01:00").unwrap(),
            "20261206T213700Z"
        );
        assert!(id_at("yesterday").is_err());
        assert_eq!(
            data_key("shop", "20261206T213700Z"),
            "shop/base/20261206T213700Z/data"
        );
    }

    #[test]
    fn a_listing_tells_complete_backups_from_interrupted_ones() {
        let keys = vec![
            ("shop/base/20261206T100000Z/data".to_string(), 500),
            ("shop/base/20261206T100000Z/manifest.json".to_string(), 10),
            ("shop/base/20261206T110000Z/data".to_string(), 70),
            ("shopping/base/20261206T120000Z/data".to_string(), 1),
            ("shop/binlog/x".to_string(), 1),
        ];
        assert_eq!(
            ids_in_listing("shop", &keys),
            vec![
                ("20261206T100000Z".to_string(), true, 500),
                ("20261206T110000Z".to_string(), false, 70)
            ]
        );
    }

    #[test]
    fn a_restore_takes_the_newest_complete_backup_or_the_one_named() {
        let backups = vec![
            Listed::Complete(Box::new(manifest("20261206T100000Z"))),
            Listed::Incomplete {
                id: "20261206T130000Z".into(),
                bytes: 5,
            },
            Listed::Complete(Box::new(manifest("20261206T120000Z"))),
            Listed::Complete(Box::new(manifest("20261206T110000Z"))),
        ];
        assert_eq!(
            choose("shop", &backups, None).unwrap().id,
            "20261206T120000Z"
        );
        assert_eq!(
            choose("shop", &backups, Some("20261206T100000Z"))
                .unwrap()
                .id,
            "20261206T100000Z"
        );
        assert_eq!(
            choose("shop", &backups, Some("20261206T130000Z"))
                .unwrap_err()
                .to_string(),
            "backup 20261206T130000Z of cluster shop is incomplete (it has no manifest: interrupted or still being written)"
        );
        assert_eq!(
            choose("shop", &backups, Some("20991206T130000Z"))
                .unwrap_err()
                .to_string(),
            "cluster shop has no backup 20991206T130000Z (see kubectl mysqlha backup list shop)"
        );
        assert_eq!(
            choose("shop", &[], None).unwrap_err().to_string(),
            "cluster shop has no complete base backup"
        );
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let m = manifest("20261206T100000Z");
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains("\"format\":\"xbstream\""), "{text}");
        assert!(text.contains("\"serverVersion\""), "{text}");
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }

    #[test]
    fn a_restore_that_lacks_a_recorded_table_is_told() {
        let recorded = vec!["app.a".to_string(), "app.b".to_string()];
        assert!(
            missing_tables(&recorded, &["app.a".into(), "app.b".into(), "app.c".into()]).is_empty()
        );
        assert_eq!(missing_tables(&recorded, &["app.a".into()]), vec!["app.b"]);
    }

    #[test]
    fn a_restore_to_a_point_starts_from_the_newest_backup_before_it() {
        use crate::store::archive::Target;
        let mut a = manifest("20261206T100000Z");
        a.finished = "2026-12-06T10:05:00Z".into();
        a.gtid_end = "0-1-10".into();
        let mut b = manifest("20261206T120000Z");
        b.finished = "2026-12-06T12:05:00Z".into();
        b.gtid_end = "0-1-20".into();
        let backups = vec![
            Listed::Complete(Box::new(a)),
            Listed::Complete(Box::new(b)),
            Listed::Incomplete {
                id: "20261206T130000Z".into(),
                bytes: 5,
            },
        ];
        let within = |m: &Manifest, g: &str| {
            let end: u64 = m.gtid_end.rsplit('-').next().unwrap().parse().unwrap();
            let target: u64 = g.rsplit('-').next().unwrap().parse().unwrap();
            end <= target
        };
        let time = |t: &str| Target::Time(t.parse().unwrap());
        for (target, chosen) in [
            (time("2026-12-06T11:00:00Z"), "20261206T100000Z"),
            (time("2026-12-06T12:05:00Z"), "20261206T120000Z"),
            (time("2026-12-07T00:00:00Z"), "20261206T120000Z"),
            (Target::Gtid("0-1-15".into()), "20261206T100000Z"),
            (Target::Gtid("0-1-20".into()), "20261206T120000Z"),
            (Target::Latest, "20261206T120000Z"),
        ] {
            let m = choose_for("shop", &backups, None, &target, within).unwrap();
            assert_eq!(m.id, chosen, "{target:?}");
        }
        let e = choose_for(
            "shop",
            &backups,
            None,
            &time("2026-12-06T10:00:00Z"),
            within,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no complete base backup from before"), "{e}");
    }

    #[test]
    fn the_window_runs_from_the_oldest_backups_end_to_the_archives_last_current_time() {
        let mut a = manifest("20261206T100000Z");
        a.finished = "2026-12-06T10:05:00Z".into();
        let b = manifest("20261206T120000Z");
        let listed = vec![Listed::Complete(Box::new(b)), Listed::Complete(Box::new(a))];
        assert_eq!(
            window(&listed, Some("2026-12-07T01:00:00Z")),
            Some(("2026-12-06T10:05:00Z".into(), "2026-12-07T01:00:00Z".into()))
        );
        assert_eq!(window(&listed, None), None);
        assert_eq!(window(&[], Some("2026-12-07T01:00:00Z")), None);
    }
}
