//! Helpers for the end-to-end tests: they run the real plugin binary and kubectl against the
//! test bed (`eval "$(tests/testbed/up)"`), and real mariadbd processes in its pods.
#![allow(dead_code)]
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-mysqlha");

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

/// A namespace of its own for one test, deleted (with everything in it) when dropped.
pub struct Namespace {
    pub name: String,
}

impl Namespace {
    pub fn new(prefix: &str) -> Self {
        require_testbed();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("{prefix}-{:05x}", nanos % 0xfffff);
        kubectl(&["create", "namespace", &name]).ok();
        Namespace { name }
    }

    /// Runs the plugin in this namespace.
    pub fn plugin(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-n", &self.name]);
        run(PLUGIN, &all, None)
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
            "exec", "-i", pod, "-c", "mysql", "--", "env", &pw, "mariadb", "-h", host, "-u", user,
            "-N", "-B",
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
            "exec", "-i", pod, "-c", "mysql", "--", "mariadb", "-umysql", "-N", "-B",
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

impl Drop for Namespace {
    fn drop(&mut self) {
        if std::env::var_os("MYSQLHA_KEEP_NAMESPACES").is_none() {
            kubectl(&["delete", "namespace", &self.name, "--wait=false"]);
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
pub struct Writer<'a> {
    ns: &'a Namespace,
    pub pod: String,
}

impl<'a> Writer<'a> {
    pub fn start(ns: &'a Namespace, cluster: &str, table: &str) -> Self {
        let image = std::env::var("MYSQLHA_IMAGE").unwrap();
        let pod = format!("writer-{}", table.replace(['.', '_'], "-"));
        let pw = ns.root_password(cluster);
        let script = format!(
            "i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); \
             if timeout 5 mariadb -h {cluster}-primary -uroot --connect-timeout=2 -e \"INSERT INTO {table} (id) VALUES ($i)\" 2>/dev/null; then echo ok $i; else echo fail $i; sleep 0.2; fi; done; echo stopped"
        );
        let env = format!("--env=MYSQL_PWD={pw}");
        ns.kubectl(&[
            "run",
            &pod,
            "--image",
            &image,
            "--image-pull-policy=IfNotPresent",
            "--restart=Never",
            &env,
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
        Writer { ns, pod }
    }

    /// Stops the writer and returns the ids whose COMMIT was acknowledged.
    pub fn stop(self) -> Vec<u64> {
        self.ns
            .kubectl(&["exec", &self.pod, "--", "touch", "/tmp/stop"])
            .ok();
        eventually("the writer stops", Duration::from_secs(30), || {
            self.ns
                .kubectl(&["logs", &self.pod])
                .stdout
                .contains("stopped")
        });
        let acked = self.acknowledged();
        self.ns
            .kubectl(&["delete", "pod", &self.pod, "--wait=false"]);
        acked
    }

    pub fn acknowledged(&self) -> Vec<u64> {
        let logs = self.ns.kubectl(&["logs", &self.pod]).ok().stdout;
        logs.lines()
            .filter_map(|l| l.strip_prefix("ok "))
            .filter_map(|n| n.trim().parse().ok())
            .collect()
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

/// Creates a cluster and waits until the command returns.
pub fn create_cluster(ns: &Namespace, name: &str, replicas: u32) {
    let image = std::env::var("MYSQLHA_IMAGE").unwrap();
    let replicas = replicas.to_string();
    ns.plugin(&[
        "create",
        name,
        "--replicas",
        &replicas,
        "--storage",
        "4Gi",
        "--image",
        &image,
    ])
    .ok();
}

/// Host PIDs of the mariadbd serving `pod` of cluster `cluster` (the test bed is this machine).
pub fn mariadbd_pids(namespace: &str, pod: &str) -> Vec<String> {
    let out = run("pgrep", &["-x", "mariadbd"], None);
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

/// Signals `pod`'s mariadbd in this test's namespace only (other tests run clusters of the same
/// name at the same time).
/// SIGCONT may find nothing: failover deletes the frozen primary's pod.
pub fn signal_primary(ns: &Namespace, pod: &str, signal: &str) {
    let pids = mariadbd_pids(&ns.name, pod);
    assert!(
        signal == "-CONT" || !pids.is_empty(),
        "no mariadbd found for {pod}"
    );
    for pid in pids {
        run("kill", &[signal, &pid], None);
    }
}
