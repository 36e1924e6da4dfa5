use super::{metadata, ClusterSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// ConfigMap key holding the pod name of the primary of record.
pub const PRIMARY_KEY: &str = "primary";

/// Settings of every member: any replica can be promoted, so all keep GTID binary logs.
const COMMON_CNF: &str = "\
[mysqld]
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

pub fn primary_cnf() -> String {
    format!("{COMMON_CNF}# role: primary, the only member that takes writes\nread_only=OFF\n")
}

pub fn replica_cnf() -> String {
    format!("{COMMON_CNF}# role: replica, writes only through replication\nread_only=ON\n")
}

pub fn config_map(spec: &ClusterSpec) -> ConfigMap {
    let scripts = [
        ("init.sh", include_str!("scripts/init.sh")),
        ("wait-for-data.sh", include_str!("scripts/wait-for-data.sh")),
        ("bootstrap.sh", include_str!("scripts/bootstrap.sh")),
        ("start-clone.sh", include_str!("scripts/start-clone.sh")),
        ("finish-clone.sh", include_str!("scripts/finish-clone.sh")),
        ("probe.sh", include_str!("scripts/probe.sh")),
    ];
    let mut data = BTreeMap::from([
        ("primary.cnf".to_string(), primary_cnf()),
        ("replica.cnf".to_string(), replica_cnf()),
        (PRIMARY_KEY.to_string(), spec.primary.clone()),
    ]);
    data.extend(scripts.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ConfigMap { metadata: metadata(spec, spec.name.clone()), data: Some(data), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_files_are_the_names_init_reads() {
        let cm = config_map(&crate::manifests::test_spec());
        let data = cm.data.unwrap();
        let init = &data["init.sh"];
        assert!(init.contains("/etc/mysqlha/config/${role}.cnf"));
        assert!(data.contains_key("primary.cnf") && data.contains_key("replica.cnf"));
        assert_eq!(data[PRIMARY_KEY], "shop-0");
    }

    #[test]
    fn replicas_are_read_only_and_everyone_logs_gtid() {
        assert!(replica_cnf().contains("read_only=ON"));
        assert!(primary_cnf().contains("read_only=OFF"));
        for cnf in [primary_cnf(), replica_cnf()] {
            for key in ["log_bin=", "log_slave_updates=ON", "gtid_strict_mode=ON", "binlog_format=ROW", "sync_binlog=1"] {
                assert!(cnf.contains(key), "{key}");
            }
        }
    }
}
