//! The one seam between the two database engines. Everything that differs between MariaDB and
//! MySQL (configuration per role, bootstrap, the SQL that observes, fences, waits, promotes and
//! repoints, GTID arithmetic, the clone method) is answered here; commands, topology moves and
//! status are written once against these answers.
pub mod mariadb;
pub mod mysql;

use crate::db::gtid::GtidList;
use crate::db::gtid_set::GtidSet;
use crate::db::sqltext::Row;
use anyhow::Result;
use std::fmt;
use std::time::Duration;

/// When the certificate the server presents expires (empty without TLS), the same in both engines.
pub const TLS_STATUS: &str = "SHOW GLOBAL STATUS WHERE Variable_name = 'Ssl_server_not_after';";

/// The files, in a member's pod, it proves itself with and verifies its peers against, when its
/// cluster speaks TLS: the cluster's CA certificate, the member's certificate and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// MariaDB (10.11, 11.8): mariadb-backup clones, GTID domain-server-seq positions
    #[default]
    Mariadb,
    /// MySQL (9.7 LTS): the clone plugin, GTID uuid:interval sets
    Mysql,
}

impl Engine {
    /// The engine recorded in a cluster's ConfigMap (clusters made before the key existed are
    /// MariaDB).
    pub fn from_record(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("") | Some("mariadb") => Ok(Engine::Mariadb),
            Some("mysql") => Ok(Engine::Mysql),
            Some(other) => anyhow::bail!("unknown engine '{other}' in the cluster's record"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadb",
            Engine::Mysql => "mysql",
        }
    }

    /// The image a cluster runs unless --image says otherwise: the official one, or the one
    /// the environment names (the test bed sets MYSQLHA_IMAGE / MYSQLHA_MYSQL_IMAGE).
    pub fn default_image(self) -> String {
        let (var, official) = match self {
            Engine::Mariadb => ("MYSQLHA_IMAGE", "mariadb:10.11"),
            Engine::Mysql => ("MYSQLHA_MYSQL_IMAGE", "mysql:9.7"),
        };
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| official.to_string())
    }

    /// The command line client in the server's image.
    /// The command (in a member's server container) that replays the binary-log bytes on its
    /// stdin into the server through `client` (the engine's client with its options):
    /// transactions the server holds (`held`, MariaDB; MySQL skips them by itself) are
    /// skipped; it stops before the first event stamped at or after `stop_datetime` (UTC) and
    /// after the transactions of `to_gtid`. A transaction cut short at the end of the bytes is
    /// rolled back when the client ends.
    pub fn replay_command(
        self,
        client: &str,
        held: &str,
        stop_datetime: Option<&str>,
        to_gtid: Option<&str>,
    ) -> Vec<String> {
        let mut tool = match self {
            Engine::Mariadb => vec!["mariadb-binlog".to_string()],
            Engine::Mysql => vec!["mysqlbinlog".to_string()],
        };
        if self == Engine::Mariadb && !held.is_empty() {
            tool.push(format!("--start-position={held}"));
        }
        if let Some(t) = stop_datetime {
            tool.push(format!("--stop-datetime='{t}'"));
        }
        match (self, to_gtid) {
            (Engine::Mariadb, Some(g)) => tool.push(format!("--stop-position={g}")),
            (Engine::Mysql, Some(g)) => tool.push(format!("--include-gtids={g}")),
            (_, None) => {}
        }
        tool.push("-".into());
        vec![
            "bash".into(),
            "-o".into(),
            "pipefail".into(),
            "-c".into(),
            format!("TZ=UTC {} | {client}", tool.join(" ")),
        ]
    }

    /// What a server logged (column `gtids`): MariaDB's binary-log position (a replay through
    /// mariadb-binlog keeps the transactions' own server ids, which gtid_current_pos would not
    /// count), MySQL's executed set.
    pub fn logged_statement(self) -> &'static str {
        match self {
            Engine::Mariadb => "SELECT @@gtid_binlog_pos AS gtids;",
            Engine::Mysql => "SELECT @@gtid_executed AS gtids;",
        }
    }

    /// After a replay into a restored primary: MariaDB's replication position follows its
    /// binary log (replicas cloned from it start there).
    pub fn after_replay_statements(self) -> &'static str {
        match self {
            Engine::Mariadb => "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos;",
            Engine::Mysql => "",
        }
    }

    pub fn client(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadb",
            Engine::Mysql => "mysql",
        }
    }

    /// The client options of a connection over TLS to a member by its pod address, checking what
    /// the client can check without the member's name (the certificates name no addresses):
    /// MySQL verifies the certificate against the cluster's CA (`ca`); MariaDB's client cannot
    /// verify a chain without the name, so it only encrypts (its 11.x client would verify by
    /// default and fail on the address). The password does not cross: MariaDB's native
    /// authentication is a challenge.
    pub fn tls_by_address(self, ca: &str) -> String {
        match self {
            Engine::Mariadb => format!("--ssl --ssl-ca={ca} --disable-ssl-verify-server-cert"),
            Engine::Mysql => format!("--ssl-mode=VERIFY_CA --ssl-ca={ca}"),
        }
    }

    /// Reloads the server's TLS files (certificate, key, CA bundle) without a restart; never
    /// binary-logged (a replica must not gain a transaction of its own).
    pub fn reload_tls_statement(self) -> &'static str {
        match self {
            Engine::Mariadb => "FLUSH NO_WRITE_TO_BINLOG SSL;",
            Engine::Mysql => "ALTER INSTANCE RELOAD TLS;",
        }
    }

    /// The replication account requires a certificate of the cluster's CA from now on (run on
    /// the primary: replicas take it through replication).
    pub fn require_x509_statement(self) -> &'static str {
        "ALTER USER 'repl'@'%' REQUIRE X509;"
    }

    /// Makes a replica's receiver connect to its source again (verifying its certificate anew).
    pub fn reconnect_receiver_statements(self) -> &'static str {
        match self {
            Engine::Mariadb => "STOP SLAVE IO_THREAD;\nSTART SLAVE IO_THREAD;",
            Engine::Mysql => "STOP REPLICA IO_THREAD;\nSTART REPLICA IO_THREAD;",
        }
    }

    /// The server's process name (its /proc/PID/comm).
    pub fn server_process(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadbd",
            Engine::Mysql => "mysqld",
        }
    }

    /// The server's settings for a role (the part of my.cnf that the ConfigMap carries).
    pub fn role_cnf(self, semi_sync_waits: bool, primary: bool) -> String {
        match self {
            Engine::Mariadb => mariadb::role_cnf(semi_sync_waits, primary),
            Engine::Mysql => mysql::role_cnf(semi_sync_waits, primary),
        }
    }

    /// Scripts that pods run on their own (ConfigMap), by file name.
    pub fn pod_scripts(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Mariadb => mariadb::POD_SCRIPTS,
            Engine::Mysql => mysql::POD_SCRIPTS,
        }
    }

    /// Scripts the plugin runs in pods (installed per operation), by file name.
    pub fn operation_scripts(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Mariadb => mariadb::OPERATION_SCRIPTS,
            Engine::Mysql => mysql::OPERATION_SCRIPTS,
        }
    }

    /// Statements whose result sets `parse_state` reads, in this order.
    pub fn state_statements(self) -> [&'static str; 2] {
        match self {
            Engine::Mariadb => mariadb::STATE_STATEMENTS,
            Engine::Mysql => mysql::STATE_STATEMENTS,
        }
    }

    pub fn parse_state(self, variables: &[Row], replica: &[Row]) -> Result<ServerState> {
        match self {
            Engine::Mariadb => mariadb::parse_state(variables, replica),
            Engine::Mysql => mysql::parse_state(variables, replica),
        }
    }

    /// Read-only for every account (the plugin's own included where the engine allows), then
    /// `SELECT <everything written> AS pos`.
    pub fn fence_statements(self) -> [&'static str; 2] {
        match self {
            Engine::Mariadb => mariadb::FENCE_STATEMENTS,
            Engine::Mysql => mysql::FENCE_STATEMENTS,
        }
    }

    /// A statement that raises an error (ending the client's batch, so nothing after it runs)
    /// unless the server applies `position` within `limit`.
    pub fn fail_unless_applied(self, pod: &str, position: &str, limit: Duration) -> String {
        if position.is_empty() {
            return String::new();
        }
        let seconds = limit.as_secs().max(1);
        match self {
            Engine::Mariadb => mariadb::fail_unless_applied(pod, position, seconds),
            Engine::Mysql => mysql::fail_unless_applied(pod, position, seconds),
        }
    }

    /// One step of a wait for `position` to be applied: a row with column `waited`, "0" once
    /// applied, another number when `seconds` ran out first (MariaDB MASTER_GTID_WAIT: -1,
    /// MySQL WAIT_FOR_EXECUTED_GTID_SET: 1).
    pub fn wait_step_statement(self, position: &str, seconds: u64) -> String {
        let function = match self {
            Engine::Mariadb => "MASTER_GTID_WAIT",
            Engine::Mysql => "WAIT_FOR_EXECUTED_GTID_SET",
        };
        format!(
            "SELECT {function}({}, {seconds}) AS waited;\n",
            crate::db::sqltext::quote(position)
        )
    }

    /// Whether a failed batch's error text is the failure of `fail_unless_applied`'s wait.
    pub fn is_wait_failure(self, error: &str) -> bool {
        match self {
            Engine::Mariadb => error.contains("did not apply"),
            // WAIT_FOR_EXECUTED_GTID_SET timed out: JSON_EXTRACT of the message text fails.
            Engine::Mysql => error.contains("ERROR 3141"),
        }
    }

    /// Turns a replica into the writable primary (after the wait, in the same batch).
    pub fn promote_statements(self, semi_sync_waits: bool) -> String {
        match self {
            Engine::Mariadb => mariadb::promote_statements(semi_sync_waits),
            Engine::Mysql => mysql::promote_statements(semi_sync_waits),
        }
    }

    /// Makes a member a read-only replica of `host` by GTID. `former_primary`: it was writable
    /// and its own binary log is its position. With `tls`, the member connects over TLS with its
    /// own certificate and verifies the source's against the cluster's CA and `host`.
    pub fn follow_statements(
        self,
        host: &str,
        password: &str,
        former_primary: bool,
        tls: Option<&TlsFiles>,
    ) -> String {
        match self {
            Engine::Mariadb => mariadb::follow_statements(host, password, former_primary, tls),
            Engine::Mysql => mysql::follow_statements(host, password, tls),
        }
    }

    /// Stops receiving from the primary (failover), before the state is read.
    pub fn stop_receiving_statements(self) -> Vec<String> {
        match self {
            Engine::Mariadb => mariadb::stop_receiving_statements(),
            Engine::Mysql => mysql::stop_receiving_statements(),
        }
    }

    /// Restarts a replica's receiving thread: a connection attempt in progress (to an address
    /// its source no longer holds) is abandoned and its source's name is resolved again.
    pub fn reconnect_statements(self) -> &'static str {
        match self {
            Engine::Mariadb => "STOP SLAVE IO_THREAD; START SLAVE IO_THREAD;",
            Engine::Mysql => "STOP REPLICA IO_THREAD; START REPLICA IO_THREAD;",
        }
    }

    /// Settings that hold a member read-only and not replicating while no primary is
    /// recorded (kept data being brought back).
    pub fn hold_cnf(self) -> &'static str {
        match self {
            Engine::Mariadb => "[mysqld]\nskip-slave-start\n",
            Engine::Mysql => "[mysqld]\nskip_replica_start=ON\n",
        }
    }

    /// Whether the primary waits for a replica's acknowledgement.
    pub fn set_semi_sync_wait(self, on: bool) -> String {
        let value = if on { "ON" } else { "OFF" };
        match self {
            Engine::Mariadb => format!("SET GLOBAL rpl_semi_sync_master_enabled = {value};"),
            Engine::Mysql => format!("SET GLOBAL rpl_semi_sync_source_enabled = {value};"),
        }
    }

    /// Writable again (a switchover that could not promote gives writes back).
    pub fn writable_statements(self) -> &'static str {
        match self {
            Engine::Mariadb => "SET GLOBAL read_only = OFF;",
            Engine::Mysql => "SET GLOBAL super_read_only = OFF;\nSET GLOBAL read_only = OFF;",
        }
    }

    /// Rows (name, value) of the primary's semi-sync status: active, clients, waiting sessions.
    pub fn semi_sync_status_query(self) -> &'static str {
        match self {
            Engine::Mariadb => mariadb::SEMI_SYNC_STATUS,
            Engine::Mysql => mysql::SEMI_SYNC_STATUS,
        }
    }

    /// The ids of the binary log dump threads serving a replica at `address` (one row each,
    /// column `id`): a replica whose node died leaves one behind, never told its peer is gone.
    pub fn dump_threads_of(self, address: &str) -> String {
        let table = match self {
            Engine::Mariadb => "information_schema.PROCESSLIST",
            Engine::Mysql => "performance_schema.processlist",
        };
        format!(
            "SELECT ID AS id FROM {table} WHERE COMMAND LIKE 'Binlog Dump%' AND HOST LIKE {}",
            crate::db::sqltext::quote(&format!("{address}:%"))
        )
    }

    /// A GTID position or set as this engine writes it.
    pub fn parse_gtids(self, text: &str) -> Result<Gtids> {
        Ok(match self {
            Engine::Mariadb => Gtids::Mariadb(text.parse()?),
            Engine::Mysql => Gtids::Mysql(text.parse()?),
        })
    }

    /// Statements `status` runs after the state statements, in the same exec: the semi-sync
    /// status rows (name, value), the sessions waiting for an acknowledgement right now
    /// (`sessions`, `longest` in seconds) and SHOW BINARY LOGS (`Log_name`, `File_size`).
    pub fn status_statements(self) -> [&'static str; 4] {
        let waits = match self {
            Engine::Mariadb => mariadb::SEMI_SYNC_WAITS,
            Engine::Mysql => mysql::SEMI_SYNC_WAITS,
        };
        [
            self.semi_sync_status_query(),
            waits,
            "SHOW BINARY LOGS;",
            TLS_STATUS,
        ]
    }

    /// What a support report asks each member, one statement per file of the report (by name):
    /// key server variables, GTID state, replication status, semi-sync status, binary logs and
    /// sessions. Each runs on its own, so one that fails does not hide the others.
    pub fn report_queries(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Mariadb => mariadb::REPORT_QUERIES,
            Engine::Mysql => mysql::REPORT_QUERIES,
        }
    }

    /// What brings a server's system tables up to its version after it started on an older
    /// data directory, run in its container (None: the server does it itself at start, as
    /// MySQL since 8.0.16). Never binary-logged: a replica must not gain transactions of its own.
    pub fn upgrade_step_command(self) -> Option<&'static [&'static str]> {
        match self {
            Engine::Mariadb => Some(mariadb::UPGRADE_STEP),
            Engine::Mysql => None,
        }
    }

    /// Why moving a cluster from server series `from` to `to` is refused, if it is.
    pub fn upgrade_refusal(self, from: (u32, u32), to: (u32, u32)) -> Option<String> {
        let show = |(a, b): (u32, u32)| format!("{a}.{b}");
        (to < from).then(|| {
            format!(
                "{} cannot be downgraded from {} to {}: its data directory and system tables are not readable by an older series",
                self,
                show(from),
                show(to)
            )
        })
    }

    /// How many clones one donor can serve at once, by its own rule: MySQL's clone plugin
    /// refuses a second (ERROR 3634 "Too many concurrent clone operations. Maximum allowed -
    /// 1"); a MariaDB donor runs one mariadb-backup per clone, as many as asked.
    pub fn clones_per_donor(self) -> usize {
        match self {
            Engine::Mariadb => usize::MAX,
            Engine::Mysql => 1,
        }
    }

    /// The server binary's own check of start-up options (`--KEY=VALUE` appended), run in a
    /// member's container beside its running server: it reads no configuration file, touches no
    /// data directory and starts nothing. It fails (or warns, naming the option) when the server
    /// would refuse (or adjust) the value at start.
    pub fn option_check_command(self) -> &'static [&'static str] {
        match self {
            Engine::Mariadb => mariadb::OPTION_CHECK,
            Engine::Mysql => mysql::OPTION_CHECK,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// GTIDs as the engine counts them: MariaDB's per-domain lists, MySQL's uuid:interval sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gtids {
    Mariadb(GtidList),
    Mysql(GtidSet),
}

impl Default for Gtids {
    fn default() -> Self {
        Gtids::Mariadb(GtidList::default())
    }
}

impl Gtids {
    /// This position or set, grown by `more` (MariaDB: per domain, the later GTID of the two;
    /// MySQL: the union).
    pub fn with(&self, more: &Gtids) -> Gtids {
        match (self, more) {
            (Gtids::Mariadb(a), Gtids::Mariadb(b)) => {
                let mut out = a.0.clone();
                for g in &b.0 {
                    match out.iter_mut().find(|o| o.domain == g.domain) {
                        Some(o) if o.seq < g.seq => *o = *g,
                        Some(_) => {}
                        None => out.push(*g),
                    }
                }
                out.sort_by_key(|g| g.domain);
                Gtids::Mariadb(GtidList(out))
            }
            (Gtids::Mysql(a), Gtids::Mysql(b)) => Gtids::Mysql(a.union(b)),
            (a, _) => a.clone(),
        }
    }

    /// This position is at or past `other` (MariaDB: per domain; MySQL: a superset).
    pub fn includes(&self, other: &Gtids) -> bool {
        match (self, other) {
            (Gtids::Mariadb(a), Gtids::Mariadb(b)) => a.includes(b),
            (Gtids::Mysql(a), Gtids::Mysql(b)) => a.includes(b),
            _ => false,
        }
    }

    /// What this history holds that `reference` never had (errant transactions). MariaDB
    /// compares binary log states per (domain, server); MySQL takes the set difference.
    pub fn errant_against(&self, reference: &Gtids) -> Gtids {
        match (self, reference) {
            (Gtids::Mariadb(a), Gtids::Mariadb(b)) => Gtids::Mariadb(GtidList(a.errant_against(b))),
            (Gtids::Mysql(a), Gtids::Mysql(b)) => Gtids::Mysql(a.difference(b)),
            (a, _) => a.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Gtids::Mariadb(a) => a.0.is_empty(),
            Gtids::Mysql(a) => a.is_empty(),
        }
    }

    /// Each GTID (MariaDB) or each uuid's intervals (MySQL), for listing.
    pub fn items(&self) -> Vec<String> {
        match self {
            Gtids::Mariadb(a) => a.0.iter().map(|g| GtidList(vec![*g]).to_string()).collect(),
            Gtids::Mysql(a) => a
                .to_string()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// What this position holds that `other` lacks (e.g. what a failover candidate has not
    /// received), listed (MariaDB: `domain-server-seq` or a range `d-s-first..d-s-last` per
    /// domain; MySQL: `uuid:intervals`), and how many transactions that is.
    pub fn beyond(&self, other: &Gtids) -> (Vec<String>, u64) {
        match (self, other) {
            (Gtids::Mariadb(a), Gtids::Mariadb(b)) => {
                let ranges = a.beyond(b);
                let count = ranges.iter().map(|(f, l)| l.seq - f.seq + 1).sum();
                let items = ranges
                    .iter()
                    .map(|(first, last)| {
                        let one = |g| GtidList(vec![g]).to_string();
                        if first == last {
                            one(*last)
                        } else {
                            format!("{}..{}", one(*first), one(*last))
                        }
                    })
                    .collect();
                (items, count)
            }
            (Gtids::Mysql(a), Gtids::Mysql(b)) => {
                let rest = Gtids::Mysql(a.difference(b));
                let count = match &rest {
                    Gtids::Mysql(set) => set.count(),
                    Gtids::Mariadb(_) => 0,
                };
                (rest.items(), count)
            }
            (a, _) => (a.items(), 0),
        }
    }
}

impl fmt::Display for Gtids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtids::Mariadb(a) => a.fmt(f),
            Gtids::Mysql(a) => a.fmt(f),
        }
    }
}

/// What a member's server says about itself, in the same terms for both engines.
#[derive(Debug, Clone, Default)]
pub struct ServerState {
    /// read_only (MySQL: read_only, which super_read_only implies).
    pub read_only: bool,
    /// What it has applied: the position to wait for (MariaDB gtid_current_pos, MySQL
    /// gtid_executed).
    pub applied: Gtids,
    /// Everything it ever logged, for errant checks (MariaDB gtid_binlog_state, MySQL
    /// gtid_executed).
    pub history: Gtids,
    /// The server's version string.
    pub version: String,
    pub replication: Option<Replication>,
}

/// The replica side, the parts that matter.
#[derive(Debug, Clone, Default)]
pub struct Replication {
    /// The host it replicates from.
    pub source_host: String,
    /// The receiving (IO) thread.
    pub receiver: Receiver,
    /// The applying (SQL) thread.
    pub applier: Applier,
    pub seconds_behind: Option<u64>,
    /// Everything it has received from its source, applied or not (MariaDB Gtid_IO_Pos or the
    /// applied position if further; MySQL Retrieved_Gtid_Set ∪ gtid_executed).
    pub received: Gtids,
    pub last_io_error: Option<String>,
    pub last_sql_error: Option<String>,
}

impl Replication {
    /// Both threads run (the IO thread may be reconnecting).
    pub fn is_running(&self) -> bool {
        self.applier == Applier::Running && self.receiver.runs()
    }

    /// Both threads run and the IO thread is connected.
    pub fn is_connected(&self) -> bool {
        self.receiver == Receiver::Connected && self.applier == Applier::Running
    }

    pub fn error(&self) -> Option<String> {
        self.last_sql_error
            .clone()
            .or_else(|| self.last_io_error.clone())
    }
}

/// A replica's receiving (IO) thread, as the engine's replica status says it
/// (`Slave_IO_Running` / `Replica_IO_Running`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Receiver {
    /// "Yes": connected to its source.
    Connected,
    /// "Connecting": running, not (yet, or no longer) connected to its source.
    Connecting,
    /// "No": not running.
    #[default]
    Stopped,
    /// Any other answer (e.g. MariaDB's "Preparing"), kept as the server said it. Counts as
    /// neither running nor connected.
    Other(String),
}

impl Receiver {
    /// Reads the engine's word for the receiving thread (both engines use the same words).
    pub fn parse(text: &str) -> Self {
        match text {
            "Yes" => Receiver::Connected,
            "Connecting" => Receiver::Connecting,
            "No" => Receiver::Stopped,
            other => Receiver::Other(other.to_string()),
        }
    }

    /// The engine's own word for it, as `status` shows it.
    pub fn as_str(&self) -> &str {
        match self {
            Receiver::Connected => "Yes",
            Receiver::Connecting => "Connecting",
            Receiver::Stopped => "No",
            Receiver::Other(text) => text,
        }
    }

    /// The thread runs, connected or trying to connect.
    pub fn runs(&self) -> bool {
        matches!(self, Receiver::Connected | Receiver::Connecting)
    }
}

impl fmt::Display for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Receiver {
    /// As the engine's word (`status -o json` shows what the server said).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A replica's applying (SQL) thread, as the engine's replica status says it
/// (`Slave_SQL_Running` / `Replica_SQL_Running`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Applier {
    /// "Yes": applying what was received.
    Running,
    /// "No": not running.
    #[default]
    Stopped,
    /// Any other answer, kept as the server said it. Counts as not running.
    Other(String),
}

impl Applier {
    /// Reads the engine's word for the applying thread (both engines use the same words).
    pub fn parse(text: &str) -> Self {
        match text {
            "Yes" => Applier::Running,
            "No" => Applier::Stopped,
            other => Applier::Other(other.to_string()),
        }
    }

    /// The engine's own word for it, as `status` shows it.
    pub fn as_str(&self) -> &str {
        match self {
            Applier::Running => "Yes",
            Applier::Stopped => "No",
            Applier::Other(text) => text,
        }
    }
}

impl fmt::Display for Applier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The port every member's server listens on.
pub const PORT: i32 = 3306;

/// Users whose sessions a fence leaves alone: replication and the server itself. Every other
/// session ends, those of the plugin's own account included (a `kubectl mysqlha sql` session
/// kept open on the old primary must not write on beside the new one); the fence's own session
/// is spared by its id.
pub const KEEP_SESSIONS_OF: &str = "'system user', 'event_scheduler', 'repl'";

impl serde::Serialize for Applier {
    /// As the engine's word (`status -o json` shows what the server said).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The form a base backup's data takes in object storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupFormat {
    /// mariadb-backup --stream=xbstream (extracted with mbstream, then prepared).
    Xbstream,
    /// A tar of a MySQL clone directory (CLONE LOCAL DATA DIRECTORY).
    CloneTar,
}

/// Base backups and their restore, by engine: the scripts are the engine's operation scripts,
/// run from an operation's workspace `op`.
impl Engine {
    pub fn backup_format(self) -> BackupFormat {
        match self {
            Engine::Mariadb => BackupFormat::Xbstream,
            Engine::Mysql => BackupFormat::CloneTar,
        }
    }

    /// The command that writes a base backup of the server to stdout (in its server container).
    /// `of_replica`: MariaDB records the replica's position too (--slave-info).
    pub fn base_backup_command(self, op: &str, of_replica: bool) -> Vec<String> {
        match self {
            Engine::Mariadb if of_replica => vec![
                "sh".into(),
                format!("{op}/backup.sh"),
                "--slave-info".into(),
            ],
            Engine::Mariadb => vec!["sh".into(), format!("{op}/backup.sh")],
            Engine::Mysql => vec!["sh".into(), format!("{op}/backup-local.sh")],
        }
    }

    /// The command that empties a waiting data directory, marks it incomplete and extracts a
    /// base backup arriving on stdin (in the data container).
    pub fn restore_command(self, op: &str) -> Vec<String> {
        let script = match self {
            Engine::Mariadb => "start-clone.sh",
            Engine::Mysql => "restore.sh",
        };
        vec!["sh".into(), format!("{op}/{script}")]
    }

    /// The command that completes an extracted, checked base backup (MariaDB prepares it) and
    /// removes the incomplete mark: the server starts on it.
    pub fn finish_restore_command(self, op: &str) -> Vec<String> {
        let script = match self {
            Engine::Mariadb => "finish-clone.sh",
            Engine::Mysql => "finish-restore.sh",
        };
        vec!["sh".into(), format!("{op}/{script}")]
    }

    /// Statements that make a server restored from another cluster's backup this cluster's
    /// primary: no replication of the old cluster, this cluster's passwords (not logged: the
    /// replicas are cloned from it afterwards), and (MariaDB) a binary log that continues the
    /// backup's GTID position `position` instead of starting over.
    pub fn adopt_restored_statements(
        self,
        position: &str,
        root: &str,
        replication: &str,
    ) -> String {
        let (root, replication) = (
            crate::db::sqltext::quote(root),
            crate::db::sqltext::quote(replication),
        );
        let accounts = format!(
            "SET SESSION sql_log_bin = 0;\n\
             ALTER USER IF EXISTS root@localhost IDENTIFIED BY {root};\n\
             ALTER USER IF EXISTS root@'%' IDENTIFIED BY {root};\n\
             ALTER USER IF EXISTS repl@'%' IDENTIFIED BY {replication};\n\
             SET SESSION sql_log_bin = 1;\n"
        );
        match self {
            Engine::Mariadb => format!(
                "STOP SLAVE;\nRESET SLAVE ALL;\n{accounts}RESET MASTER;\n\
                 SET GLOBAL gtid_binlog_state = {position};\nSET GLOBAL gtid_slave_pos = {position};\n",
                position = crate::db::sqltext::quote(position)
            ),
            Engine::Mysql => format!("STOP REPLICA;\nRESET REPLICA ALL;\n{accounts}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_skip_what_is_held_and_stop_at_the_target() {
        let cmd = Engine::Mariadb.replay_command(
            "mariadb -umysql",
            "0-1-5",
            Some("2026-12-07 01:02:03"),
            Some("0-1-9"),
        );
        assert_eq!(cmd[..4], ["bash", "-o", "pipefail", "-c"]);
        assert_eq!(
            cmd[4],
            "TZ=UTC mariadb-binlog --start-position=0-1-5 --stop-datetime='2026-12-07 01:02:03' --stop-position=0-1-9 - | mariadb -umysql"
        );
        let cmd = Engine::Mariadb.replay_command("mariadb", "", None, None);
        assert_eq!(cmd[4], "TZ=UTC mariadb-binlog - | mariadb");
        let cmd = Engine::Mysql.replay_command("mysql", "u:1-5", None, Some("u:1-9"));
        assert_eq!(cmd[4], "TZ=UTC mysqlbinlog --include-gtids=u:1-9 - | mysql");
    }

    #[test]
    fn a_position_grows_by_later_transactions_only() {
        let m = |t: &str| Engine::Mariadb.parse_gtids(t).unwrap();
        let grown = m("0-1-5,1-2-3")
            .with(&m("0-3-7"))
            .with(&m("1-2-2"))
            .with(&m("2-1-1"));
        assert_eq!(grown.to_string(), "0-3-7,1-2-3,2-1-1");
        let y = |t: &str| Engine::Mysql.parse_gtids(t).unwrap();
        let u = "89b9a1c0-f1d6-11f1-8191-e606fefd81e7";
        let grown = y(&format!("{u}:1-4"))
            .with(&y(&format!("{u}:5")))
            .with(&y(&format!("{u}:7")));
        assert_eq!(grown.to_string(), format!("{u}:1-5:7"));
    }

    #[test]
    fn thread_states_show_the_words_the_server_used() {
        for word in ["Yes", "No", "Connecting", "Preparing", ""] {
            assert_eq!(Receiver::parse(word).to_string(), word);
        }
        for word in ["Yes", "No", ""] {
            assert_eq!(Applier::parse(word).to_string(), word);
        }
    }

    #[test]
    fn only_a_connected_or_connecting_receiver_runs() {
        assert!(Receiver::parse("Yes").runs());
        assert!(Receiver::parse("Connecting").runs());
        assert!(!Receiver::parse("No").runs());
        assert!(!Receiver::parse("Preparing").runs());
        assert!(!Receiver::default().runs());
    }

    #[test]
    fn engines_are_recorded_by_name() {
        assert_eq!(Engine::from_record(None).unwrap(), Engine::Mariadb);
        assert_eq!(Engine::from_record(Some("mysql")).unwrap(), Engine::Mysql);
        assert!(Engine::from_record(Some("postgres")).is_err());
        assert_eq!(Engine::Mysql.to_string(), "mysql");
    }

    #[test]
    fn errant_and_includes_for_both_engines() {
        let m = |s: &str| Engine::Mariadb.parse_gtids(s).unwrap();
        assert!(m("0-1-10").includes(&m("0-1-9")));
        assert_eq!(
            m("0-1-10,0-2-3").errant_against(&m("0-1-12")).to_string(),
            "0-2-3"
        );
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let y = |s: &str| Engine::Mysql.parse_gtids(s).unwrap();
        assert!(y(&format!("{u}:1-10")).includes(&y(&format!("{u}:1-9"))));
        let errant = y(&format!("{u}:1-12")).errant_against(&y(&format!("{u}:1-10")));
        assert_eq!(errant.to_string(), format!("{u}:11-12"));
        assert!(!m("0-1-1").includes(&y(&format!("{u}:1"))));
    }

    #[test]
    fn beyond_lists_what_the_other_lacks_for_both_engines() {
        let m = |s: &str| Engine::Mariadb.parse_gtids(s).unwrap();
        assert_eq!(m("0-1-7").beyond(&m("0-1-6")), (vec!["0-1-7".into()], 1));
        assert_eq!(
            m("0-1-9").beyond(&m("0-1-6")),
            (vec!["0-1-7..0-1-9".into()], 3)
        );
        assert_eq!(m("0-1-6").beyond(&m("0-1-6")), (vec![], 0));
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let y = |s: &str| Engine::Mysql.parse_gtids(s).unwrap();
        assert_eq!(
            y(&format!("{u}:1-12")).beyond(&y(&format!("{u}:1-10"))),
            (vec![format!("{u}:11-12")], 2)
        );
    }
}
