//! MySQL (9.7 LTS): clones by MySQL's clone plugin over TLS, `uuid:intervals` GTID sets,
//! super_read_only on replicas (no account writes there, root and the plugin included),
//! replication by SOURCE_AUTO_POSITION over TLS (caching_sha2_password needs it).
use super::{Gtids, Replication, ServerState, TlsFiles};
use crate::db::gtid_set::GtidSet;
use crate::db::sqltext::{non_null, quote, Row};
use anyhow::{bail, Context, Result};

/// Settings of every member: GTIDs, binary logs with replica updates on every member (any
/// replica can be promoted), the clone and semi-sync plugins, durable commits.
const COMMON_CNF: &str = "\
[mysqld]
plugin-load-add=mysql_clone.so;semisync_source.so;semisync_replica.so;auth_socket.so
gtid_mode=ON
enforce_gtid_consistency=ON
log_bin=mysql-bin
log_replica_updates=ON
relay_log=relay-bin
sync_binlog=1
innodb_flush_log_at_trx_commit=1
innodb_redo_log_capacity=512M
skip_name_resolve=ON
replica_net_timeout=10
character_set_server=utf8mb4
mysqlx=OFF
pid_file=/run/mysqld/mysqld.pid
";

/// The longest acknowledgement wait MySQL takes: in effect, never fall back to asynchronous
/// replication (with the default of 10 s a commit waits 10 s, then the primary silently stops
/// waiting for replicas).
pub const SEMI_SYNC_TIMEOUT_MS: u64 = 4_294_967_295;

/// AFTER_SYNC, no silent fallback: a commit returns only once a replica has it; the primary
/// keeps waiting while no replica is connected (wait_no_replica). `loose-`: the plugins that
/// own these settings are not loaded while `mysqld --initialize` runs.
fn semi_sync_cnf(waits: bool) -> String {
    format!(
        "loose-rpl_semi_sync_replica_enabled=ON\nloose-rpl_semi_sync_source_wait_point=AFTER_SYNC\nloose-rpl_semi_sync_source_timeout={SEMI_SYNC_TIMEOUT_MS}\nloose-rpl_semi_sync_source_wait_for_replica_count=1\nloose-rpl_semi_sync_source_wait_no_replica=ON\nloose-rpl_semi_sync_source_enabled={}\n",
        if waits { "ON" } else { "OFF" }
    )
}

pub fn role_cnf(semi_sync_waits: bool, primary: bool) -> String {
    if primary {
        format!(
            "{COMMON_CNF}{}# role: primary, the only member that takes writes\nsuper_read_only=OFF\nread_only=OFF\n",
            semi_sync_cnf(semi_sync_waits)
        )
    } else {
        format!(
            "{COMMON_CNF}{}# role: replica, writes only through replication (no account writes here)\nread_only=ON\nsuper_read_only=ON\n",
            semi_sync_cnf(false)
        )
    }
}

pub const POD_SCRIPTS: &[(&str, &str)] = &[
    (
        "start.sh",
        include_str!("../../manifests/scripts/mysql/start.sh"),
    ),
    (
        "probe.sh",
        include_str!("../../manifests/scripts/mysql/probe.sh"),
    ),
];

pub const OPERATION_SCRIPTS: &[(&str, &str)] = &[
    (
        "bootstrap.sh",
        include_str!("../../manifests/scripts/mysql/bootstrap.sh"),
    ),
    (
        "clone.sh",
        include_str!("../../manifests/scripts/mysql/clone.sh"),
    ),
    (
        "backup-local.sh",
        include_str!("../../manifests/scripts/mysql/backup-local.sh"),
    ),
    (
        "restore.sh",
        include_str!("../../manifests/scripts/mysql/restore.sh"),
    ),
    (
        "finish-restore.sh",
        include_str!("../../manifests/scripts/mysql/finish-restore.sh"),
    ),
];

pub const STATE_STATEMENTS: [&str; 2] = [
    "SELECT @@read_only AS read_only, @@gtid_executed AS executed, @@version AS version;",
    "SHOW REPLICA STATUS;",
];

pub fn parse_state(variables: &[Row], replica: &[Row]) -> Result<ServerState> {
    let Some(v) = variables.first() else {
        bail!("no answer to SELECT @@read_only")
    };
    let get = |row: &Row, k: &str| row.get(k).cloned().unwrap_or_default();
    let executed: GtidSet = get(v, "executed")
        .parse()
        .context("cannot read @@gtid_executed")?;
    let replication = match replica.first() {
        Some(row) if !get(row, "Source_Host").is_empty() => {
            let retrieved: GtidSet = get(row, "Retrieved_Gtid_Set").parse().unwrap_or_default();
            Some(Replication {
                source_host: get(row, "Source_Host"),
                receiver: super::Receiver::parse(&get(row, "Replica_IO_Running")),
                applier: super::Applier::parse(&get(row, "Replica_SQL_Running")),
                seconds_behind: non_null(row.get("Seconds_Behind_Source"))
                    .and_then(|s| s.parse().ok()),
                // received_transaction_set is what the receiver got; what was applied before
                // (a clone, an earlier source) counts as received too.
                received: Gtids::Mysql(retrieved.union(&executed)),
                last_io_error: non_null(row.get("Last_IO_Error")),
                last_sql_error: non_null(row.get("Last_SQL_Error")),
            })
        }
        _ => None,
    };
    Ok(ServerState {
        read_only: get(v, "read_only") == "1",
        applied: Gtids::Mysql(executed.clone()),
        history: Gtids::Mysql(executed),
        version: get(v, "version"),
        replication,
    })
}

/// super_read_only stops every account (waiting for commits in progress), and the position is
/// everything executed.
pub const FENCE_STATEMENTS: [&str; 2] = [
    "SET GLOBAL super_read_only = ON;",
    "SELECT @@gtid_executed AS pos;",
];

/// MySQL has no compound statements outside stored programs (and a replica under
/// super_read_only cannot create one): a failed WAIT_FOR_EXECUTED_GTID_SET (1 = timed out)
/// turns the argument of JSON_EXTRACT into invalid JSON, whose error ends the client's batch.
/// The wait's result is only known when the statement runs, so nothing is folded ahead.
pub fn fail_unless_applied(pod: &str, position: &str, seconds: u64) -> String {
    format!(
        "SELECT JSON_EXTRACT(IF(WAIT_FOR_EXECUTED_GTID_SET({}, {seconds}) = 0, '\"applied\"', {}), '$') AS waited;\n",
        quote(position),
        quote(&format!("{pod} did not apply {position} within {seconds}s")),
    )
}

pub fn promote_statements(semi_sync_waits: bool) -> String {
    format!(
        "STOP REPLICA;\nRESET REPLICA ALL;\nSET GLOBAL rpl_semi_sync_source_enabled = {};\nSET GLOBAL super_read_only = OFF;\nSET GLOBAL read_only = OFF;\n",
        if semi_sync_waits { "ON" } else { "OFF" }
    )
}

/// Replicates from `host` by GTID auto-position over TLS (the repl account requires it). The
/// old replication settings and relay logs go first (RESET REPLICA ALL): a clone carries its
/// donor's, whose relay logs it lacks, and auto-position fetches again whatever was received but
/// not applied.
pub fn follow_statements(host: &str, password: &str, tls: Option<&TlsFiles>) -> String {
    format!(
        "STOP REPLICA;\nSET GLOBAL super_read_only = ON;\nSET GLOBAL rpl_semi_sync_source_enabled = OFF;\nRESET REPLICA ALL;\n{}\nSTART REPLICA;\n",
        change_source(host, password, tls)
    )
}

/// With `tls`, the member's own certificate goes with it and the source's is verified against
/// the cluster's CA and `host` (without, TLS encrypts but proves nothing).
pub fn change_source(host: &str, password: &str, tls: Option<&TlsFiles>) -> String {
    let tls = tls
        .map(|f| {
            format!(
                ", SOURCE_SSL_CA = {}, SOURCE_SSL_CERT = {}, SOURCE_SSL_KEY = {}, SOURCE_SSL_VERIFY_SERVER_CERT = 1",
                quote(&f.ca),
                quote(&f.cert),
                quote(&f.key)
            )
        })
        .unwrap_or_default();
    format!(
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = {}, SOURCE_PORT = {}, SOURCE_USER = 'repl', SOURCE_PASSWORD = {}, SOURCE_AUTO_POSITION = 1, SOURCE_SSL = 1{tls}, SOURCE_CONNECT_RETRY = 1, SOURCE_RETRY_COUNT = 86400;",
        quote(host),
        super::PORT,
        quote(password)
    )
}

pub fn stop_receiving_statements() -> Vec<String> {
    vec!["STOP REPLICA IO_THREAD;".into()]
}

pub const SEMI_SYNC_STATUS: &str = "SELECT LOWER(REPLACE(variable_name, 'Rpl_semi_sync_source_', '')) AS name, variable_value AS value FROM performance_schema.global_status \
     WHERE variable_name IN ('Rpl_semi_sync_source_status', 'Rpl_semi_sync_source_clients', 'Rpl_semi_sync_source_wait_sessions');";

/// Sessions of a primary waiting for a replica's acknowledgement right now, and the longest
/// wait in seconds (the state's text as the server sets it).
pub const SEMI_SYNC_WAITS: &str = "SELECT COUNT(*) AS sessions, IFNULL(MAX(TIME), 0) AS longest FROM performance_schema.processlist \
     WHERE STATE = 'Waiting for semi-sync ACK from replica';";
/// What `report` asks each member (see Engine::report_queries).
pub const REPORT_QUERIES: &[(&str, &str)] = &[
    (
        "variables",
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'version_comment', 'server_id', \
         'server_uuid', 'read_only', 'super_read_only', 'binlog_format', 'log_bin', \
         'log_replica_updates', 'sync_binlog', 'innodb_flush_log_at_trx_commit', \
         'innodb_buffer_pool_size', 'innodb_redo_log_capacity', 'max_connections', 'gtid_mode', \
         'enforce_gtid_consistency', 'replica_net_timeout', 'skip_name_resolve', \
         'character_set_server', 'binlog_expire_logs_seconds', 'max_binlog_size') \
         OR Variable_name LIKE 'rpl_semi_sync%';",
    ),
    (
        "gtid",
        "SELECT @@gtid_mode AS gtid_mode, @@server_uuid AS server_uuid, \
         @@gtid_executed AS gtid_executed, @@gtid_purged AS gtid_purged;",
    ),
    ("replication", "SHOW REPLICA STATUS;"),
    ("semi-sync-status", "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%';"),
    ("binary-logs", "SHOW BINARY LOGS;"),
    (
        "sessions",
        "SELECT id, user, host, db, command, time, state FROM performance_schema.processlist ORDER BY id;",
    ),
];

/// Start-up options parsed and checked as at start (warnings shown), then nothing started.
pub const OPTION_CHECK: &[&str] = &[
    "mysqld",
    "--no-defaults",
    "--log-error-verbosity=2",
    "--validate-config",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::engine::{Applier, Receiver};
    use crate::db::sqltext::row;

    const UUID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    fn replication_of(io: &str, sql: &str) -> Replication {
        let vars = row(&[
            ("read_only", "1"),
            ("executed", &format!("{UUID}:1-7")),
            ("version", "9.7.0"),
        ]);
        let status = row(&[
            ("Source_Host", "db-0.db"),
            ("Replica_IO_Running", io),
            ("Replica_SQL_Running", sql),
            ("Retrieved_Gtid_Set", &format!("{UUID}:1-9")),
        ]);
        parse_state(&[vars], &[status])
            .unwrap()
            .replication
            .unwrap()
    }

    #[test]
    fn a_connected_replica_is_read_from_show_replica_status_as_connected_and_running() {
        let r = replication_of("Yes", "Yes");
        assert_eq!(r.receiver, Receiver::Connected);
        assert_eq!(r.applier, Applier::Running);
        assert!(r.is_connected() && r.is_running());
        assert_eq!(r.received.to_string(), format!("{UUID}:1-9"));
    }

    #[test]
    fn a_replica_still_connecting_runs_but_is_not_connected() {
        let r = replication_of("Connecting", "Yes");
        assert_eq!(r.receiver, Receiver::Connecting);
        assert!(r.is_running() && !r.is_connected());
    }

    #[test]
    fn a_replica_whose_applier_stopped_does_not_run_though_it_receives() {
        let r = replication_of("Yes", "No");
        assert_eq!(
            (r.receiver.clone(), r.applier.clone()),
            (Receiver::Connected, Applier::Stopped)
        );
        assert!(!r.is_running() && !r.is_connected());
    }

    #[test]
    fn mariadb_column_names_are_not_read_as_mysql_threads() {
        let vars = row(&[("read_only", "1"), ("executed", ""), ("version", "9.7.0")]);
        let status = row(&[
            ("Source_Host", "db-0.db"),
            ("Slave_IO_Running", "Yes"),
            ("Slave_SQL_Running", "Yes"),
        ]);
        let r = parse_state(&[vars], &[status])
            .unwrap()
            .replication
            .unwrap();
        assert_eq!(r.receiver, Receiver::Other(String::new()));
        assert!(!r.is_running());
    }

    #[test]
    fn replicas_are_super_read_only_and_everyone_logs_gtid() {
        let replica = role_cnf(true, false);
        assert!(replica.contains("super_read_only=ON") && replica.contains("read_only=ON"));
        assert!(role_cnf(true, true).contains("super_read_only=OFF"));
        for cnf in [role_cnf(true, true), replica] {
            for key in [
                "gtid_mode=ON",
                "enforce_gtid_consistency=ON",
                "log_bin=",
                "log_replica_updates=ON",
                "sync_binlog=1",
                "mysql_clone.so",
                "rpl_semi_sync_source_wait_point=AFTER_SYNC",
                "rpl_semi_sync_source_wait_no_replica=ON",
            ] {
                assert!(cnf.contains(key), "{key}");
            }
        }
        assert!(role_cnf(true, true).contains("rpl_semi_sync_source_enabled=ON"));
        assert!(role_cnf(false, true).contains("rpl_semi_sync_source_enabled=OFF"));
        assert!(role_cnf(true, false).contains("rpl_semi_sync_source_enabled=OFF"));
    }

    #[test]
    fn the_wait_fails_the_batch_unless_applied() {
        let sql = fail_unless_applied("db-1", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", 30);
        assert!(
            sql.contains(
                "WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 30) = 0"
            ),
            "{sql}"
        );
        assert!(sql.contains("JSON_EXTRACT(IF("), "{sql}");
    }

    #[test]
    fn replication_over_tls_by_auto_position() {
        let sql = follow_statements("db-0.db.ns.svc.cluster.local", "pw", None);
        assert!(sql.contains("SOURCE_AUTO_POSITION = 1") && sql.contains("SOURCE_SSL = 1"));
        assert!(!sql.contains("VERIFY"), "{sql}");
        let files = TlsFiles {
            ca: "/s/tls-ca.crt".into(),
            cert: "/s/tls-db-1.crt".into(),
            key: "/s/tls-db-1.key".into(),
        };
        let verified = follow_statements("db-0-repl", "pw", Some(&files));
        assert!(verified.contains("SOURCE_SSL = 1, SOURCE_SSL_CA = '/s/tls-ca.crt', SOURCE_SSL_CERT = '/s/tls-db-1.crt', SOURCE_SSL_KEY = '/s/tls-db-1.key', SOURCE_SSL_VERIFY_SERVER_CERT = 1"), "{verified}");
        assert!(sql.contains("SET GLOBAL super_read_only = ON"));
        assert!(sql.ends_with("START REPLICA;\n"));
    }

    #[test]
    fn state_from_rows() {
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let row = crate::db::sqltext::row;
        let vars = row(&[
            ("read_only", "1"),
            ("executed", &format!("{u}:1-9")),
            ("version", "9.7.4-2"),
        ]);
        let replica = row(&[
            ("Source_Host", "db-0.db.ns.svc.cluster.local"),
            ("Replica_IO_Running", "Yes"),
            ("Replica_SQL_Running", "Yes"),
            ("Seconds_Behind_Source", "0"),
            ("Retrieved_Gtid_Set", &format!("{u}:5-12")),
            ("Last_IO_Error", ""),
            ("Last_SQL_Error", ""),
        ]);
        let s = parse_state(&[vars], &[replica]).unwrap();
        assert_eq!(
            s.replication.unwrap().received.to_string(),
            format!("{u}:1-12")
        );
        assert_eq!(s.applied.to_string(), format!("{u}:1-9"));
    }
}
