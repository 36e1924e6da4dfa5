//! Command-line interface: global flags shared with kubectl, and one subcommand per file in cmd/.
use crate::db::engine::Engine;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-mysqlha",
    bin_name = "kubectl mysqlha",
    about = "Create and run a highly available MySQL or MariaDB primary/replica cluster on Kubernetes",
    version = crate::base::VERSION_LINE,
    propagate_version = true,
    after_help = "Examples:\n  kubectl mysqlha create shop --replicas 3\n  kubectl mysqlha status shop\n  kubectl mysqlha scale shop --replicas 5"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the cluster (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

pub use crate::base::style::{ColorChoice, OutputFormat};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a cluster: one primary, the rest replicas cloned from it
    #[command(
        after_help = "Examples:\n  kubectl mysqlha create shop\n  kubectl mysqlha create shop --replicas 1 --storage 1Gi\n  kubectl mysqlha create shop --dry-run | kubectl apply --dry-run=server -f -"
    )]
    Create(CreateArgs),
    /// Show roles, GTID positions, replication threads, lag, errors and a verdict
    #[command(
        after_help = "Examples:\n  kubectl mysqlha status shop\n  kubectl mysqlha status shop -o json\n  kubectl mysqlha status shop --watch\n  kubectl mysqlha status shop --watch 10s --color never >> status.log"
    )]
    Status(StatusArgs),
    /// Change the number of members; new replicas are cloned from a healthy replica
    #[command(
        after_help = "Examples:\n  kubectl mysqlha scale shop --replicas 5\n  kubectl mysqlha scale shop --replicas 2"
    )]
    Scale(ScaleArgs),
    /// Re-clone a broken or diverged replica from a healthy donor and rejoin it
    #[command(
        after_help = "Examples:\n  kubectl mysqlha rebuild-replica shop shop-2 --yes\n  kubectl mysqlha rebuild-replica shop shop-2 --from shop-1\n  kubectl mysqlha rebuild-replica shop shop-2 --lost-node --yes"
    )]
    RebuildReplica(RebuildArgs),
    /// Planned move of the primary to a replica, losing no write
    #[command(
        after_help = "Examples:\n  kubectl mysqlha switchover shop\n  kubectl mysqlha switchover shop --to shop-2\n  kubectl mysqlha switchover shop --dry-run\n\nWith --dry-run nothing is changed and no lock is taken: it prints each member's positions,\nthe target and why, and what would be refused; it exits 0 when the switchover would proceed\nand 1 (with the refusal as the error) when it would refuse."
    )]
    Switchover(SwitchoverArgs),
    /// Promote a replica when the primary is lost (fences the old primary first)
    #[command(
        after_help = "Examples:\n  kubectl mysqlha failover shop --yes\n  kubectl mysqlha failover shop --to shop-1 --yes\n  kubectl mysqlha failover shop --dry-run --force\n  kubectl mysqlha failover shop --dry-run -o json\n\nWith --dry-run nothing is changed and no lock is taken (no IO thread is stopped, nothing is\nfenced): it prints each member's received and applied positions, the candidate and why,\nwhat would be refused, and the transactions (GTIDs) that promoting the candidate could lose,\nnaming the members that cannot be reached. It exits 0 when the failover would proceed and 1\n(with the refusal as the error) when it would refuse."
    )]
    Failover(FailoverArgs),
    /// Move every member to a new server image, one at a time, the primary last by switchover
    ///
    /// Replicas first, each restarted on IMAGE, the engine's upgrade step run (MariaDB:
    /// mariadb-upgrade), back in replication and caught up before the next; then a switchover to
    /// an upgraded replica (writes are refused only then); then the old primary. The server
    /// series is read from IMAGE's tag; a downgrade is refused with nothing changed. Interrupted,
    /// running it again finishes it.
    #[command(
        after_help = "Examples:\n  kubectl mysqlha upgrade shop --image mariadb:11.8\n  kubectl mysqlha upgrade shop --image registry.example/mariadb:11.8.3 --timeout 30m"
    )]
    Upgrade(UpgradeArgs),
    /// Change a running cluster: server settings, resources and storage size
    ///
    /// Every change is checked before anything changes: each --set key=value is tried on the
    /// primary (set and set back), or, for a setting the server cannot change at runtime, by the
    /// server binary's own option check; a value the server rejects is refused with nothing
    /// changed. Settings are recorded in the cluster's ConfigMap for later starts; dynamic ones
    /// are applied with SET GLOBAL on every member, no restart. Settings that need a restart,
    /// --memory and --cpu roll: only members that need it restart, replicas one at a time, the
    /// primary last by switchover. --storage grows every member's volume where the StorageClass
    /// allows expansion (never shrinks).
    #[command(
        after_help = "Examples:\n  kubectl mysqlha set shop --set max_connections=500\n  kubectl mysqlha set shop --set table_open_cache_instances=4\n  kubectl mysqlha set shop --memory 2Gi --cpu 1\n  kubectl mysqlha set shop --storage 50Gi\n  kubectl mysqlha set shop --set long_query_time=2 --set slow_query_log=ON"
    )]
    Set(SetArgs),
    /// Delete a cluster (its data too, unless --keep-data)
    #[command(
        after_help = "Examples:\n  kubectl mysqlha delete shop --yes\n  kubectl mysqlha delete shop --keep-data --yes"
    )]
    Delete(DeleteArgs),
    /// Run the database client on a member, as the plugin's account (no password)
    #[command(
        after_help = "Examples:\n  kubectl mysqlha sql shop\n  kubectl mysqlha sql shop --replica -e \"SELECT @@hostname\"\n  kubectl mysqlha sql shop --pod shop-2 -- --table\n  echo 'SELECT 1' | kubectl mysqlha sql shop"
    )]
    Sql(SqlArgs),
    /// Write a support archive (tar.gz): manifests, status, members' state, logs
    ///
    /// The archive holds the cluster's manifests (Secrets as key names only), `status -o json`,
    /// and per member its replication status, GTID state, key variables, log tails, Pod and
    /// events, with a README saying what each file is. Every value of the cluster's Secrets is
    /// blanked from every file. Changes nothing.
    #[command(
        after_help = "Examples:\n  kubectl mysqlha report shop\n  kubectl mysqlha report shop -o shop.tar.gz --force\n  kubectl mysqlha report shop -o - | tar tzf -"
    )]
    Report(ReportArgs),
    /// Backups to S3-compatible object storage: enable, take one now, list, verify
    ///
    /// `backup enable` records where a cluster's backups go (s3://BUCKET/PREFIX, an endpoint for
    /// a server other than AWS, and the Secret holding AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY) after checking that the bucket answers to that key; from then on
    /// the cluster's agent archives its binary logs continuously (about every 200 ms), and
    /// takes base backups --every PERIOD and deletes those older than --keep PERIOD when asked.
    /// `backup NAME` streams a base backup of a replica (the primary when no replica is
    /// healthy) straight into a multipart upload (MariaDB: mariadb-backup; MySQL: a clone staged
    /// in the member's container, sent as a tar), then writes its manifest (size, SHA-256, GTID
    /// positions, tables). It takes no operation lock: a failover may run meanwhile.
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  kubectl mysqlha backup enable shop --to s3://backups/prod --endpoint https://s3.example --credentials shop-s3\n  kubectl mysqlha backup enable shop --to s3://backups/prod --credentials shop-s3 --every 24h --keep 7d\n  kubectl mysqlha backup shop\n  kubectl mysqlha backup list shop\n  kubectl mysqlha backup verify shop\n  kubectl mysqlha backup disable shop\n\nThe Secret --credentials names, made once:\n  kubectl create secret generic shop-s3 --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=..."
    )]
    Backup(BackupArgs),
    /// Create a new cluster from the backups of another, to a time or a GTID
    ///
    /// The newest complete base backup of cluster FROM before the target (or --backup ID) is
    /// streamed into the new cluster's first member and checked against its manifest (size and
    /// SHA-256) before the server starts on it; the server then takes this cluster's passwords
    /// and must hold the GTID position and every table the backup recorded, or the restore
    /// fails. The replicas are cloned from it; then FROM's archived binary logs are replayed up
    /// to --to-time or --to-gtid (everything archived when neither is given; nothing when only
    /// --backup is), and the agent deployed, as by create. The store is FROM's (`backup
    /// enable`) unless --to, --endpoint and --credentials name it.
    #[command(
        after_help = "Examples:\n  kubectl mysqlha restore shop2 --from shop\n  kubectl mysqlha restore shop2 --from shop --to-time 2026-12-07T09:59:00Z\n  kubectl mysqlha restore shop2 --from shop --to-gtid 0-1-12345\n  kubectl mysqlha restore shop2 --from shop --backup 20261206T213700Z --replicas 2\n  kubectl mysqlha restore shop2 --from shop --to s3://backups/prod --endpoint https://s3.example --credentials shop-s3"
    )]
    Restore(RestoreArgs),
    /// The automatic-failover agent: enable or disable it for a cluster (run is the agent itself)
    #[command(
        after_help = "Examples:\n  kubectl mysqlha agent enable shop\n  kubectl mysqlha agent enable shop --grace 10s --cooldown 10m\n  kubectl mysqlha agent disable shop\n\nThe agent (2 pods, one leading through Lease NAME-agent) probes the primary every second over\nthe pod network; when it has not answered for the grace time and no replica still receives\nfrom it, the leader takes the cluster's operation lock and runs the same failover as\n`kubectl mysqlha failover`. Every decision is an Event on the cluster."
    )]
    Agent(AgentArgs),
    /// The cluster's TLS: rotate its certificates without a restart, or enable it
    ///
    /// `tls rotate` issues every member a new certificate from the cluster's CA, writes them
    /// into the credentials Secret and into each running member, which reloads them (MariaDB
    /// FLUSH SSL, MySQL ALTER INSTANCE RELOAD TLS: no restart, connections stay); then each
    /// replica in turn reconnects to its source, verifying the new certificate. A new CA takes
    /// three runs, so that clients never meet a certificate they do not trust: `--ca` makes a
    /// new CA (Secret NAME-ca) that every member trusts beside the old one (ConfigMap NAME-ca
    /// holds both; the members keep their certificates); once clients trust it, `tls rotate`
    /// issues certificates of the new CA; then `--drop-old-ca` trusts only the new one.
    /// `tls enable` gives a cluster made without TLS its CA and certificates and restarts its
    /// members one at a time (the primary after a switchover), then points each replica at the
    /// primary over TLS, verified.
    #[command(
        after_help = "Examples:\n  kubectl mysqlha tls rotate shop\n  kubectl mysqlha tls rotate shop --ca\n  kubectl mysqlha tls rotate shop --drop-old-ca\n  kubectl mysqlha tls enable shop"
    )]
    Tls(TlsArgs),
    /// Print alert rules for Prometheus on the agent's metrics
    ///
    /// A rules file for Prometheus's `rule_files`, or with `--format prometheus-rule` a
    /// PrometheusRule for the prometheus-operator. Every alert's description names the command
    /// that fixes it. The agent serves the metrics on port 9560 of its pods (docs/metrics.md).
    #[command(
        after_help = "Examples:\n  kubectl mysqlha alerts > /etc/prometheus/rules/mysqlha.yaml\n  kubectl mysqlha alerts --format prometheus-rule -n monitoring | kubectl apply -f -"
    )]
    Alerts(AlertsArgs),
    /// Print the plugin's version and git commit
    #[command(after_help = "Examples:\n  kubectl mysqlha version")]
    Version,
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  kubectl mysqlha completion bash > /etc/bash_completion.d/kubectl-mysqlha"
    )]
    Completion(CompletionArgs),
    /// Candidates for kubectl's plugin completion (used by kubectl_complete-mysqlha)
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Cluster name (DNS-1035 label, at most 45 characters)
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Number of members, primary included (1 means a lone primary)
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub replicas: i32,
    /// Database engine: mariadb (10.11, 11.8) or mysql (9.7); default mariadb, or the engine
    /// of the kept data when the cluster is brought back
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Server image (default: mariadb:10.11 or mysql:9.7 by --engine; $MYSQLHA_IMAGE or
    /// $MYSQLHA_MYSQL_IMAGE override the default)
    #[arg(long)]
    pub image: Option<String>,
    /// Size of each member's volume
    #[arg(long, default_value = "10Gi")]
    pub storage: String,
    /// StorageClass of the volumes (default: the cluster's default class)
    #[arg(long)]
    pub storage_class: Option<String>,
    /// CPU request of the server container
    #[arg(long)]
    pub cpu: Option<String>,
    /// Memory request of the server container
    #[arg(long)]
    pub memory: Option<String>,
    /// How long to wait for the cluster to become healthy
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print every manifest as YAML and contact nothing
    #[arg(long)]
    pub dry_run: bool,
    /// On kept data (after delete --keep-data): take this member as the primary when the
    /// members' histories diverged; members holding transactions it lacks are re-cloned from it
    #[arg(long, value_name = "POD")]
    pub primary: Option<String>,
    /// semi-sync: a commit returns only once a replica has it (no acknowledged write is lost;
    /// writes wait while no replica is connected). async: never wait, may lose recent writes.
    #[arg(long, value_enum, default_value_t = Durability::SemiSync)]
    pub durability: Durability,
    /// How clones travel: direct (pod to pod, one-time token) or api (through the plugin)
    #[arg(long, value_enum, default_value_t = Transfer::Direct)]
    pub transfer: Transfer,
    /// Do not deploy the automatic-failover agent (`kubectl mysqlha agent enable` adds it later)
    #[arg(long)]
    pub no_agent: bool,
    /// The agent's image (default: the plugin's release image; $MYSQLHA_AGENT_IMAGE overrides it)
    #[arg(long, value_name = "IMAGE", conflicts_with = "no_agent")]
    pub agent_image: Option<String>,
    /// Servers refuse clients that do not use TLS (require_secure_transport). Without it, TLS
    /// is offered to every client and used by replication and clones, verified.
    #[arg(long, conflicts_with = "no_tls")]
    pub require_tls: bool,
    /// No certificates: replication and clones in plain text as the engine does by default
    /// (measurements, and clients that cannot verify)
    #[arg(long)]
    pub no_tls: bool,
    /// Sign the members' certificates with this CA: a Secret of type kubernetes.io/tls (tls.crt,
    /// tls.key; cert-manager's CA issuers keep theirs so). Default: a CA of the cluster's own,
    /// in Secret NAME-ca
    #[arg(long, value_name = "SECRET", conflicts_with = "no_tls")]
    pub tls_ca: Option<String>,
}

pub use crate::cluster::Transfer;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    SemiSync,
    Async,
}

/// The per-cluster operation lock every changing command takes first.
#[derive(Args, Debug, Clone, Default)]
pub struct LockArgs {
    /// When another operation holds the cluster's lock, wait for it (at most this long,
    /// 10m when given without a value) instead of failing at once
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "10m", value_parser = parse_duration)]
    pub wait: Option<Duration>,
}

impl Command {
    /// For a command that changes a cluster: the cluster, the operation's name and how long to
    /// wait for the lock. None for read-only commands.
    pub fn operation(&self) -> Option<(&str, &'static str, Option<Duration>)> {
        let (name, operation, lock) = match self {
            Command::Create(a) => (&a.name, "create", &a.lock),
            Command::Scale(a) => (&a.name, "scale", &a.lock),
            Command::RebuildReplica(a) => (&a.name, "rebuild-replica", &a.lock),
            // A dry run changes nothing and takes no lock.
            Command::Switchover(a) if !a.dry_run => (&a.name, "switchover", &a.lock),
            Command::Failover(a) if !a.dry_run => (&a.name, "failover", &a.lock),
            Command::Delete(a) => (&a.name, "delete", &a.lock),
            Command::Upgrade(a) => (&a.name, "upgrade", &a.lock),
            Command::Set(a) => (&a.name, "set", &a.lock),
            Command::Restore(a) => (&a.create.name, "restore", &a.create.lock),
            Command::Agent(AgentArgs {
                command: AgentCommand::Enable(a),
            }) => (&a.name, "agent-enable", &a.lock),
            Command::Agent(AgentArgs {
                command: AgentCommand::Disable(a),
            }) => (&a.name, "agent-disable", &a.lock),
            Command::Tls(TlsArgs {
                command: TlsCommand::Rotate(a),
            }) => (&a.name, "tls-rotate", &a.lock),
            Command::Tls(TlsArgs {
                command: TlsCommand::Enable(a),
            }) => (&a.name, "tls-enable", &a.lock),
            _ => return None,
        };
        Some((name.as_str(), operation, lock.wait))
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The cluster to back up now
    #[arg(required = true)]
    pub name: Option<String>,
    /// The longest the backup may take
    #[arg(long, default_value = "2h", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Record where the cluster's backups go, once the bucket answers to the key
    Enable(BackupEnableArgs),
    /// Forget where the cluster's backups go (the backups stay in the store)
    Disable(BackupNameArgs),
    /// The cluster's base backups: time, GTID position, size, engine and version
    List(BackupListArgs),
    /// Read a backup's data whole and compare its size and SHA-256 with its manifest
    Verify(BackupVerifyArgs),
}

/// Where backups are: a bucket and prefix, an endpoint, a Secret with the key.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// s3://BUCKET/PREFIX
    #[arg(long = "to", value_name = "URL")]
    pub to: Option<String>,
    /// The S3-compatible server's URL (default: AWS)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The Secret (in the cluster's namespace) holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    #[arg(long, value_name = "SECRET")]
    pub credentials: Option<String>,
}

#[derive(Args, Debug)]
pub struct BackupEnableArgs {
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Take a base backup this often, in the cluster (by the agent), e.g. 24h (at least 1m)
    #[arg(long, value_name = "PERIOD", value_parser = parse_period)]
    pub every: Option<Duration>,
    /// Keep base backups this long (the newest always; the archive as far back as the oldest
    /// kept backup needs), deleting older ones, e.g. 7d; default: keep everything
    #[arg(long, value_name = "PERIOD", value_parser = parse_period)]
    pub keep: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct BackupNameArgs {
    pub name: String,
}

#[derive(Args, Debug)]
pub struct BackupListArgs {
    pub name: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct BackupVerifyArgs {
    pub name: String,
    /// The backup's ID (default: the newest complete one)
    pub backup: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// The cluster whose backup is restored
    #[arg(long, value_name = "CLUSTER")]
    pub from: String,
    /// The backup's ID (default: the newest complete one before the target). Named without
    /// --to-time/--to-gtid, that backup is restored exactly, with no binary log replayed
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// Restore to this time (RFC 3339): every transaction stamped before it, none at or after
    /// it (stamps are whole seconds; a fraction rounds up); from the archived binary logs
    #[arg(long, value_name = "TIME", conflicts_with = "to_gtid")]
    pub to_time: Option<String>,
    /// Restore to exactly this GTID position (MariaDB, e.g. 0-1-1234) or set (MySQL,
    /// UUID:1-1234): its transactions, none after
    #[arg(long, value_name = "GTIDS")]
    pub to_gtid: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    pub name: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Refresh every INTERVAL (2s when given without a value) until Ctrl-C: in place on a
    /// terminal, else one report after another with a blank line between; table output only
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, default_missing_value = "2s", value_parser = parse_duration)]
    pub watch: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct ScaleArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Wanted number of members, primary included
    #[arg(long, allow_negative_numbers = true)]
    pub replicas: i32,
    /// How clones travel: direct (pod to pod, one-time token) or api (through the plugin)
    #[arg(long, value_enum, default_value_t = Transfer::Direct)]
    pub transfer: Transfer,
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct RebuildArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The replica pod to re-clone
    pub pod: String,
    /// Donor pod (default: the healthy replica with the least lag, else the primary)
    #[arg(long, value_name = "POD")]
    pub from: Option<String>,
    /// The replica's node is lost for good: release its claim and pod (only once Kubernetes
    /// reports the node lost) and re-create the member on a live node, cloned afresh
    #[arg(long)]
    pub lost_node: bool,
    /// How clones travel: direct (pod to pod, one-time token) or api (through the plugin)
    #[arg(long, value_enum, default_value_t = Transfer::Direct)]
    pub transfer: Transfer,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct SwitchoverArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The replica to promote (default: the most up-to-date healthy replica)
    #[arg(long, value_name = "POD")]
    pub to: Option<String>,
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Show what the switchover would do (each member's positions, the target and why, what
    /// would be refused) and change nothing; exit 1 with the refusal when it would refuse
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table, requires = "dry_run")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct FailoverArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The replica to promote (default: the one that received the most)
    #[arg(long, value_name = "POD")]
    pub to: Option<String>,
    /// Promote even when a replica cannot be reached (it may hold acknowledged writes)
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Show what the failover would do (each member's received and applied positions, the
    /// candidate and why, what would be refused, what could be lost) and change nothing; exit
    /// 1 with the refusal when it would refuse
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table, requires = "dry_run")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Keep the PersistentVolumeClaims (the data)
    #[arg(long)]
    pub keep_data: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    pub name: String,
    /// Connect to the healthy replica that lags least (running and replicating)
    #[arg(long, conflicts_with = "pod")]
    pub replica: bool,
    /// Connect to this member
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
    /// Run these statements, print the client's (tab-separated) output and exit with its status
    #[arg(short = 'e', long, value_name = "SQL")]
    pub execute: Option<String>,
    /// Extra arguments for the client after `--` (e.g. -- --table); none that changes the
    /// account or the connection
    #[arg(last = true, value_name = "CLIENT_ARGS")]
    pub client_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    pub name: String,
    /// Where to write the archive; `-` writes it to stdout (default:
    /// NAME-report-<UTC time>.tar.gz in the current directory)
    #[arg(short = 'o', long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub output: Option<PathBuf>,
    /// Overwrite FILE when it exists
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct TlsArgs {
    #[command(subcommand)]
    pub command: TlsCommand,
}

#[derive(Subcommand, Debug)]
pub enum TlsCommand {
    /// New member certificates (or with --ca a new CA), loaded without a restart
    #[command(
        after_help = "Examples:\n  kubectl mysqlha tls rotate shop\n  kubectl mysqlha tls rotate shop --ca\n  kubectl mysqlha tls rotate shop --drop-old-ca"
    )]
    Rotate(TlsRotateArgs),
    /// TLS for a cluster made without it (--no-tls, or by a version before TLS), rolling
    #[command(
        after_help = "Examples:\n  kubectl mysqlha tls enable shop\n  kubectl mysqlha tls enable shop --require-tls"
    )]
    Enable(TlsEnableArgs),
}

#[derive(Args, Debug)]
pub struct TlsEnableArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Servers refuse clients without TLS afterwards (require_secure_transport)
    #[arg(long)]
    pub require_tls: bool,
    /// The longest the whole change may take
    #[arg(long, default_value = "20m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct TlsRotateArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Only a new CA of the cluster's own (Secret NAME-ca), trusted beside the old one until
    /// --drop-old-ca; the members' certificates change at the next `tls rotate`
    #[arg(long, conflicts_with = "drop_old_ca")]
    pub ca: bool,
    /// Trust only the current CA (after a --ca rotation, once clients trust the new one)
    #[arg(long)]
    pub drop_old_ca: bool,
    /// The longest the rotation may take
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Deploy (or update) the agent of an existing cluster
    #[command(
        after_help = "Examples:\n  kubectl mysqlha agent enable shop\n  kubectl mysqlha agent enable shop --agent-image registry.example/kubectl-mysqlha:1.0 --grace 10s"
    )]
    Enable(AgentEnableArgs),
    /// Remove the agent of a cluster (automatic failover stops)
    #[command(after_help = "Examples:\n  kubectl mysqlha agent disable shop")]
    Disable(AgentDisableArgs),
    /// Run the agent (in the agent's pods; in-cluster credentials)
    #[command(after_help = "Examples:\n  kubectl-mysqlha agent run shop --grace 3s --cooldown 5m")]
    Run(AgentRunArgs),
}

/// The agent's grace time and cooldown unless told otherwise (create deploys it with them).
pub const DEFAULT_AGENT_GRACE: &str = "3s";
pub const DEFAULT_AGENT_COOLDOWN: &str = "5m";
pub const DEFAULT_AGENT_RESTART_GRACE: &str = "15s";

/// How the agent decides.
#[derive(Args, Debug, Clone)]
pub struct AgentTuning {
    /// How long the primary may go unanswered (since its last answer) before it counts as lost,
    /// if its replicas agree
    #[arg(long, default_value = DEFAULT_AGENT_GRACE, value_parser = parse_duration)]
    pub grace: Duration,
    /// How much longer a primary whose port refused or reset a connection during its silence
    /// is waited for (its pod answers, its server restarts in place)
    #[arg(long, default_value = DEFAULT_AGENT_RESTART_GRACE, value_parser = parse_duration)]
    pub restart_grace: Duration,
    /// After an automatic failover, at most one more for this long (when the new primary is
    /// lost too); after that second one, none until its own cooldown ends
    #[arg(long, default_value = DEFAULT_AGENT_COOLDOWN, value_parser = parse_duration)]
    pub cooldown: Duration,
    /// Re-clone, from a replica, a member that cannot serve by itself: an old primary holding
    /// transactions the primary lacks, a replica whose replication stopped on an error
    #[arg(long)]
    pub auto_rebuild: bool,
}

impl Default for AgentTuning {
    fn default() -> Self {
        let parse = |d| parse_duration(d).expect("a valid default duration");
        Self {
            grace: parse(DEFAULT_AGENT_GRACE),
            cooldown: parse(DEFAULT_AGENT_COOLDOWN),
            restart_grace: parse(DEFAULT_AGENT_RESTART_GRACE),
            auto_rebuild: false,
        }
    }
}

#[derive(Args, Debug)]
pub struct AgentEnableArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The agent's image (default: the plugin's release image; $MYSQLHA_AGENT_IMAGE overrides it)
    #[arg(long, value_name = "IMAGE")]
    pub agent_image: Option<String>,
    #[command(flatten)]
    pub tuning: AgentTuning,
}

#[derive(Args, Debug)]
pub struct AgentDisableArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Args, Debug)]
pub struct AgentRunArgs {
    pub name: String,
    #[command(flatten)]
    pub tuning: AgentTuning,
}

#[derive(Args, Debug)]
pub struct AlertsArgs {
    /// rules: a Prometheus rules file; prometheus-rule: a PrometheusRule object named
    /// mysqlha-alerts (in --namespace when given)
    #[arg(long, value_enum, default_value_t = AlertsFormat::Rules)]
    pub format: AlertsFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertsFormat {
    Rules,
    PrometheusRule,
}

#[derive(Args, Debug)]
pub struct CompletionArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    /// The words typed after `kubectl mysqlha`, the last one being completed
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// A number with one of `units` (or none: seconds), more than zero, at most `max` seconds
/// (`max_text`); the errors name it `what` and show `examples`.
fn parse_span(
    s: &str,
    what: &str,
    examples: &str,
    units: &[(&str, u64)],
    (max, max_text): (u64, &str),
) -> Result<Duration, String> {
    let invalid = || format!("invalid {what} '{s}' (use e.g. {examples})");
    let too_long = || format!("{what} '{s}' is too long (at most {max_text})");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let unit_secs = units
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, n)| *n)
        .ok_or_else(invalid)?;
    if num.is_empty() {
        return Err(invalid());
    }
    // Only digits here: a number that does not parse is beyond u64.
    let n: u64 = num.parse().map_err(|_| too_long())?;
    let secs = n
        .checked_mul(unit_secs)
        .filter(|&secs| secs <= max)
        .ok_or_else(too_long)?;
    if secs == 0 {
        return Err(format!("{what} '{s}' is zero (use e.g. {examples})"));
    }
    Ok(Duration::from_secs(secs))
}

/// A backup period: 45s, 90m, 24h, 7d (at most 3650d).
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let units = [("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)];
    parse_span(
        s,
        "period",
        "90m, 24h, 7d",
        &units,
        (3650 * 86_400, "3650d"),
    )
}

/// Parses durations like `90s`, `10m`, `1h` or a bare number of seconds: more than zero, at
/// most 7 days.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let units = [("s", 1), ("m", 60), ("h", 3_600)];
    parse_span(
        s,
        "duration",
        "90s, 10m, 1h",
        &units,
        (7 * 86_400, "7d = 168h"),
    )
}

impl GlobalArgs {
    /// Connects to the API server these flags name.
    pub async fn connect(&self) -> anyhow::Result<crate::k8s::context::Context> {
        crate::k8s::context::Context::connect(
            self.kubeconfig.as_deref(),
            self.context.clone(),
            self.namespace.clone(),
            self.color,
        )
        .await
    }
}

/// The agent's flags as its settings.
impl From<&AgentTuning> for crate::agent::Settings {
    fn from(flags: &AgentTuning) -> Self {
        crate::agent::Settings {
            grace: flags.grace,
            restart_grace: flags.restart_grace,
            cooldown: flags.cooldown,
            auto_rebuild: flags.auto_rebuild,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
        let week = Duration::from_secs(604_800);
        assert_eq!(parse_duration("168h").unwrap(), week);
        assert_eq!(parse_duration("604800").unwrap(), week);
        let u64_max_minutes = format!("{}m", u64::MAX);
        for too_long in ["169h", "604801s", "99999999999999999h", &u64_max_minutes] {
            let e = parse_duration(too_long).unwrap_err();
            assert!(e.contains("too long"), "{too_long}: {e}");
        }
        let e = parse_duration("99999999999999999999999h").unwrap_err();
        assert_eq!(
            e,
            "duration '99999999999999999999999h' is too long (at most 7d = 168h)"
        );
        assert!(parse_duration("h").unwrap_err().contains("invalid"));
        for zero in ["0", "0s", "0m", "00h"] {
            assert!(parse_duration(zero).is_err(), "{zero}");
        }
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn create_defaults() {
        let cli = Cli::try_parse_from(["kubectl-mysqlha", "create", "shop"]).unwrap();
        let Command::Create(a) = cli.command else {
            panic!()
        };
        assert_eq!(a.replicas, 3);
        assert_eq!(a.storage, "10Gi");
    }

    #[test]
    fn namespace_flag_anywhere() {
        let cli = Cli::try_parse_from(["kubectl-mysqlha", "status", "shop", "-n", "db"]).unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("db"));
    }

    #[test]
    fn sql_takes_client_arguments_after_the_double_dash() {
        let cli = Cli::try_parse_from([
            "kubectl-mysqlha",
            "sql",
            "shop",
            "-e",
            "SELECT 1",
            "--",
            "--table",
            "-N",
        ])
        .unwrap();
        assert!(cli.command.operation().is_none(), "sql takes no lock");
        let Command::Sql(a) = cli.command else {
            panic!()
        };
        assert_eq!(a.execute.as_deref(), Some("SELECT 1"));
        assert_eq!(a.client_args, ["--table", "-N"]);
    }

    #[test]
    fn sql_replica_and_pod_conflict() {
        let e = Cli::try_parse_from([
            "kubectl-mysqlha",
            "sql",
            "shop",
            "--replica",
            "--pod",
            "shop-1",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The server image every member is to run (its tag names the version, e.g. mariadb:11.8)
    #[arg(long)]
    pub image: String,
    #[arg(long, default_value = "20m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    pub name: String,
    #[command(flatten)]
    pub lock: LockArgs,
    /// Memory request of each member's server (e.g. 2Gi); members restart one at a time
    #[arg(long)]
    pub memory: Option<String>,
    /// CPU request of each member's server (e.g. 500m, 2); members restart one at a time
    #[arg(long)]
    pub cpu: Option<String>,
    /// A server setting, KEY=VALUE (repeatable); applied at runtime where the server allows it,
    /// otherwise by a rolling restart
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Size of every member's data volume (e.g. 20Gi); volumes only grow, and only where their
    /// StorageClass allows volume expansion
    #[arg(long)]
    pub storage: Option<String>,
    #[arg(long, default_value = "20m", value_parser = parse_duration)]
    pub timeout: Duration,
}
