//! Filling a member with data: bootstrap of the first primary, or a clone from a donor, then
//! replication by GTID. The clone method is the engine's: MariaDB streams a physical backup
//! (mariadb-backup in the donor → pod network or this process → mbstream in the target); MySQL
//! runs its clone plugin from the target, over TLS. Every step can be repeated: a member is
//! brought from whatever state it is in to serving.
use crate::base::progress::Task;
use crate::cluster::sql;
use crate::cluster::Transfer;
use crate::cluster::{observe, pod_phase, Cluster, PodPhase};
use crate::db::backup_info;
use crate::db::engine::{mariadb, Engine};
use crate::db::gtid::GtidList;
use crate::k8s::exec::{self, relay};
use crate::k8s::wait;
use crate::manifests::{Passwords, DATA_DIR};
use anyhow::{bail, Context, Result};
use kube::api::DeleteParams;
use tokio::sync::oneshot;

/// Brings member `pod` to serving: bootstraps it (the primary of a new cluster), clones it, or
/// finishes an interrupted clone, depending on where it is.
pub async fn ensure_member(
    cluster: &Cluster,
    pod: &str,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    ensure_member_from(cluster, pod, None, passwords, task).await
}

/// The member a clone streams from, and who is told once the stream from it has ended: the
/// donor is free for another clone then, while the recipient prepares its data, starts its
/// server and joins (which no longer use the donor).
pub struct Donor<'a> {
    pub name: &'a str,
    freed: Option<oneshot::Sender<()>>,
}

impl<'a> Donor<'a> {
    /// A donor nobody waits for.
    pub fn named(name: &'a str) -> Self {
        Self { name, freed: None }
    }

    /// A donor whose stream's end the receiver hears of: when the stream has ended, or when
    /// this Donor is dropped (the clone failed or did not need the donor).
    pub fn watched(name: &'a str) -> (Self, oneshot::Receiver<()>) {
        let (freed, heard) = oneshot::channel();
        let donor = Self {
            name,
            freed: Some(freed),
        };
        (donor, heard)
    }

    /// The stream from this donor has ended: tells whoever waits for it.
    fn stream_ended(self) {
        if let Some(freed) = self.freed {
            let _ = freed.send(());
        }
    }
}

/// As ensure_member, cloning from `donor` when given.
pub async fn ensure_member_from(
    cluster: &Cluster,
    pod: &str,
    donor: Option<Donor<'_>>,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    ensure(cluster, pod, donor, None, passwords, task).await
}

/// Fills a new cluster's first member otherwise than by bootstrapping it (a restore).
pub type FillFirst<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// As ensure_member for the primary of a new cluster, its waiting data filled by `fill` instead
/// of a bootstrap (a restore of a backup).
pub async fn ensure_primary_filled_by(
    cluster: &Cluster,
    pod: &str,
    fill: FillFirst<'_>,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    ensure(cluster, pod, None, Some(fill), passwords, task).await
}

async fn ensure(
    cluster: &Cluster,
    pod: &str,
    donor: Option<Donor<'_>>,
    fill_first: Option<FillFirst<'_>>,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    task.set("waiting for the pod");
    let phase = wait::pod_until(&cluster.pods, pod, "starts", |p| {
        matches!(p, PodPhase::WaitingForData | PodPhase::Running { .. })
    })
    .await?;
    let is_primary = pod == cluster.primary;
    let cloned = phase == PodPhase::WaitingForData && !is_primary;
    if cloned {
        let chosen;
        let donor = match donor {
            Some(d) => d,
            None => {
                chosen = choose_donor(cluster, pod).await?;
                Donor::named(&chosen)
            }
        };
        if let Err(e) = clone_from(cluster, donor, pod, passwords, task).await {
            // An interrupted earlier run's clone goes on in the pod after its plugin is gone
            // (exec'd commands outlive their connection); when it completes under this one, the
            // data container ends and the member holds a whole clone: go on with it.
            if !filled_meanwhile(cluster, pod).await {
                return Err(e);
            }
            task.set("an interrupted earlier clone completed meanwhile: going on with its data");
        }
    } else {
        // Nothing to stream: a donor given is free at once.
        drop(donor);
        if phase == PodPhase::WaitingForData {
            match fill_first {
                Some(fill) => fill.await?,
                None => bootstrap(cluster, pod, task).await?,
            }
        }
    }
    task.set("starting the server");
    wait::until_server_runs(&cluster.pods, pod).await?;
    // An exec into a container that is just starting can hang: each try has 30 s.
    let asking = format!("asking the server in {pod} for its state");
    let state = wait::retry(std::time::Duration::from_secs(300), &asking, || {
        wait::with_timeout(
            std::time::Duration::from_secs(30),
            &asking,
            observe(cluster.server(pod)),
        )
    })
    .await?;
    // A MySQL clone carries its donor's replication settings: set them for this cluster anyway.
    if !is_primary && (state.replication.is_none() || cloned) {
        let fresh = state.history.is_empty();
        start_replication(cluster, pod, fresh, passwords, task).await?;
    }
    task.set("waiting until ready");
    wait::until_ready(&cluster.pods, pod).await?;
    Ok(())
}

/// Whether `pod`'s data container has ended (its server runs): its data directory was filled,
/// by whoever filled it.
async fn filled_meanwhile(cluster: &Cluster, pod: &str) -> bool {
    let current = cluster.pods.get_opt(pod).await.ok().flatten();
    matches!(pod_phase(current.as_ref()), PodPhase::Running { .. })
}

/// Every operation (a bootstrap, one clone) works in its own directory in each container it
/// touches: OPS_PREFIX + a random id. Processes it leaves running are found again only through
/// that directory (see stop-stale.sh).
const OPS_PREFIX: &str = "/tmp/mysqlha-op-";

/// One operation's workspace in a container, for filling member `target`: the scripts, the
/// one-time token, the backup's work directory and the pid files of what it starts.
pub(crate) struct Operation {
    pub(crate) dir: String,
    target: String,
}

impl Operation {
    pub(crate) fn new(target: &str) -> Result<Self> {
        // Pod names are DNS labels; the name goes into a shell script below.
        if target.is_empty()
            || !target
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            bail!("unexpected pod name {target:?}");
        }
        Ok(Self {
            dir: format!("{OPS_PREFIX}{}", operation_id()?),
            target: target.to_string(),
        })
    }

    /// The path of `name` inside the workspace.
    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }
}

/// 12 random letters and digits: the first characters of a one-time token (each drawn
/// uniformly from the same alphabet).
fn operation_id() -> Result<String> {
    let token = crate::manifests::one_time_token().context("cannot make an operation id")?;
    Ok(token.chars().take(12).collect())
}

/// The scripts the plugin runs inside pods whatever the engine, shipped by this very plugin
/// (the engine adds its own: bootstrap, backup or clone).
const COMMON_OPERATION_SCRIPTS: [(&str, &str); 4] = [
    (
        "stop-stale.sh",
        include_str!("../manifests/scripts/stop-stale.sh"),
    ),
    (
        "check-secret.sh",
        include_str!("../manifests/scripts/check-secret.sh"),
    ),
    ("send.pl", include_str!("../manifests/scripts/send.pl")),
    (
        "receive.pl",
        include_str!("../manifests/scripts/receive.pl"),
    ),
];

/// Creates the operation's workspace in a container (private to its user) and writes the
/// operation scripts and the target's name into it (one exec, over stdin).
pub(crate) async fn install_scripts(target: exec::Target<'_>, op: &Operation) -> Result<()> {
    let dir = &op.dir;
    let mut installer = format!(
        "set -e\numask 077\nmkdir -m 700 {dir}\nprintf '%s\\n' '{}' > {dir}/target\n",
        op.target
    );
    let engine_scripts = target.engine.operation_scripts();
    for (name, text) in COMMON_OPERATION_SCRIPTS.iter().chain(engine_scripts) {
        installer +=
            &format!("cat > {dir}/{name} <<'MYSQLHA_SCRIPT_END'\n{text}MYSQLHA_SCRIPT_END\n");
    }
    exec::run(target, &["sh", "-s"], Some(installer.as_bytes()))
        .await
        .map(|_| ())
        .context("installing the plugin's scripts")
}

async fn bootstrap(cluster: &Cluster, pod: &str, task: &Task) -> Result<()> {
    task.set("initialising the primary");
    let op = Operation::new(pod)?;
    install_scripts(cluster.data_init(pod), &op).await?;
    let script = op.path("bootstrap.sh");
    fill(cluster, pod, &["sh", &script], None)
        .await
        .context("bootstrapping the primary")?;
    Ok(())
}

/// Runs a script that completes `pod`'s data directory, in its data container. That container
/// ends the moment the data is complete, which can cut the script's exec short (exit 137) after
/// its work is done: a data container that has ended successfully counts as done.
pub(crate) async fn fill(
    cluster: &Cluster,
    pod: &str,
    command: &[&str],
    stdin: Option<&[u8]>,
) -> Result<()> {
    let Err(error) = exec::run(cluster.data_init(pod), command, stdin).await else {
        return Ok(());
    };
    let ended = format!("the data container of {pod} has ended");
    let limit = std::time::Duration::from_secs(5);
    match wait::until_some(limit, &ended, || async {
        Ok(data_container_done(cluster, pod).await.then_some(()))
    })
    .await
    {
        Ok(()) => Ok(()),
        Err(_) => Err(error),
    }
}

/// The data container of `pod` has ended with status 0: its data directory is complete.
async fn data_container_done(cluster: &Cluster, pod: &str) -> bool {
    let Ok(Some(current)) = cluster.pods.get_opt(pod).await else {
        return false;
    };
    current
        .status
        .and_then(|s| s.init_container_statuses)
        .into_iter()
        .flatten()
        .any(|c| {
            c.name == crate::manifests::DATA_CONTAINER
                && c.state
                    .and_then(|s| s.terminated)
                    .is_some_and(|t| t.exit_code == 0)
        })
}

/// The donor for a new replica: the healthy replica with the least lag, else the primary.
pub async fn choose_donor(cluster: &Cluster, target: &str) -> Result<String> {
    // While a cluster is mixed (an upgrade under way), only a donor of the series the target
    // will run: its data is prepared by the target's own tools.
    let series = template_series(cluster);
    let mut best: Option<(u64, String)> = None;
    for m in cluster
        .members
        .iter()
        .filter(|m| m.name != target && m.name != cluster.primary)
    {
        if !is_ready(cluster, &m.name).await {
            continue;
        }
        let Ok(state) = observe(cluster.server(&m.name)).await else {
            continue;
        };
        if !crate::db::server_version::can_clone(&state.version, series) {
            continue;
        }
        let Some(repl) = state.replication.filter(|r| r.is_connected()) else {
            continue;
        };
        let lag = repl.seconds_behind.unwrap_or(u64::MAX);
        if best.as_ref().is_none_or(|(l, _)| lag < *l) {
            best = Some((lag, m.name.clone()));
        }
    }
    if let Some((_, name)) = best {
        return Ok(name);
    }
    if !is_ready(cluster, &cluster.primary).await {
        bail!(
            "no healthy donor: no replica replicates and the primary {} is not ready",
            cluster.primary
        );
    }
    check_same_series(cluster, &cluster.primary, target).await?;
    Ok(cluster.primary.clone())
}

/// Refuses `donor` for `target` when it runs another server series than the target will (the
/// StatefulSet's image): a backup is prepared by the target's own tools.
pub async fn check_same_series(cluster: &Cluster, donor: &str, target: &str) -> Result<()> {
    let Some((major, minor)) = template_series(cluster) else {
        return Ok(());
    };
    let version = observe(cluster.server(donor)).await?.version;
    if !crate::db::server_version::can_clone(&version, Some((major, minor))) {
        bail!(
            "no donor for {target} runs server series {major}.{minor} (its image's): {donor} runs {version}; finish the upgrade first (kubectl mysqlha upgrade {} --image ...)",
            cluster.name
        );
    }
    Ok(())
}

/// The server series a new or restarted member runs: the one the StatefulSet's image names.
fn template_series(cluster: &Cluster) -> Option<(u32, u32)> {
    crate::db::server_version::image_series(&cluster.template_image()?)
}

async fn is_ready(cluster: &Cluster, pod: &str) -> bool {
    let current = cluster.pods.get_opt(pod).await.ok().flatten();
    pod_phase(current.as_ref()) == (PodPhase::Running { ready: true })
}

/// Fills `target`'s waiting data directory with a copy of `donor`'s, by the engine's method,
/// telling `donor`'s watcher as soon as the stream from it has ended.
async fn clone_from(
    cluster: &Cluster,
    donor: Donor<'_>,
    target: &str,
    passwords: &Passwords,
    task: &Task,
) -> Result<u64> {
    match cluster.engine {
        Engine::Mariadb => stream_backup(cluster, donor, target, task).await,
        Engine::Mysql => clone_by_plugin(cluster, donor, target, passwords, task).await,
    }
}

/// Readies waiting member `target` to receive a clone before any donor is taken for it, so
/// the donor serves only the stream. MySQL: the throw-away server that runs the CLONE is
/// initialised and started (`clone.sh --prepare`; the clone takes it over). MariaDB: nothing.
pub async fn prepare_to_receive(cluster: &Cluster, target: &str, task: &Task) -> Result<()> {
    match cluster.engine {
        Engine::Mariadb => return Ok(()),
        Engine::Mysql => {}
    }
    task.set("starting a server to clone into (before taking a donor)");
    let op = Operation::new(target)?;
    let prepared = async {
        install_scripts(cluster.data_init(target), &op).await?;
        exec::run(
            cluster.data_init(target),
            &["sh", &op.path("clone.sh"), "--prepare"],
            None,
        )
        .await
    };
    match prepared.await {
        Ok(_) => Ok(()),
        // Filled under it by an interrupted earlier clone (see ensure_member_from): nothing to
        // prepare any more.
        Err(_) if filled_meanwhile(cluster, target).await => Ok(()),
        Err(e) => Err(e.context(format!("preparing {target} to receive a clone"))),
    }
}

/// MySQL: the target runs CLONE INSTANCE FROM the donor (clone.sh), the replication password
/// on stdin. Returns 0: the plugin's byte count stays in the new member's
/// performance_schema.clone_progress (tests/bench/clone reads it there). The donor's side ends
/// with the CLONE statement, shortly before clone.sh (which then only stops its throw-away
/// server and moves the data into place): the donor is free when clone.sh ends. The throw-away
/// server is the one `prepare_to_receive` started when it ran, else clone.sh starts it.
async fn clone_by_plugin(
    cluster: &Cluster,
    donor: Donor<'_>,
    target: &str,
    passwords: &Passwords,
    task: &Task,
) -> Result<u64> {
    let name = donor.name;
    task.set(&format!("cloning from {name} (MySQL clone plugin, TLS)"));
    let op = Operation::new(target)?;
    install_scripts(cluster.data_init(target), &op).await?;
    let donor_address = format!("{}:{}", cluster.host_of(name), crate::manifests::MYSQL_PORT);
    let started = std::time::Instant::now();
    let script = op.path("clone.sh");
    let password = format!("{}\n", passwords.replication);
    fill(
        cluster,
        target,
        &["sh", &script, &donor_address],
        Some(password.as_bytes()),
    )
    .await
    .with_context(|| format!("cloning {target} from {name}"))?;
    donor.stream_ended();
    task.set(&format!(
        "cloned from {name} in {:.2}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(0)
}

/// MariaDB: streams a physical backup of `donor` into `target`'s waiting data directory and
/// prepares it (the donor is free once the backup has streamed).
async fn stream_backup(
    cluster: &Cluster,
    donor: Donor<'_>,
    target: &str,
    task: &Task,
) -> Result<u64> {
    let name = donor.name;
    let estimate = data_size(cluster, name).await.ok();
    let how = match cluster.transfer {
        Transfer::Direct => "pod to pod",
        Transfer::Api => "through the API server",
    };
    task.bytes(&format!("cloning from {name} ({how})"), estimate);
    let op = Operation::new(target)?;
    install_scripts(cluster.server(name), &op).await?;
    install_scripts(cluster.data_init(target), &op).await?;
    let backup = format!(
        "{}{}",
        op.path("backup.sh"),
        if name == cluster.primary {
            ""
        } else {
            " --slave-info"
        }
    );
    let started = std::time::Instant::now();
    let bytes = match cluster.transfer {
        Transfer::Direct => stream_direct(cluster, name, &backup, target, &op, task).await,
        Transfer::Api => stream_through_plugin(cluster, name, &backup, target, &op, task).await,
    }
    .with_context(|| format!("cloning {target} from {name}"))?;
    donor.stream_ended();
    let seconds = started.elapsed().as_secs_f64();
    task.set(&format!(
        "streamed {} bytes from {name} in {seconds:.2}s ({:.1} MB/s, {how}); preparing the backup",
        bytes,
        bytes as f64 / seconds.max(0.001) / 1e6
    ));
    // finish-clone.sh removes the target's workspace itself (the container ends once it is done).
    let finish = op.path("finish-clone.sh");
    fill(cluster, target, &["sh", &finish], None)
        .await
        .context("preparing the cloned data")?;
    // Best effort: a leftover workspace is only a few small files, and the next clone of this
    // target removes it.
    let _ = exec::run(cluster.server(name), &["rm", "-rf", &op.dir], None).await;
    Ok(bytes)
}

/// donor: mariadb-backup → exec stdout → this process → exec stdin → target: mbstream.
async fn stream_through_plugin(
    cluster: &Cluster,
    donor: &str,
    backup: &str,
    target: &str,
    op: &Operation,
    task: &Task,
) -> Result<u64> {
    let extract = op.path("start-clone.sh");
    let backup = format!("sh {backup}");
    relay(
        cluster.server(donor),
        &["sh", "-c", &backup],
        cluster.data_init(target),
        &["sh", &extract],
        |n| task.position(n),
    )
    .await
}

/// The port on which a target pod listens, once, for its clone.
const DIRECT_PORT: u16 = 4444;

/// donor: mariadb-backup → pod network → target: mbstream, the connection being the backup's
/// stdout and mbstream's stdin (send.pl and receive.pl make it and step aside: no process
/// copies the stream on its way). The target admits only the holder of a one-time token,
/// handed to both ends over exec stdin (never in a process list), and stops listening after
/// that one connection.
async fn stream_direct(
    cluster: &Cluster,
    donor: &str,
    backup: &str,
    target: &str,
    op: &Operation,
    task: &Task,
) -> Result<u64> {
    let pod = cluster
        .pods
        .get(target)
        .await
        .with_context(|| format!("cannot read pod {target}"))?;
    let address = pod
        .status
        .and_then(|s| s.pod_ip)
        .with_context(|| format!("pod {target} has no IP address yet"))?;
    let token = crate::manifests::one_time_token().context("cannot make a one-time token")?;
    let token_line = format!("{token}\n");
    // A receiver left listening by an interrupted clone of this target would hold the port and
    // turn the new sender away (wrong token): end it first (stop-stale.sh ends only what earlier
    // operations of this plugin for this target recorded).
    let dir = &op.dir;
    let tunnel = cluster.tls_files().map(|files| Tunnel {
        receiver: files.clone(),
        sender: files,
        receiver_name: cluster.host_of(target),
        local_port: local_port(&op.dir),
    });
    let receive = receive_command(dir, tunnel.as_ref());
    let receiver = exec::start(
        cluster.data_init(target),
        &["bash", "-c", &receive],
        Some(token_line.as_bytes()),
    )
    .await?;
    let token_file = op.path("token");
    let keep_token = format!("umask 077; cat > {token_file}");
    exec::run(
        cluster.server(donor),
        &["sh", "-c", &keep_token],
        Some(token_line.as_bytes()),
    )
    .await?;
    let send = send_command(dir, &address, tunnel.as_ref(), &token_file, backup);
    let sender = exec::start(cluster.server(donor), &["bash", "-c", &send], None).await?;
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let sent = sender.wait_lines(|line| {
        if let Ok(n) = line.trim().parse::<u64>() {
            bytes.store(n, std::sync::atomic::Ordering::Relaxed);
            task.position(n);
        }
    });
    let received = receiver.wait();
    tokio::pin!(sent, received);
    let first = tokio::select! {
        r = &mut sent => End::Sender(r),
        r = &mut received => End::Receiver(r.map(drop)),
    };
    match first {
        End::Sender(Err(e)) => {
            // The receiver waits for a sender that will never come (receive.pl gives up only
            // after 120 s): end it now, and say what failed.
            end_receiver(cluster, target, op).await;
            return Err(e.context("the backup failed on the donor"));
        }
        End::Sender(Ok(())) => {
            wait::with_timeout(
                STREAM_GRACE,
                "waiting for the target's receiver to end",
                received,
            )
            .await
            .context("receiving the backup failed on the target")?;
        }
        // A sender cut off by a failed receiver fails at its next write.
        End::Receiver(Err(e)) => return Err(e.context("receiving the backup failed on the target")),
        End::Receiver(Ok(())) => {
            wait::with_timeout(STREAM_GRACE, "waiting for the donor's sender to end", sent)
                .await
                .context("the backup failed on the donor")?;
        }
    }
    Ok(bytes.load(std::sync::atomic::Ordering::Relaxed))
}

/// Which end of a direct clone ended first.
enum End {
    Sender(Result<()>),
    Receiver(Result<()>),
}

/// How long one end of a direct clone may take to end once the other has ended well.
const STREAM_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

/// Ends the target's receiver of this operation (receive.pl and, over TLS, its socat), best
/// effort: the next clone of this target ends whatever is left anyway (stop-stale.sh).
async fn end_receiver(cluster: &Cluster, target: &str, op: &Operation) {
    let script = format!(
        "for f in {dir}/receive.pid {dir}/tls-receive.pid; do [ -f $f ] && kill -9 $(cat $f); done; true",
        dir = op.dir
    );
    let _ = wait::with_timeout(
        std::time::Duration::from_secs(30),
        "ending the clone's receiver",
        exec::run(cluster.data_init(target), &["sh", "-c", &script], None),
    )
    .await;
}

/// A direct clone over TLS: the stream leaves the donor and enters the target through socat
/// (OpenSSL; in Debian's mariadb-server and the official image), each end presenting its
/// member's certificate and verifying the other's against the cluster's CA (the sender also
/// checks the target's name). send.pl and receive.pl then talk to socat over loopback, so the
/// stream crosses the pod network only encrypted.
struct Tunnel {
    receiver: crate::db::engine::TlsFiles,
    sender: crate::db::engine::TlsFiles,
    /// The name the target's certificate must carry (its member Service's).
    receiver_name: String,
    /// The loopback port between socat and the perl end, in each pod.
    local_port: u16,
}

/// A loopback port for this operation's tunnel, from its id (two clones from one donor at
/// once do not share one).
fn local_port(operation_dir: &str) -> u16 {
    let sum = operation_dir.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    20000 + (sum % 20000) as u16
}

const SOCAT_MISSING: &str =
    "the image has no socat: a clone over TLS needs it (or clone with --transfer api)";

/// The target's side of a direct clone: receive.pl on the pod network, or (TLS) socat there
/// and receive.pl on loopback behind it. socat starts first (receive.pl becomes this shell), so
/// its connection to receive.pl is retried until receive.pl listens: a sender arriving at once
/// was reset otherwise, and the clone failed after receive.pl's 120 s (seen on the bed with
/// two clones from one donor at once).
fn receive_command(dir: &str, tunnel: Option<&Tunnel>) -> String {
    let start = format!("OP={dir}; . {dir}/stop-stale.sh; stop_stale; ");
    let Some(t) = tunnel else {
        return format!(
            "{start}exec perl {dir}/receive.pl {DIRECT_PORT} {dir}/receive.pid sh {dir}/start-clone.sh"
        );
    };
    let f = &t.receiver;
    let port = t.local_port;
    format!(
        "{start}command -v socat >/dev/null || {{ echo '{SOCAT_MISSING}' >&2; exit 1; }}; \
         socat -lf {dir}/tls-receive.log -t 30 -b 131072 OPENSSL-LISTEN:{DIRECT_PORT},reuseaddr,cert={},key={},cafile={},verify=1 TCP:127.0.0.1:{port},retry=100,interval=0.1 </dev/null >/dev/null 2>&1 & \
         tunnel=$!; echo $tunnel > {dir}/tls-receive.pid; \
         perl {dir}/receive.pl 127.0.0.1:{port} {dir}/receive.pid sh {dir}/start-clone.sh; rc=$?; \
         kill $tunnel 2>/dev/null; [ $rc = 0 ] || sed 's/^/socat: /' {dir}/tls-receive.log >&2; exit $rc",
        f.cert, f.key, f.ca
    )
}

/// The donor's side: send.pl to the target's pod address, or (TLS) to socat on loopback, which
/// carries it to the target over TLS; socat's log is shown when the send fails.
fn send_command(
    dir: &str,
    address: &str,
    tunnel: Option<&Tunnel>,
    token_file: &str,
    backup: &str,
) -> String {
    let Some(t) = tunnel else {
        return format!("exec perl {dir}/send.pl {address} {DIRECT_PORT} {token_file} sh {backup}");
    };
    let f = &t.sender;
    let port = t.local_port;
    format!(
        "command -v socat >/dev/null || {{ echo '{SOCAT_MISSING}' >&2; exit 1; }}; \
         socat -lf {dir}/tls-send.log -t 30 -b 131072 TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr OPENSSL:{address}:{DIRECT_PORT},cert={},key={},cafile={},commonname={},verify=1,connect-timeout=5,retry=60,interval=0.5 </dev/null >/dev/null 2>&1 & \
         tunnel=$!; echo $tunnel > {dir}/tls-send.pid; \
         perl {dir}/send.pl 127.0.0.1 {port} {token_file} sh {backup}; rc=$?; \
         kill $tunnel 2>/dev/null; [ $rc = 0 ] || sed 's/^/socat: /' {dir}/tls-send.log >&2; exit $rc",
        f.cert, f.key, f.ca, t.receiver_name
    )
}

/// Bytes a backup of `pod` will stream, about: its data directory without binary, relay and
/// redo logs (the backup copies only the redo written while it runs).
async fn data_size(cluster: &Cluster, pod: &str) -> Result<u64> {
    let out = exec::run(
        cluster.server(pod),
        &[
            "du",
            "-sb",
            "--exclude=mysql-bin.*",
            "--exclude=relay-bin.*",
            "--exclude=ib_logfile*",
            DATA_DIR,
        ],
        None,
    )
    .await?;
    out.stdout
        .split_whitespace()
        .next()
        .context("du printed nothing")?
        .parse()
        .context("du output")
}

/// The GTID position the member's cloned data was taken at.
pub(crate) async fn cloned_position(cluster: &Cluster, pod: &str) -> Result<GtidList> {
    // mariadb-backup 10.x names them xtrabackup_*, 11.x mariadb_backup_*.
    let read =
        |file: &str| format!("{DATA_DIR}/xtrabackup_{file} {DATA_DIR}/mariadb_backup_{file}");
    let (slave, binlog) = (read("slave_info"), read("binlog_info"));
    let script =
        format!("cat {slave} 2>/dev/null; echo '--mysqlha--'; cat {binlog} 2>/dev/null; true");
    let out = exec::run(cluster.server(pod), &["sh", "-c", &script], None).await?;
    let (slave_info, binlog_info) = out.stdout.split_once("--mysqlha--\n").unwrap_or(("", ""));
    backup_info::backup_gtid(
        Some(slave_info),
        Some(binlog_info).filter(|b| !b.trim().is_empty()),
    )
    .with_context(|| format!("{pod}: cannot read the position of its cloned data"))
}

/// Points `pod` at the primary of record from the position its data was cloned at (MariaDB: the
/// backup's position, see mariadb::start_from_backup for `fresh`; MySQL: its gtid_executed).
pub async fn start_replication(
    cluster: &Cluster,
    pod: &str,
    fresh: bool,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    task.set("starting replication");
    let host = cluster.host_of(&cluster.primary);
    let tls = cluster.tls_files();
    let sql = match cluster.engine {
        Engine::Mariadb => {
            let position = cloned_position(cluster, pod).await?.to_string();
            let source = observe(cluster.server(&cluster.primary)).await?.version;
            mariadb::start_from_backup_of(
                &position,
                fresh,
                &host,
                &passwords.replication,
                tls.as_ref(),
                &source,
            )
        }
        // The clone carried gtid_executed: auto-position starts from there.
        Engine::Mysql => {
            cluster
                .engine
                .follow_statements(&host, &passwords.replication, false, tls.as_ref())
        }
    };
    sql::execute(cluster.server(pod), &sql)
        .await
        .with_context(|| format!("{pod}: starting replication"))
}

/// Waits until `pod` has applied everything the primary had committed when this was called.
pub async fn catch_up(cluster: &Cluster, pod: &str, task: &Task) -> Result<()> {
    task.set("catching up with the primary");
    let primary = observe(cluster.server(&cluster.primary)).await?;
    crate::ops::topology::wait_applied(
        cluster,
        pod,
        &primary.applied.to_string(),
        CATCH_UP_STALL,
        CATCH_UP_LIMIT,
    )
    .await
}

/// A catching-up replica whose applied position stands still this long has stopped.
const CATCH_UP_STALL: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest a catch-up may take while it progresses.
const CATCH_UP_LIMIT: std::time::Duration = std::time::Duration::from_secs(1800);

/// Marks `pod`'s data incomplete (it turns unready at once and stays out of service across
/// restarts) and restarts it: it comes back waiting for a clone.
pub async fn take_out_of_service(cluster: &Cluster, pod: &str) -> Result<()> {
    let marker = format!("{DATA_DIR}/.mysqlha-incomplete");
    exec::run(cluster.server(pod), &["touch", &marker], None)
        .await
        .with_context(|| format!("{pod}: marking its data incomplete"))?;
    cluster
        .pods
        .delete(pod, &DeleteParams::default())
        .await
        .with_context(|| format!("cannot restart pod {pod}"))?;
    Ok(())
}

/// Throws away replica `pod`'s data, re-clones it from `donor` and rejoins it once caught up.
pub async fn rebuild(
    cluster: &Cluster,
    pod: &str,
    donor: Donor<'_>,
    passwords: &Passwords,
    task: &Task,
) -> Result<()> {
    // A pod that is (re)starting is waited for: its old data must be marked before it serves.
    let phase = wait::pod_until(&cluster.pods, pod, "starts", |p| {
        matches!(p, PodPhase::WaitingForData | PodPhase::Running { .. })
    })
    .await?;
    if let PodPhase::Running { .. } = phase {
        task.set("taking the replica out of service");
        take_out_of_service(cluster, pod).await?;
        wait::pod_until(&cluster.pods, pod, "waits for data", |p| {
            *p == PodPhase::WaitingForData
        })
        .await?;
    }
    ensure_member_from(cluster, pod, Some(donor), passwords, task).await?;
    catch_up(cluster, pod, task).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel() -> Tunnel {
        let files = crate::manifests::tls::member_files();
        Tunnel {
            receiver: files.clone(),
            sender: files,
            receiver_name: "db-1-repl.ns.svc.cluster.local".into(),
            local_port: local_port("/tmp/mysqlha-op-abc"),
        }
    }

    #[test]
    fn over_tls_the_stream_is_plain_only_on_loopback_and_both_ends_verify() {
        let t = tunnel();
        let receive = receive_command("/tmp/mysqlha-op-abc", Some(&t));
        // receive.pl listens on loopback only; socat takes the pod network, requires the
        // sender's certificate, and retries reaching receive.pl until it listens.
        assert!(
            receive.contains(&format!("receive.pl 127.0.0.1:{} ", t.local_port)),
            "{receive}"
        );
        assert!(receive.contains("OPENSSL-LISTEN:4444,"), "{receive}");
        assert!(receive.contains("verify=1"), "{receive}");
        assert!(
            receive.contains(&format!("TCP:127.0.0.1:{},retry=", t.local_port)),
            "{receive}"
        );
        let send = send_command(
            "/tmp/mysqlha-op-abc",
            "10.0.0.7",
            Some(&t),
            "/tmp/t",
            "b.sh",
        );
        assert!(send.contains("OPENSSL:10.0.0.7:4444,"), "{send}");
        assert!(
            send.contains("commonname=db-1-repl.ns.svc.cluster.local,verify=1"),
            "{send}"
        );
        assert!(send.contains("bind=127.0.0.1"), "{send}");
        // The sender retries reaching the target's socat (it may start after the sender), for
        // a bounded time.
        assert!(
            send.contains("connect-timeout=5,retry=60,interval=0.5"),
            "{send}"
        );
        // Neither socat holds the exec's output open (an exec ends only when every holder of
        // its stdout has closed it: a socat still waiting for a peer that never came hung the
        // clone for good), and each ends with its perl end.
        for (side, script) in [("receive", &receive), ("send", &send)] {
            assert!(script.contains(&format!("tls-{side}.log ")), "{script}");
            let socat = script.split("socat -lf").nth(1).unwrap();
            let background = socat.split(" & ").next().unwrap();
            assert!(
                background.ends_with("</dev/null >/dev/null 2>&1"),
                "{background}"
            );
            assert!(script.contains("kill $tunnel"), "{script}");
            assert!(!script.contains("exec perl"), "{script}");
        }
        // Without TLS: as before, receive.pl on the pod network.
        let plain = receive_command("/tmp/mysqlha-op-abc", None);
        assert!(plain.contains("receive.pl 4444 "), "{plain}");
        assert!(!plain.contains("socat"), "{plain}");
        assert!((20000..40000).contains(&t.local_port));
        assert_ne!(
            local_port("/tmp/mysqlha-op-abc"),
            local_port("/tmp/mysqlha-op-abd")
        );
    }

    #[test]
    fn each_operation_has_its_own_workspace() {
        let a = Operation::new("shop-1").unwrap();
        let b = Operation::new("shop-1").unwrap();
        assert_ne!(a.dir, b.dir);
        let id = a.dir.strip_prefix(OPS_PREFIX).unwrap();
        assert_eq!(id.len(), 12);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(a.path("token"), format!("{}/token", a.dir));
        assert_eq!(a.target, "shop-1");
        for bad in ["", "shop-1'; rm -rf /", "Shop 1", "shop/1"] {
            assert!(Operation::new(bad).is_err(), "{bad:?}");
        }
    }
}
