//! Helpers for the end-to-end tests: they run the real plugin binary and kubectl against the
//! test bed (`eval "$(tests/testbed/up)"`), and real mariadbd processes in its pods.
#![allow(dead_code)]
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod prometheus;

pub const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-mysqlha");

/// The database engine a test runs against; end-to-end tests run for both (for_both_engines!).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Mariadb,
    Mysql,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadb",
            Engine::Mysql => "mysql",
        }
    }

    /// The test bed's image of this engine.
    pub fn image(self) -> String {
        let var = match self {
            Engine::Mariadb => "MYSQLHA_IMAGE",
            Engine::Mysql => "MYSQLHA_MYSQL_IMAGE",
        };
        std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: bring the test bed up"))
    }

    /// The command line client in the image.
    pub fn client(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadb",
            Engine::Mysql => "mysql",
        }
    }

    /// The server's process name on the host.
    pub fn server_process(self) -> &'static str {
        match self {
            Engine::Mariadb => "mariadbd",
            Engine::Mysql => "mysqld",
        }
    }

    /// A query whose one value is everything the server has written (its GTID position).
    pub fn position_query(self) -> &'static str {
        match self {
            Engine::Mariadb => "SELECT @@gtid_binlog_pos",
            Engine::Mysql => "SELECT REPLACE(@@gtid_executed, '\\n', '')",
        }
    }

    /// A query that waits (at most 60 s) until the server has applied `position`.
    pub fn wait_query(self, position: &str) -> String {
        match self {
            Engine::Mariadb => format!("SELECT MASTER_GTID_WAIT('{position}', 60)"),
            Engine::Mysql => format!("SELECT WAIT_FOR_EXECUTED_GTID_SET('{position}', 60)"),
        }
    }

    /// `sql` run on a replica through its read-only guard: an errant transaction.
    pub fn errant_write(self, sql: &str) -> String {
        match self {
            Engine::Mariadb => {
                format!("SET GLOBAL read_only = OFF; {sql}; SET GLOBAL read_only = ON;")
            }
            Engine::Mysql => {
                format!("SET GLOBAL super_read_only = OFF; {sql}; SET GLOBAL super_read_only = ON;")
            }
        }
    }
}

/// Runs each named test (a `fn(Engine)`) once per engine: `mariadb::NAME` and `mysql::NAME`.
#[macro_export]
macro_rules! for_both_engines {
    ($($test:ident),* $(,)?) => {
        mod mariadb {
            $( #[test] fn $test() { super::$test($crate::common::Engine::Mariadb) } )*
        }
        mod mysql {
            $( #[test] fn $test() { super::$test($crate::common::Engine::Mysql) } )*
        }
    };
}

/// Fails (never skips) when the test bed is not up.
pub fn require_testbed() {
    assert!(
        std::env::var_os("KUBECONFIG").is_some() && std::env::var_os("MYSQLHA_IMAGE").is_some(),
        "the test bed is not up: run `eval \"$(tests/testbed/up)\"` first (KUBECONFIG and MYSQLHA_IMAGE must be set)"
    );
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    finish(child.wait_with_output().unwrap())
}

pub fn kubectl(args: &[&str]) -> Run {
    run("kubectl", args, None)
}

/// How long a test lets one plugin command run (the longest expected, an upgrade of three
/// members on a loaded bed, takes a few minutes).
pub const PLUGIN_HANG_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A namespace of its own for one test, deleted (with everything in it) when dropped.
pub struct Namespace {
    pub name: String,
    /// The engine of the clusters this test makes.
    pub engine: Engine,
}

impl Namespace {
    pub fn new(prefix: &str) -> Self {
        Self::with_engine(prefix, Engine::Mariadb)
    }

    pub fn with_engine(prefix: &str, engine: Engine) -> Self {
        require_testbed();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let short = match engine {
            Engine::Mariadb => "",
            Engine::Mysql => "-my",
        };
        let name = format!("{prefix}{short}-{:05x}", nanos % 0xfffff);
        kubectl(&["create", "namespace", &name]).ok();
        Namespace { name, engine }
    }

    /// `--engine E --image I` for a create in this namespace.
    pub fn engine_args(&self) -> Vec<String> {
        vec![
            "--engine".into(),
            self.engine.name().into(),
            "--image".into(),
            self.engine.image(),
        ]
    }

    /// Everything `pod` has written (its GTID position), as the engine prints it.
    pub fn position(&self, pod: &str) -> String {
        self.admin_sql(pod, self.engine.position_query())
            .ok()
            .stdout
            .trim()
            .to_string()
    }

    /// Waits until `pod` has applied everything `from` has written.
    pub fn wait_applied(&self, pod: &str, from: &str) {
        let position = self.position(from);
        let out = self.admin_sql(pod, &self.engine.wait_query(&position)).ok();
        assert_eq!(
            out.stdout.trim(),
            "0",
            "{pod} did not apply {position} from {from}"
        );
    }

    /// Runs the plugin in this namespace.
    /// The plugin with `args` in this namespace, ended after PLUGIN_HANG_LIMIT: a command
    /// that hangs fails its test within that (its own `--timeout` defaults to 10-30 min).
    pub fn plugin(&self, args: &[&str]) -> Run {
        self.plugin_within(args, PLUGIN_HANG_LIMIT)
    }

    /// The plugin with `args`, ended after `limit` (then its code is 124 or 137 and its stderr
    /// says so: see `hung`).
    pub fn plugin_within(&self, args: &[&str], limit: Duration) -> Run {
        let limit = format!("{}s", limit.as_secs());
        let mut all: Vec<&str> = vec!["--kill-after=10s", &limit, PLUGIN];
        all.extend(args);
        all.extend(["-n", &self.name]);
        let mut out = run("timeout", &all, None);
        if out.code == 124 || out.code == 137 {
            out.stderr.push_str(&format!(
                "\n(ended by the test: still running after {limit})\n"
            ));
        }
        out
    }

    pub fn kubectl(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = vec!["-n", &self.name];
        all.extend(args);
        kubectl(&all)
    }

    /// The cluster's root password, from its Secret.
    pub fn root_password(&self, cluster: &str) -> String {
        let out = self
            .kubectl(&[
                "get",
                "secret",
                &format!("{cluster}-credentials"),
                "-o",
                "jsonpath={.data.root-password}",
            ])
            .ok();
        let decoded = run("base64", &["-d"], Some(&out.stdout)).ok();
        decoded.stdout
    }

    /// SQL as root through the network (`host`: a pod's DNS name or a Service), run from `pod`.
    pub fn sql_as(&self, pod: &str, host: &str, user: &str, password: &str, sql: &str) -> Run {
        let pw = format!("MYSQL_PWD={password}");
        let args = [
            "exec",
            "-i",
            pod,
            "-c",
            "mysql",
            "--",
            "env",
            &pw,
            self.engine.client(),
            "-h",
            host,
            "-u",
            user,
            "-N",
            "-B",
        ];
        let mut all: Vec<&str> = vec!["-n", &self.name];
        all.extend(args);
        run("kubectl", &all, Some(sql))
    }

    /// SQL as root on `pod` itself over TCP.
    pub fn sql(&self, cluster: &str, pod: &str, sql: &str) -> Run {
        let pw = self.root_password(cluster);
        self.sql_as(pod, "127.0.0.1", "root", &pw, sql)
    }

    /// SQL through the socket as the plugin's own account (bypasses read_only).
    pub fn admin_sql(&self, pod: &str, sql: &str) -> Run {
        let args = [
            "exec",
            "-i",
            pod,
            "-c",
            "mysql",
            "--",
            self.engine.client(),
            "-umysql",
            "-N",
            "-B",
        ];
        let mut all: Vec<&str> = vec!["-n", &self.name];
        all.extend(args);
        run("kubectl", &all, Some(sql))
    }

    pub fn status_json(&self, cluster: &str) -> serde_json::Value {
        let out = self.plugin(&["status", cluster, "-o", "json"]).ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status -o json is not JSON ({e}): {}", out.stdout))
    }
}

impl Namespace {
    /// What a failed test leaves in its output (CI keeps only that): the pods, the last
    /// events, the members' server logs, and the agent's log when there is one.
    fn print_what_happened(&self) {
        let pods = self.kubectl(&["get", "pods", "-o", "wide"]).stdout;
        let events = self
            .kubectl(&[
                "get",
                "events",
                "--sort-by=.lastTimestamp",
                "-o",
                "custom-columns=TIME:.lastTimestamp,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message",
            ])
            .stdout;
        let last: Vec<&str> = events.lines().rev().take(40).collect();
        let agent = self
            .kubectl(&[
                "logs",
                "-l",
                "app.kubernetes.io/name=mysqlha-agent",
                "--prefix",
                "--tail=30",
            ])
            .stdout;
        // The servers' own logs (errors, replication stops) of every member.
        let servers = self
            .kubectl(&[
                "logs",
                "-l",
                "app.kubernetes.io/name=mysqlha",
                "-c",
                "mysql",
                "--prefix",
                "--tail=15",
            ])
            .stdout;
        eprintln!("--- namespace {} when the test failed", self.name);
        eprintln!("{pods}");
        eprintln!("last events, newest first:\n{}", last.join("\n"));
        if !servers.is_empty() {
            eprintln!("server logs:\n{servers}");
        }
        if !agent.is_empty() {
            eprintln!("agent logs:\n{agent}");
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_what_happened();
        }
        if std::env::var_os("MYSQLHA_KEEP_NAMESPACES").is_none() {
            kubectl(&["delete", "namespace", &self.name, "--wait=false"]);
            // Its pods go at once (no preStop, no grace period): their volumes are released
            // ~10–60 s sooner, and the suite holds fewer at a time (up to ~15 GB of them).
            kubectl(&[
                "delete",
                "pods",
                "--all",
                "-n",
                &self.name,
                "--grace-period=0",
                "--force",
                "--wait=false",
            ]);
        }
    }
}

/// Polls `check` until it returns true, failing after `limit`.
pub fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("timed out after {}s waiting until {what}", limit.as_secs());
}

/// Members of `status -o json` by role.
pub fn members_with_role(status: &serde_json::Value, role: &str) -> Vec<String> {
    status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == role)
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

/// A pod that commits numbered rows into `table` through the write Service, one connection per
/// row, and prints `ok N` only after the COMMIT of row N returned OK. Like any sane client it gives
/// up on a statement after 5 s: a primary that vanished from the network answers nothing, ever.
///
/// A no-loss check judges only a run that could show a loss: mark the fault (`mark_fault`,
/// which first waits for MIN_ACKNOWLEDGED acknowledged writes) right before making it; `stop`
/// then waits (at most WRITES_RESUME_LIMIT) for MIN_ACKNOWLEDGED more once the test has made
/// and ended its fault, and assert_no_acknowledged_write_lost refuses a run with fewer before
/// or after the fault, or one whose fault was never marked.
pub struct Writer<'a> {
    ns: &'a Namespace,
    pub pod: String,
    mark: std::cell::Cell<FaultMark>,
}

/// How few acknowledged writes cannot show a loss: a no-loss check refuses a writer with fewer
/// before its fault, or fewer after it.
pub const MIN_ACKNOWLEDGED: usize = 3;

/// How long `Writer::mark_fault` waits for the writes before the fault, and `Writer::stop` for
/// those after it.
pub const WRITES_RESUME_LIMIT: Duration = Duration::from_secs(60);

/// Where a writer's run stands against the test's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMark {
    /// Never marked: no no-loss check judges this writer.
    Unmarked,
    /// Marked by `mark_fault`: this many writes were acknowledged before the fault.
    Before(usize),
    /// Marked by `mark_fault_cutting_it_off`: this many acknowledged before a fault that cuts the
    /// writer off from every primary (it may acknowledge nothing after it, and nothing it does
    /// may be missing from the new primary).
    CutOffBefore(usize),
    /// Marked by `mark_no_fault`: the writer started after the faults; every write is after.
    NoFault,
}

/// What a stopped Writer acknowledged (a slice of ids, in the order written) and how its run
/// stood against the fault.
#[derive(Debug)]
pub struct Acked {
    pub ids: Vec<u64>,
    pub mark: FaultMark,
    /// Writes acknowledged after `stop` was called: the test had made and ended its fault.
    pub at_end: usize,
}

impl std::ops::Deref for Acked {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        &self.ids
    }
}

impl Acked {
    /// Panics unless the run can show a loss: at least MIN_ACKNOWLEDGED writes acknowledged
    /// before the marked fault, and (unless the fault cut the writer off) at least
    /// MIN_ACKNOWLEDGED once the test had ended its fault. A run with zero acknowledged writes
    /// passes "every acknowledged write is kept" whatever happened to the data.
    pub fn assert_enough_to_judge(&self) {
        let total = self.ids.len();
        let before = match self.mark {
            FaultMark::Unmarked => panic!(
                "this writer's fault was never marked: call Writer::mark_fault right before the fault (or mark_no_fault for a writer started after it); without it a run with no write acknowledged before the fault passes the no-loss check ({total} acknowledged)"
            ),
            FaultMark::Before(n) | FaultMark::CutOffBefore(n) => n,
            FaultMark::NoFault => 0,
        };
        if self.mark != FaultMark::NoFault {
            assert!(
                before >= MIN_ACKNOWLEDGED,
                "only {before} writes acknowledged before the fault (fewer than {MIN_ACKNOWLEDGED}): the run cannot show a loss"
            );
        }
        if !matches!(self.mark, FaultMark::CutOffBefore(_)) {
            assert!(
                self.at_end >= MIN_ACKNOWLEDGED,
                "only {} writes acknowledged within {}s once the fault was over (fewer than {MIN_ACKNOWLEDGED}; {before} before the fault, {total} in all): nothing shows writes going on after it",
                self.at_end,
                WRITES_RESUME_LIMIT.as_secs()
            );
        }
    }
}

impl<'a> Writer<'a> {
    /// A writer through the write Service NAME-primary, on any node.
    pub fn start(ns: &'a Namespace, cluster: &str, table: &str) -> Self {
        Self::start_at(ns, cluster, table, &format!("{cluster}-primary"), None)
    }

    /// A writer to `host` (the write Service, or a pod's address) running on node `on` (any
    /// node when None).
    pub fn start_at(
        ns: &'a Namespace,
        cluster: &str,
        table: &str,
        host: &str,
        on: Option<&str>,
    ) -> Self {
        let image = ns.engine.image();
        let client = ns.engine.client();
        let pod = format!("writer-{}", table.replace(['.', '_'], "-"));
        let pw = ns.root_password(cluster);
        let script = format!(
            "i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); \
             if timeout 5 {client} -h {host} -uroot --connect-timeout=2 -e \"INSERT INTO {table} (id) VALUES ($i)\" 2>/dev/null; then echo ok $i; else echo fail $i; sleep 0.2; fi; done; echo stopped"
        );
        let env = format!("--env=MYSQL_PWD={pw}");
        let overrides = on
            .map(|node| format!(r#"--overrides={{"spec":{{"nodeName":"{node}"}}}}"#))
            .unwrap_or_else(|| "--overrides={}".into());
        ns.kubectl(&[
            "run",
            &pod,
            "--image",
            &image,
            "--image-pull-policy=IfNotPresent",
            "--restart=Never",
            &env,
            &overrides,
            "--command",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .ok();
        ns.kubectl(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{pod}"),
            "--timeout=60s",
        ])
        .ok();
        Writer {
            ns,
            pod,
            mark: std::cell::Cell::new(FaultMark::Unmarked),
        }
    }

    /// Waits (at most WRITES_RESUME_LIMIT) until MIN_ACKNOWLEDGED writes are acknowledged, and
    /// marks the fault: call it right before making the fault. The no-loss check then needs
    /// these, and as many after the fault.
    pub fn mark_fault(&self) {
        self.mark
            .set(FaultMark::Before(self.wait_for_writes_before_the_fault()));
    }

    /// As `mark_fault`, for a writer the fault cuts off from every primary (pinned to the old
    /// primary's address): no write is required of it after the fault.
    pub fn mark_fault_cutting_it_off(&self) {
        self.mark.set(FaultMark::CutOffBefore(
            self.wait_for_writes_before_the_fault(),
        ));
    }

    /// Marks a writer started after the test's faults: every write is after them (the no-loss
    /// check needs MIN_ACKNOWLEDGED at the end).
    pub fn mark_no_fault(&self) {
        self.mark.set(FaultMark::NoFault);
    }

    fn wait_for_writes_before_the_fault(&self) -> usize {
        let mut count = 0;
        eventually(
            &format!(
                "{} has {MIN_ACKNOWLEDGED} acknowledged writes before the fault",
                self.pod
            ),
            WRITES_RESUME_LIMIT,
            || {
                count = self.acknowledged().len();
                count >= MIN_ACKNOWLEDGED
            },
        );
        count
    }

    /// Stops the writer and returns the ids whose COMMIT was acknowledged. A writer marked with
    /// mark_fault or mark_no_fault first writes on (at most WRITES_RESUME_LIMIT) until
    /// MIN_ACKNOWLEDGED more are acknowledged: the test calls this once its fault is over, so
    /// these are the writes after it (fewer make the no-loss check fail, saying so).
    pub fn stop(self) -> Acked {
        let mark = self.mark.get();
        let at_stop = self.acknowledged().len();
        if matches!(mark, FaultMark::Before(_) | FaultMark::NoFault) {
            let started = Instant::now();
            while self.acknowledged().len() < at_stop + MIN_ACKNOWLEDGED
                && started.elapsed() < WRITES_RESUME_LIMIT
            {
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        // The loop may see the file and end the container before `touch` itself has ended:
        // kubectl then reports 137 (the exec was killed with the container). Whether it stopped
        // is read from its log below.
        self.ns
            .kubectl(&["exec", &self.pod, "--", "touch", "/tmp/stop"]);
        eventually("the writer stops", Duration::from_secs(30), || {
            self.ns
                .kubectl(&["logs", &self.pod])
                .stdout
                .contains("stopped")
        });
        let ids = self.acknowledged();
        self.ns
            .kubectl(&["delete", "pod", &self.pod, "--wait=false"]);
        Acked {
            at_end: ids.len().saturating_sub(at_stop),
            ids,
            mark,
        }
    }

    pub fn acknowledged(&self) -> Vec<u64> {
        let logs = self.ns.kubectl(&["logs", &self.pod]).ok().stdout;
        logs.lines()
            .filter_map(|l| l.strip_prefix("ok "))
            .filter_map(|n| n.trim().parse().ok())
            .collect()
    }

    /// Waits (up to `limit`) until new writes are acknowledged: `what` names the wait.
    pub fn wait_for_acknowledgements(&self, what: &str, limit: Duration) {
        eventually(what, limit, || {
            let n = self.acknowledged().len();
            std::thread::sleep(Duration::from_secs(2));
            self.acknowledged().len() > n
        });
    }
}

/// Every id in `acked` (acknowledged by a Writer) is in `table` on `pod`; first, that the run
/// can show a loss at all (Acked::assert_enough_to_judge: writes acknowledged before the marked
/// fault and after it).
pub fn assert_no_acknowledged_write_lost(
    ns: &Namespace,
    cluster: &str,
    pod: &str,
    table: &str,
    acked: &Acked,
) {
    acked.assert_enough_to_judge();
    let ids = ns
        .sql(cluster, pod, &format!("SELECT id FROM {table}"))
        .ok()
        .stdout;
    let have: std::collections::HashSet<u64> =
        ids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let lost: Vec<&u64> = acked.iter().filter(|id| !have.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}

/// The members `status -o json` shows running and writable (read_only off).
pub fn writable_in(status: &serde_json::Value) -> Vec<String> {
    status["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter(|m| m["state"] == "running" && m["read_only"] == false)
                .map(|m| m["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// "Never two writable members", watched for a whole fault window: a thread runs `status -o
/// json` of the cluster over and over (half a second between answers) from `start` until
/// `assert_never_two_writable`, and keeps every answer that showed more than one member
/// running and writable. (`eventually(one writable)` at the end would pass a period of two.)
/// What status cannot reach (a member on a cut-off node) it cannot show either.
pub struct WritableSampler {
    cluster: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Sampled>>,
}

#[derive(Default)]
struct Sampled {
    asked: usize,
    answered: usize,
    two_writable: Vec<String>,
}

/// Fewer answered samples than this: the window was not watched (status never answered).
pub const MIN_SAMPLES: usize = 3;

impl WritableSampler {
    pub fn start(ns: &Namespace, cluster: &str) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (flag, name, which) = (stop.clone(), ns.name.clone(), cluster.to_string());
        let thread = std::thread::spawn(move || {
            let mut sampled = Sampled::default();
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                // -k: a status hung on a dead node does not always end on SIGTERM (issue 26).
                let out = run(
                    "timeout",
                    &[
                        "-k", "5", "30", PLUGIN, "status", &which, "-o", "json", "-n", &name,
                    ],
                    None,
                );
                sampled.asked += 1;
                if let Ok(status) = serde_json::from_str::<serde_json::Value>(&out.stdout) {
                    sampled.answered += 1;
                    let writable = writable_in(&status);
                    if writable.len() > 1 {
                        sampled.two_writable.push(format!(
                            "at +{:.1}s: {} writable: {writable:?}",
                            started.elapsed().as_secs_f64(),
                            writable.len()
                        ));
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            sampled
        });
        WritableSampler {
            cluster: cluster.to_string(),
            stop,
            thread: Some(thread),
        }
    }

    /// Ends the sampling; panics if any answer showed more than one writable member, or if
    /// fewer than MIN_SAMPLES answers came (nothing was watched).
    pub fn assert_never_two_writable(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sampled = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("the writable sampler panicked");
        eprintln!(
            "cluster {}: {} of {} status samples answered during the fault window",
            self.cluster, sampled.answered, sampled.asked
        );
        assert!(
            sampled.two_writable.is_empty(),
            "cluster {}: more than one writable member during the fault window:\n{}",
            self.cluster,
            sampled.two_writable.join("\n")
        );
        assert!(
            sampled.answered >= MIN_SAMPLES,
            "cluster {}: only {} of {} status samples answered: the window was not watched",
            self.cluster,
            sampled.answered,
            sampled.asked
        );
    }
}

impl Drop for WritableSampler {
    /// A test that failed before asserting still stops its sampler (the thread ends after its
    /// current sample).
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `CHECKSUM TABLE` of every table of `db` on `pod`, as one comparable string.
pub fn checksums(ns: &Namespace, cluster: &str, pod: &str, db: &str) -> String {
    let tables = ns.sql(cluster, pod, &format!("SELECT GROUP_CONCAT(CONCAT('{db}.', table_name)) FROM information_schema.tables WHERE table_schema = '{db}'")).ok();
    let list = tables.stdout.trim().to_string();
    ns.sql(cluster, pod, &format!("CHECKSUM TABLE {list}"))
        .ok()
        .stdout
}

/// Runs `create NAME --replicas N` for the namespace's engine (4Gi volumes) with `extra`
/// arguments, and returns how it ended.
pub fn create_command(ns: &Namespace, name: &str, replicas: u32, extra: &[&str]) -> Run {
    let replicas = replicas.to_string();
    let mut args = vec!["create", name, "--replicas", &replicas, "--storage", "4Gi"];
    let engine = ns.engine_args();
    args.extend(engine.iter().map(String::as_str));
    args.extend(extra);
    // The automatic-failover agent only where a test asks for it (it would race the commands
    // the other tests run after their faults).
    if !extra.contains(&"--agent-image") {
        args.push("--no-agent");
    }
    ns.plugin(&args)
}

/// Creates a cluster of the namespace's engine and waits until the command returns.
pub fn create_cluster(ns: &Namespace, name: &str, replicas: u32) {
    create_command(ns, name, replicas, &[]).ok();
}

/// The cluster objects in the namespace (kind/name, sorted): StatefulSets, Services,
/// ConfigMaps, Secrets, claims and PodDisruptionBudgets, without the namespace's own CA
/// ConfigMap.
pub fn objects(ns: &Namespace) -> Vec<String> {
    let out = ns
        .kubectl(&[
            "get",
            "statefulset,service,configmap,secret,pvc,poddisruptionbudget",
            "-o",
            "name",
        ])
        .ok()
        .stdout;
    let mut names: Vec<String> = out
        .lines()
        .filter(|l| !l.contains("kube-root-ca.crt"))
        .map(String::from)
        .collect();
    names.sort();
    names
}

/// Host PIDs of the database server serving `pod` in `ns` (the test bed is this machine).
pub fn server_pids(ns: &Namespace, pod: &str) -> Vec<String> {
    let namespace = &ns.name;
    let out = run("pgrep", &["-x", ns.engine.server_process()], None);
    out.stdout
        .lines()
        .filter(|pid| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let env = String::from_utf8_lossy(&env);
            env.split('\0').any(|v| v == format!("POD_NAME={pod}"))
                && env
                    .split('\0')
                    .any(|v| v == format!("POD_NAMESPACE={namespace}"))
        })
        .map(str::to_string)
        .collect()
}

/// How many times `pod`'s server container ("mysql") has restarted.
pub fn server_restarts(ns: &Namespace, pod: &str) -> u64 {
    let out = ns.kubectl(&[
        "get",
        "pod",
        pod,
        "-o",
        r#"jsonpath={.status.containerStatuses[?(@.name=="mysql")].restartCount}"#,
    ]);
    out.stdout.trim().parse().unwrap_or(0)
}

/// Signals `pod`'s server in this test's namespace only (other tests run clusters of the same
/// name at the same time).
/// SIGCONT may find nothing: failover deletes the frozen primary's pod.
pub fn signal_primary(ns: &Namespace, pod: &str, signal: &str) {
    let pids = server_pids(ns, pod);
    assert!(
        signal == "-CONT" || !pids.is_empty(),
        "no {} found for {pod}",
        ns.engine.server_process()
    );
    for pid in pids {
        run("kill", &[signal, &pid], None);
    }
}

/// `tests/testbed/node ARGS` (a fault of a worker node of the test bed), which must succeed.
pub fn testbed_node(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbed/node");
    run(script, args, None).ok().stdout
}

/// The node `pod` runs on (empty when it is not scheduled).
pub fn node_of(ns: &Namespace, pod: &str) -> String {
    ns.kubectl(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
        .stdout
}

/// Whether Kubernetes reports `node` Ready.
pub fn node_ready(node: &str) -> bool {
    kubectl(&[
        "get",
        "node",
        node,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ])
    .stdout
        == "True"
}

/// A node fault reaches every cluster on the test bed: the tests of a binary that power off,
/// freeze or partition nodes hold this while they run, one at a time. Every node is healthy
/// when it is taken and again when it is dropped, however the test ended (a failed test must
/// not leave a node off or cut off for the next one).
pub fn one_node_test_at_a_time() -> NodeTest {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let held = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    restore_every_node();
    NodeTest(held)
}

pub struct NodeTest(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

impl Drop for NodeTest {
    fn drop(&mut self) {
        restore_every_node();
    }
}

/// Starts, thaws and heals whatever node the test bed lists as off, frozen or partitioned.
fn restore_every_node() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbed/node");
    let list = run(script, &["list"], None).stdout;
    let mut restored = false;
    for line in list.lines() {
        let mut fields = line.split_whitespace();
        let (Some(node), _, Some(state)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        for (mark, action) in [
            ("frozen", "thaw"),
            ("off", "start"),
            ("partitioned", "heal"),
        ] {
            if state.contains(mark) {
                run(script, &[node, action], None);
                restored = true;
            }
        }
    }
    if restored {
        kubectl(&[
            "wait",
            "--for=condition=Ready",
            "node",
            "--all",
            "--timeout=180s",
        ]);
    }
}

/// One event the plugin recorded about a cluster, as `kubectl get events` (core/v1) shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PluginEvent {
    pub time: String,
    pub kind: String,
    pub reason: String,
    pub message: String,
    /// The member (pod) it is about, if any.
    pub related: String,
}

/// The messages of the plugin's events of `reason` on cluster `cluster`, oldest first.
pub fn event_messages(ns: &Namespace, cluster: &str, reason: &str) -> Vec<String> {
    plugin_events(ns, cluster)
        .into_iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.message)
        .collect()
}

/// The plugin's events on cluster `cluster` (regarding its ConfigMap), oldest first.
pub fn plugin_events(ns: &Namespace, cluster: &str) -> Vec<PluginEvent> {
    let out = ns.kubectl(&["get", "events", "-o", "json"]).ok();
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let mut events: Vec<PluginEvent> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["reportingComponent"] == "kubectl-mysqlha"
                && e["involvedObject"]["kind"] == "ConfigMap"
                && e["involvedObject"]["name"] == cluster
        })
        .map(|e| PluginEvent {
            time: text(&e["eventTime"]),
            kind: text(&e["type"]),
            reason: text(&e["reason"]),
            message: text(&e["message"]),
            related: text(&e["related"]["name"]),
        })
        .collect();
    events.sort_by(|a, b| a.time.cmp(&b.time));
    events
}

/// Each of `pods`' donor, as its `Cloning` event in `events` names it ("POD is cloned from
/// DONOR").
pub fn clone_donors(events: &[PluginEvent], pods: &[&str]) -> Vec<String> {
    pods.iter()
        .map(|pod| {
            let cloning = events
                .iter()
                .find(|e| e.reason == "Cloning" && e.related == *pod)
                .unwrap_or_else(|| panic!("no Cloning event for {pod} in {events:#?}"));
            cloning
                .message
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The clones of `pods` overlapped where they could: a pod that waited for a donor before any
/// of them had joined (its "waiting for a donor" line, in the command's progress `stderr`,
/// comes before the first "replica ready" line) was cloned before that join too. A pod whose
/// start the kubelet delayed past that join (a slow volume mount) could not overlap, and may
/// be served by the member that joined. Returns, for each pod, its donor (from `events`) and
/// whether it waited before the first join.
pub fn assert_clones_overlapped(
    stderr: &str,
    events: &[PluginEvent],
    pods: &[&str],
) -> Vec<(String, bool)> {
    let line = |pod: &str, what: &str| {
        stderr
            .lines()
            .position(|l| l.starts_with(&format!("{pod}{what}")))
            .unwrap_or_else(|| panic!("no progress line {pod}{what}...\n{stderr}"))
    };
    let first_joined = pods
        .iter()
        .map(|p| line(p, " replica ready"))
        .min()
        .unwrap_or(usize::MAX);
    let mut early = Vec::new();
    for pod in pods {
        early.push(line(pod, ": waiting for a donor") < first_joined);
        if !early.last().unwrap() {
            eprintln!("note: {pod} began waiting for a donor after another member had joined");
            continue;
        }
        assert!(
            line(pod, ": cloning from") < first_joined,
            "the clone of {pod} waited for another member to join (no overlap):\n{stderr}"
        );
    }
    clone_donors(events, pods).into_iter().zip(early).collect()
}

/// The agent's image under test (`tests/testbed/up` or `tests/testbed/agent-image` exports it,
/// built from this working tree's binary).
pub fn agent_image() -> String {
    std::env::var("MYSQLHA_AGENT_IMAGE")
        .unwrap_or_else(|_| panic!("MYSQLHA_AGENT_IMAGE is not set: run tests/testbed/agent-image"))
}

/// The name of `pod`'s network namespace (`ip netns list`): the one its server process runs in
/// (`ip netns identify`; an address match could find a stale namespace of a deleted pod that
/// held the same address).
pub fn netns_of(ns: &Namespace, pod: &str) -> String {
    let pid = server_pids(ns, pod)
        .pop()
        .unwrap_or_else(|| panic!("no {} process for {pod}", ns.engine.server_process()));
    let name = run("ip", &["netns", "identify", &pid], None).ok().stdout;
    let name = name.trim();
    assert!(
        !name.is_empty(),
        "no named network namespace holds {pod}'s server (pid {pid})"
    );
    name.to_string()
}

/// The primary `cluster`'s record names (its ConfigMap; empty while there is none).
pub fn recorded_primary(ns: &Namespace, cluster: &str) -> String {
    ns.kubectl(&[
        "get",
        "configmap",
        cluster,
        "-o",
        "jsonpath={.data.primary}",
    ])
    .stdout
}

/// Waits, running nothing of the plugin, until the record names a primary other than `old`;
/// returns it.
pub fn wait_for_a_new_primary(ns: &Namespace, cluster: &str, old: &str, limit: Duration) -> String {
    let mut now = String::new();
    eventually(&format!("a primary other than {old}"), limit, || {
        now = recorded_primary(ns, cluster);
        !now.is_empty() && now != old
    });
    now
}

/// A test-bed variable the object store's tests need (`up` exports them).
pub fn s3_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: the test bed is not up; run `eval \"$(tests/testbed/up)\"` first")
    })
}

/// Secret `name` in `ns` holding the test bed's object-store key id and `secret_key` (the
/// bed's own when None), as `backup enable --credentials` reads it.
pub fn make_s3_secret(ns: &Namespace, name: &str, secret_key: Option<&str>) {
    let id = format!(
        "--from-literal=AWS_ACCESS_KEY_ID={}",
        s3_var("MYSQLHA_S3_ACCESS_KEY")
    );
    let key = format!(
        "--from-literal=AWS_SECRET_ACCESS_KEY={}",
        secret_key
            .map(str::to_string)
            .unwrap_or_else(|| s3_var("MYSQLHA_S3_SECRET_KEY"))
    );
    let made = ns.kubectl(&["create", "secret", "generic", name, &id, &key]);
    assert!(
        made.code == 0 || made.stderr.contains("already exists"),
        "{}",
        made.stderr
    );
}

/// `backup enable CLUSTER` to the bed's store under a prefix of the namespace's own, with the
/// key in Secret `s3` (make_s3_secret), then `extra`.
pub fn backup_enable_args(ns: &Namespace, cluster: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "backup",
        "enable",
        cluster,
        "--to",
        &format!("s3://{}/e2e/{}", s3_var("MYSQLHA_S3_BUCKET"), ns.name),
        "--endpoint",
        &s3_var("MYSQLHA_S3_ENDPOINT"),
        "--credentials",
        "s3",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// What `pod` of `cluster` logged: MariaDB's GTID position, MySQL's executed set (one line).
pub fn gtid_position(ns: &Namespace, cluster: &str, pod: &str) -> String {
    let variable = match ns.engine {
        Engine::Mariadb => "@@gtid_binlog_pos",
        Engine::Mysql => "@@gtid_executed",
    };
    ns.sql(
        cluster,
        pod,
        &format!("SELECT REPLACE({variable}, '\\n', '')"),
    )
    .ok()
    .stdout
    .trim()
    .to_string()
}

/// curl signed with the test bed's object-store key (AWS signature v4), as a user's tool
/// would; `path` is under the bucket. Ok(body) or Err(curl's error).
pub fn s3_curl(args: &[&str], path: &str) -> Result<Vec<u8>, String> {
    let user = format!(
        "{}:{}",
        s3_var("MYSQLHA_S3_ACCESS_KEY"),
        s3_var("MYSQLHA_S3_SECRET_KEY")
    );
    let url = format!(
        "{}/{}/{path}",
        s3_var("MYSQLHA_S3_ENDPOINT"),
        s3_var("MYSQLHA_S3_BUCKET")
    );
    let out = Command::new("curl")
        .args([
            "-sS",
            "-f",
            "--max-time",
            "60",
            "-H",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
            "--user",
            &user,
        ])
        .args(args)
        .arg(&url)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
