use super::{metadata, ClusterSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// ConfigMap key holding the pod name of the primary of record.
pub const PRIMARY_KEY: &str = "primary";

/// Settings of every member: any replica can be promoted, so all keep GTID binary logs. The redo
/// log is sized for backups under load: mariadb-backup copies it while the donor writes, and
/// fails ("was only able to copy log ... try increasing innodb_log_file_size") once the donor
/// writes more than the log holds before the copy catches up; seen with 96M (the default) on a
/// replica applying a 1 GB load.
const COMMON_CNF: &str = "\
[mysqld]
innodb_log_file_size=512M
log_bin=mysql-bin
log_bin_index=mysql-bin.index
relay_log=relay-bin
relay_log_index=relay-bin.index
log_slave_updates=ON
binlog_format=ROW
gtid_strict_mode=ON
sync_binlog=1
innodb_flush_log_at_trx_commit=1
skip_name_resolve=ON
slave_net_timeout=10
character_set_server=utf8mb4
";

/// ConfigMap key holding the durability mode ("semi-sync" or "async").
pub const DURABILITY_KEY: &str = "durability";

/// Semi-synchronous replication, AFTER_SYNC: the primary acknowledges a commit only once a
/// replica has it, and never falls back to asynchronous on its own (the timeout is ~49 days).
/// Every member acknowledges as a replica, so a crashed primary that restarts as a replica
/// truncates the transactions no replica acknowledged. Only the primary waits for
/// acknowledgements (a replica that waited would block its own SQL thread), and a lone primary
/// cannot wait for anyone. A replica that stops its IO thread asks the primary to end its dump
/// thread over a new connection; against a dead primary that costs this timeout (the default,
/// 5 s for the connect and 5 s for the answer, doubled a failover's time).
pub fn semi_sync_cnf(spec: &ClusterSpec, primary: bool) -> String {
    let wait_for_replicas = primary && spec.semi_sync && spec.replicas > 1;
    format!(
        "rpl_semi_sync_slave_enabled=ON\nrpl_semi_sync_slave_kill_conn_timeout={KILL_CONN_TIMEOUT_S}\nrpl_semi_sync_master_wait_point=AFTER_SYNC\nrpl_semi_sync_master_timeout={}\nrpl_semi_sync_master_enabled={}\n",
        SEMI_SYNC_TIMEOUT_MS,
        if wait_for_replicas { "ON" } else { "OFF" }
    )
}

/// Seconds a stopping replica waits for the primary when it ends its dump thread (0 would be
/// no limit at all).
pub const KILL_CONN_TIMEOUT_S: u32 = 1;

/// The longest wait MariaDB allows: in effect, never fall back to asynchronous replication.
pub const SEMI_SYNC_TIMEOUT_MS: u64 = 4_294_967_295;

pub fn primary_cnf(spec: &ClusterSpec) -> String {
    format!(
        "{COMMON_CNF}{}# role: primary, the only member that takes writes\nread_only=OFF\n",
        semi_sync_cnf(spec, true)
    )
}

pub fn replica_cnf(spec: &ClusterSpec) -> String {
    format!(
        "{COMMON_CNF}{}# role: replica, writes only through replication\nread_only=ON\n",
        semi_sync_cnf(spec, false)
    )
}

pub fn config_map(spec: &ClusterSpec) -> ConfigMap {
    // What pods run on their own. The scripts the plugin runs in pods travel with the plugin
    // (see clone::OPERATION_SCRIPTS), so a cluster made by an older plugin never lacks them.
    let scripts = [
        ("init.sh", include_str!("scripts/init.sh")),
        ("write-config.sh", include_str!("scripts/write-config.sh")),
        ("start.sh", include_str!("scripts/start.sh")),
        ("wait-for-data.sh", include_str!("scripts/wait-for-data.sh")),
        ("probe.sh", include_str!("scripts/probe.sh")),
    ];
    let mut data = BTreeMap::from([
        ("primary.cnf".to_string(), primary_cnf(spec)),
        ("replica.cnf".to_string(), replica_cnf(spec)),
        (PRIMARY_KEY.to_string(), spec.primary.clone()),
        (
            DURABILITY_KEY.to_string(),
            if spec.semi_sync { "semi-sync" } else { "async" }.to_string(),
        ),
    ]);
    data.extend(scripts.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ConfigMap {
        metadata: metadata(spec, spec.name.clone()),
        data: Some(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_files_are_the_names_init_reads() {
        let cm = config_map(&crate::manifests::test_spec());
        let data = cm.data.unwrap();
        let init = &data["write-config.sh"];
        assert!(init.contains("/etc/mysqlha/config/${role}.cnf"));
        assert!(data.contains_key("primary.cnf") && data.contains_key("replica.cnf"));
        assert_eq!(data[PRIMARY_KEY], "shop-0");
    }

    #[test]
    fn replicas_are_read_only_and_everyone_logs_gtid() {
        let spec = crate::manifests::test_spec();
        assert!(replica_cnf(&spec).contains("read_only=ON"));
        assert!(primary_cnf(&spec).contains("read_only=OFF"));
        for cnf in [primary_cnf(&spec), replica_cnf(&spec)] {
            for key in [
                "log_bin=",
                "log_slave_updates=ON",
                "gtid_strict_mode=ON",
                "binlog_format=ROW",
                "sync_binlog=1",
            ] {
                assert!(cnf.contains(key), "{key}");
            }
        }
    }
}

#[cfg(test)]
mod semi_sync_tests {
    use super::*;

    #[test]
    fn semi_sync_after_sync_without_fallback_unless_alone_or_opted_out() {
        let mut spec = crate::manifests::test_spec();
        let cnf = primary_cnf(&spec);
        assert!(cnf.contains("rpl_semi_sync_master_enabled=ON"));
        assert!(cnf.contains("rpl_semi_sync_master_wait_point=AFTER_SYNC"));
        assert!(cnf.contains("rpl_semi_sync_master_timeout=4294967295"));
        assert!(replica_cnf(&spec).contains("rpl_semi_sync_master_enabled=OFF"));
        assert!(replica_cnf(&spec).contains("rpl_semi_sync_slave_enabled=ON"));
        spec.replicas = 1;
        assert!(primary_cnf(&spec).contains("rpl_semi_sync_master_enabled=OFF"));
        spec.replicas = 3;
        spec.semi_sync = false;
        assert!(primary_cnf(&spec).contains("rpl_semi_sync_master_enabled=OFF"));
        assert_eq!(config_map(&spec).data.unwrap()[DURABILITY_KEY], "async");
    }
}
