//! MariaDB (10.11, 11.8): mariadb-backup clones, `domain-server-seq` GTID positions,
//! read_only with READ_ONLY ADMIN kept only by the plugin's socket account.
use super::{Replication, ServerState, TlsFiles};
use crate::db::sqltext::{non_null, quote, Row};
use anyhow::{bail, Result};

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

/// Seconds a stopping replica waits for the primary when it ends its dump thread (0 would be
/// no limit at all).
pub const KILL_CONN_TIMEOUT_S: u32 = 1;

/// The longest wait MariaDB allows: in effect, never fall back to asynchronous replication.
pub const SEMI_SYNC_TIMEOUT_MS: u64 = 4_294_967_295;

/// Semi-synchronous replication, AFTER_SYNC: the primary acknowledges a commit only once a
/// replica has it, and never falls back to asynchronous on its own (the timeout is ~49 days).
/// Every member acknowledges as a replica, so a crashed primary that restarts as a replica
/// truncates the transactions no replica acknowledged. Only the primary waits for
/// acknowledgements (a replica that waited would block its own SQL thread), and a lone primary
/// cannot wait for anyone. A replica that stops its IO thread asks the primary to end its dump
/// thread over a new connection; against a dead primary that costs this timeout (the default,
/// 5 s for the connect and 5 s for the answer, doubled a failover's time).
fn semi_sync_cnf(waits: bool) -> String {
    format!(
        "rpl_semi_sync_slave_enabled=ON\nrpl_semi_sync_slave_kill_conn_timeout={KILL_CONN_TIMEOUT_S}\nrpl_semi_sync_master_wait_point=AFTER_SYNC\nrpl_semi_sync_master_timeout={SEMI_SYNC_TIMEOUT_MS}\nrpl_semi_sync_master_enabled={}\n",
        if waits { "ON" } else { "OFF" }
    )
}

pub fn role_cnf(semi_sync_waits: bool, primary: bool) -> String {
    if primary {
        format!(
            "{COMMON_CNF}{}# role: primary, the only member that takes writes\nread_only=OFF\n",
            semi_sync_cnf(semi_sync_waits)
        )
    } else {
        format!(
            "{COMMON_CNF}{}# role: replica, writes only through replication\nread_only=ON\n",
            semi_sync_cnf(false)
        )
    }
}

pub const POD_SCRIPTS: &[(&str, &str)] = &[
    (
        "start.sh",
        include_str!("../../manifests/scripts/mariadb/start.sh"),
    ),
    (
        "probe.sh",
        include_str!("../../manifests/scripts/mariadb/probe.sh"),
    ),
    (
        "end-dead-dump-threads.sh",
        include_str!("../../manifests/scripts/mariadb/end-dead-dump-threads.sh"),
    ),
];

pub const OPERATION_SCRIPTS: &[(&str, &str)] = &[
    (
        "bootstrap.sh",
        include_str!("../../manifests/scripts/mariadb/bootstrap.sh"),
    ),
    (
        "backup.sh",
        include_str!("../../manifests/scripts/mariadb/backup.sh"),
    ),
    (
        "start-clone.sh",
        include_str!("../../manifests/scripts/mariadb/start-clone.sh"),
    ),
    (
        "finish-clone.sh",
        include_str!("../../manifests/scripts/mariadb/finish-clone.sh"),
    ),
];

pub const STATE_STATEMENTS: [&str; 2] = [
    "SELECT @@read_only AS read_only, @@gtid_current_pos AS current, @@gtid_binlog_state AS binlog_state, @@version AS version;",
    "SHOW SLAVE STATUS;",
];

pub fn parse_state(variables: &[Row], replica: &[Row]) -> Result<ServerState> {
    let Some(v) = variables.first() else {
        bail!("no answer to SELECT @@read_only")
    };
    let get = |row: &Row, k: &str| row.get(k).cloned().unwrap_or_default();
    let applied: crate::db::gtid::GtidList = get(v, "current").parse()?;
    let replication = match replica.first() {
        Some(row) if !get(row, "Master_Host").is_empty() => {
            let io: crate::db::gtid::GtidList = get(row, "Gtid_IO_Pos").parse().unwrap_or_default();
            // What it received, or what it applied if that is further (an empty IO position
            // after a restart).
            let received = if io.includes(&applied) {
                io
            } else {
                applied.clone()
            };
            Some(Replication {
                source_host: get(row, "Master_Host"),
                receiver: super::Receiver::parse(&get(row, "Slave_IO_Running")),
                applier: super::Applier::parse(&get(row, "Slave_SQL_Running")),
                seconds_behind: non_null(row.get("Seconds_Behind_Master"))
                    .and_then(|s| s.parse().ok()),
                received: super::Gtids::Mariadb(received),
                last_io_error: non_null(row.get("Last_IO_Error")),
                last_sql_error: non_null(row.get("Last_SQL_Error")),
            })
        }
        _ => None,
    };
    Ok(ServerState {
        read_only: get(v, "read_only") == "1",
        applied: super::Gtids::Mariadb(applied),
        history: super::Gtids::Mariadb(get(v, "binlog_state").parse()?),
        version: get(v, "version"),
        replication,
    })
}

pub const FENCE_STATEMENTS: [&str; 2] = [
    "SET GLOBAL read_only = ON;",
    "SELECT @@gtid_binlog_pos AS pos;",
];

/// MASTER_GTID_WAIT inside a compound statement that SIGNALs on a timeout.
pub fn fail_unless_applied(pod: &str, position: &str, seconds: u64) -> String {
    format!(
        "DELIMITER //\nBEGIN NOT ATOMIC\n  IF IFNULL(MASTER_GTID_WAIT({}, {seconds}), -1) <> 0 THEN\n    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = {};\n  END IF;\nEND//\nDELIMITER ;\n",
        quote(position),
        quote(&format!("{pod} did not apply {position} within {seconds}s")),
    )
}

pub fn promote_statements(semi_sync_waits: bool) -> String {
    format!(
        "STOP SLAVE;\nRESET SLAVE ALL;\nSET GLOBAL rpl_semi_sync_master_enabled = {};\nSET GLOBAL read_only = OFF;\n",
        if semi_sync_waits { "ON" } else { "OFF" }
    )
}

/// CHANGE MASTER TO `host` by GTID from the member's own position. A former primary first adopts
/// its binary log position as its replication position.
pub fn follow_statements(
    host: &str,
    password: &str,
    former_primary: bool,
    tls: Option<&TlsFiles>,
) -> String {
    let adopt = if former_primary {
        "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos;\n"
    } else {
        ""
    };
    format!(
        "STOP SLAVE;\nSET GLOBAL read_only = ON;\nSET GLOBAL rpl_semi_sync_master_enabled = OFF;\n{adopt}{}\nSTART SLAVE;\n",
        change_master(host, password, tls)
    )
}

/// CHANGE MASTER TO `host` by GTID (slave_pos); with `tls`, over TLS with the member's own
/// certificate, the source's verified against the CA and `host`.
pub fn change_master(host: &str, password: &str, tls: Option<&TlsFiles>) -> String {
    let tls = tls
        .map(|f| {
            format!(
                ", MASTER_SSL = 1, MASTER_SSL_CA = {}, MASTER_SSL_CERT = {}, MASTER_SSL_KEY = {}, MASTER_SSL_VERIFY_SERVER_CERT = 1",
                quote(&f.ca),
                quote(&f.cert),
                quote(&f.key)
            )
        })
        .unwrap_or_default();
    format!(
        "CHANGE MASTER TO MASTER_HOST = {}, MASTER_PORT = {}, MASTER_USER = 'repl', MASTER_PASSWORD = {}, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1{tls};",
        quote(host),
        super::PORT,
        quote(password)
    )
}

/// A replica made from a backup starts replicating at the backup's position. A restored server
/// that has logged nothing yet (`fresh`) also takes that position as its binary log state, so
/// its binary log starts where its data does: promoted one day, it can then serve a replica
/// standing exactly at that position (MariaDB refuses a GTID found in neither its binary log
/// nor its state: error 1236, "slave has diverged"), and errant checks compare like with like.
pub fn start_from_backup(
    position: &str,
    fresh: bool,
    host: &str,
    password: &str,
    tls: Option<&TlsFiles>,
) -> String {
    let position = quote(position);
    let seed = if fresh {
        format!("SET GLOBAL gtid_binlog_state = {position};\n")
    } else {
        String::new()
    };
    format!(
        "STOP SLAVE;\n{seed}SET GLOBAL gtid_slave_pos = {position};\n{}\nSTART SLAVE;\n",
        change_master(host, password, tls)
    )
}

/// As start_from_backup, from a source of `source_version`: a replica of 11.x asks for TLS by
/// default (MASTER_SSL=1), which a source older than 11.4 cannot give (it has no certificate of
/// its own: "SSL is required, but the server does not support it"), so such a source is
/// replicated from in plain text, as every 10.11 replica does by default. Seen when an 11.8
/// member was cloned while a 10.11 primary was still to be upgraded. A cluster that speaks TLS
/// gives every member a certificate: then the source's version does not matter.
pub fn start_from_backup_of(
    position: &str,
    fresh: bool,
    host: &str,
    password: &str,
    tls: Option<&TlsFiles>,
    source_version: &str,
) -> String {
    let sql = start_from_backup(position, fresh, host, password, tls);
    match crate::db::server_version::series(source_version) {
        Some(series) if series < (11, 4) && tls.is_none() => sql.replace(
            "\nSTART SLAVE;",
            "\nCHANGE MASTER TO MASTER_SSL = 0;\nSTART SLAVE;",
        ),
        _ => sql,
    }
}

/// The kill timeout of a cluster made before it was in the config is set here too.
pub fn stop_receiving_statements() -> Vec<String> {
    vec![
        format!("SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = {KILL_CONN_TIMEOUT_S};"),
        "STOP SLAVE IO_THREAD;".into(),
    ]
}

pub const SEMI_SYNC_STATUS: &str = "SELECT LOWER(REPLACE(variable_name, 'RPL_SEMI_SYNC_MASTER_', '')) AS name, variable_value AS value FROM information_schema.global_status \
     WHERE variable_name IN ('RPL_SEMI_SYNC_MASTER_STATUS', 'RPL_SEMI_SYNC_MASTER_CLIENTS', 'RPL_SEMI_SYNC_MASTER_WAIT_SESSIONS');";

/// Sessions of a primary waiting for a replica's acknowledgement right now, and the longest
/// wait in seconds (the state's text as the server sets it).
pub const SEMI_SYNC_WAITS: &str = "SELECT COUNT(*) AS sessions, IFNULL(MAX(TIME), 0) AS longest FROM information_schema.PROCESSLIST \
     WHERE STATE = 'Waiting for semi-sync ACK from slave';";
/// What `report` asks each member (see Engine::report_queries).
pub const REPORT_QUERIES: &[(&str, &str)] = &[
    (
        "variables",
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'version_comment', 'server_id', \
         'read_only', 'binlog_format', 'log_bin', 'log_slave_updates', 'sync_binlog', \
         'innodb_flush_log_at_trx_commit', 'innodb_buffer_pool_size', 'innodb_log_file_size', \
         'max_connections', 'gtid_domain_id', 'gtid_strict_mode', 'slave_net_timeout', \
         'skip_name_resolve', 'character_set_server', 'expire_logs_days', 'max_binlog_size') \
         OR Variable_name LIKE 'rpl_semi_sync%';",
    ),
    (
        "gtid",
        "SELECT @@gtid_current_pos AS gtid_current_pos, @@gtid_binlog_pos AS gtid_binlog_pos, \
         @@gtid_binlog_state AS gtid_binlog_state, @@gtid_slave_pos AS gtid_slave_pos, \
         @@gtid_domain_id AS gtid_domain_id, @@gtid_strict_mode AS gtid_strict_mode;",
    ),
    ("replication", "SHOW SLAVE STATUS;"),
    ("semi-sync-status", "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%';"),
    ("binary-logs", "SHOW BINARY LOGS;"),
    (
        "sessions",
        "SELECT id, user, host, db, command, time, state FROM information_schema.processlist ORDER BY id;",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::engine::{Applier, Receiver};
    use crate::db::sqltext::row;

    fn slave_status(io: &str, sql: &str) -> Row {
        row(&[
            ("Master_Host", "db-0.db"),
            ("Slave_IO_Running", io),
            ("Slave_SQL_Running", sql),
            ("Gtid_IO_Pos", "0-1-9"),
        ])
    }

    fn replication_of(io: &str, sql: &str) -> Replication {
        let vars = row(&[
            ("read_only", "1"),
            ("current", "0-1-7"),
            ("binlog_state", "0-1-7"),
        ]);
        parse_state(&[vars], &[slave_status(io, sql)])
            .unwrap()
            .replication
            .unwrap()
    }

    #[test]
    fn a_connected_slave_is_read_from_show_slave_status_as_connected_and_running() {
        let r = replication_of("Yes", "Yes");
        assert_eq!(r.receiver, Receiver::Connected);
        assert_eq!(r.applier, Applier::Running);
        assert!(r.is_connected() && r.is_running());
        assert_eq!(r.source_host, "db-0.db");
    }

    #[test]
    fn a_slave_still_connecting_runs_but_is_not_connected() {
        let r = replication_of("Connecting", "Yes");
        assert_eq!(r.receiver, Receiver::Connecting);
        assert!(r.is_running() && !r.is_connected());
    }

    #[test]
    fn a_slave_with_both_threads_stopped_neither_runs_nor_is_connected() {
        let r = replication_of("No", "No");
        assert_eq!(
            (r.receiver.clone(), r.applier.clone()),
            (Receiver::Stopped, Applier::Stopped)
        );
        assert!(!r.is_running() && !r.is_connected());
    }

    #[test]
    fn a_slave_preparing_keeps_the_word_and_does_not_count_as_running() {
        let r = replication_of("Preparing", "Yes");
        assert_eq!(r.receiver, Receiver::Other("Preparing".into()));
        assert_eq!(r.receiver.to_string(), "Preparing");
        assert!(!r.is_running());
    }

    #[test]
    fn mysql_column_names_are_not_read_as_mariadb_threads() {
        let status = row(&[
            ("Master_Host", "db-0.db"),
            ("Replica_IO_Running", "Yes"),
            ("Replica_SQL_Running", "Yes"),
        ]);
        let vars = row(&[("read_only", "1"), ("current", ""), ("binlog_state", "")]);
        let r = parse_state(&[vars], &[status])
            .unwrap()
            .replication
            .unwrap();
        assert_eq!(r.receiver, Receiver::Other(String::new()));
        assert_eq!(r.applier, Applier::Other(String::new()));
        assert!(!r.is_running());
    }

    #[test]
    fn promotion_waits_for_the_position_in_the_same_batch() {
        let sql = fail_unless_applied("db-1", "0-1-42", 30);
        assert!(sql.starts_with("DELIMITER //\nBEGIN NOT ATOMIC\n"), "{sql}");
        assert!(
            sql.contains("IFNULL(MASTER_GTID_WAIT('0-1-42', 30), -1) <> 0"),
            "{sql}"
        );
        assert!(
            sql.contains("'db-1 did not apply 0-1-42 within 30s'"),
            "{sql}"
        );
        assert!(sql.ends_with("END//\nDELIMITER ;\n"), "{sql}");
    }

    #[test]
    fn replicas_are_read_only_and_everyone_logs_gtid() {
        assert!(role_cnf(true, false).contains("read_only=ON"));
        assert!(role_cnf(true, true).contains("read_only=OFF"));
        for cnf in [role_cnf(true, true), role_cnf(true, false)] {
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

    #[test]
    fn semi_sync_after_sync_without_fallback_unless_alone_or_opted_out() {
        let cnf = role_cnf(true, true);
        assert!(cnf.contains("rpl_semi_sync_master_enabled=ON"));
        assert!(cnf.contains("rpl_semi_sync_master_wait_point=AFTER_SYNC"));
        assert!(cnf.contains("rpl_semi_sync_master_timeout=4294967295"));
        assert!(role_cnf(true, false).contains("rpl_semi_sync_master_enabled=OFF"));
        assert!(role_cnf(true, false).contains("rpl_semi_sync_slave_enabled=ON"));
        assert!(role_cnf(false, true).contains("rpl_semi_sync_master_enabled=OFF"));
    }

    #[test]
    fn state_from_rows() {
        let vars = crate::db::sqltext::row(&[
            ("read_only", "1"),
            ("current", "0-1-9"),
            ("binlog_state", "0-1-9"),
            ("version", "10.11.14-MariaDB"),
        ]);
        let slave = crate::db::sqltext::row(&[
            ("Master_Host", "db-0.db.ns.svc.cluster.local"),
            ("Slave_IO_Running", "Yes"),
            ("Slave_SQL_Running", "Yes"),
            ("Seconds_Behind_Master", "0"),
            ("Gtid_IO_Pos", "0-1-12"),
            ("Last_IO_Error", ""),
            ("Last_SQL_Error", ""),
        ]);
        let s = parse_state(&[vars], &[slave]).unwrap();
        assert!(s.read_only);
        let r = s.replication.unwrap();
        assert_eq!(r.received.to_string(), "0-1-12");
        assert!(r.is_connected());
        assert_eq!(s.version, "10.11.14-MariaDB");
    }
}

/// mariadb-upgrade over the socket as the plugin's account, kept out of the binary log; it
/// says "already upgraded" and succeeds when there is nothing to do.
pub const UPGRADE_STEP: &[&str] = &["mariadb-upgrade", "-umysql", "--skip-write-binlog"];

#[cfg(test)]
mod upgrade_tests {
    use super::*;

    #[test]
    fn clones_from_sources_before_11_4_replicate_in_plain_text_without_certificates() {
        let from = |v| start_from_backup_of("0-1-5", false, "db-0", "pw", None, v);
        let old = from("10.11.18-MariaDB-0+deb12u1-log");
        let plain = old.find("MASTER_SSL = 0").unwrap();
        assert!(plain < old.find("START SLAVE").unwrap(), "{old}");
        assert!(!from("11.8.9-MariaDB-0+deb13u1 from Debian-log").contains("MASTER_SSL"));
    }

    fn files() -> TlsFiles {
        TlsFiles {
            ca: "/s/tls-ca.crt".into(),
            cert: "/s/tls-db-1.crt".into(),
            key: "/s/tls-db-1.key".into(),
        }
    }

    #[test]
    fn with_certificates_every_source_is_verified_whatever_its_version() {
        for version in ["10.11.18-MariaDB-0+deb12u1-log", "11.8.9-MariaDB-0+deb13u1"] {
            let sql = start_from_backup_of("0-1-5", false, "db-0", "pw", Some(&files()), version);
            assert!(!sql.contains("MASTER_SSL = 0"), "{sql}");
            assert!(sql.contains("MASTER_SSL = 1, MASTER_SSL_CA = '/s/tls-ca.crt', MASTER_SSL_CERT = '/s/tls-db-1.crt', MASTER_SSL_KEY = '/s/tls-db-1.key', MASTER_SSL_VERIFY_SERVER_CERT = 1"), "{sql}");
        }
        let follow =
            follow_statements("db-0-repl.ns.svc.cluster.local", "pw", true, Some(&files()));
        assert!(
            follow.contains("MASTER_SSL_VERIFY_SERVER_CERT = 1"),
            "{follow}"
        );
        assert!(!follow_statements("h", "pw", false, None).contains("MASTER_SSL"));
    }
}

/// Start-up options parsed as the server parses them, then help printed and nothing started.
pub const OPTION_CHECK: &[&str] = &["mariadbd", "--no-defaults", "--help", "--verbose"];
