//! Smoke tests of the test bed itself (issue 2): the single-node Kubernetes that
//! `eval "$(tests/testbed/up)"` brings up on this machine. They need KUBECONFIG, the test bed's
//! kubectl first on PATH and MYSQLHA_IMAGE, and fail (never skip) without them.
//! Each test works in a namespace of its own, deleted when the test ends, so they can run in
//! parallel (cargo test threads or nextest processes).
mod common;
use common::{s3_curl, s3_var};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fails the test with instructions when the test bed is not up.
fn testbed() -> String {
    let missing: Vec<&str> = ["KUBECONFIG", "MYSQLHA_IMAGE"]
        .into_iter()
        .filter(|v| std::env::var_os(v).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} not set: the test bed is not up; run `eval \"$(tests/testbed/up)\"` first",
        missing.join(" and ")
    );
    std::env::var("MYSQLHA_IMAGE").unwrap()
}

/// kubectl with ARGS (and STDIN): Ok(stdout) on success, Err(stderr + stdout) otherwise.
fn kubectl_in(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("kubectl")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run kubectl (is the test bed's kubectl on PATH?): {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "kubectl {}: {}\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        ))
    }
}

/// kubectl that must succeed; returns its stdout.
fn kubectl(args: &[&str]) -> String {
    kubectl_in(args, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Polls CHECK every second until it returns Ok; after LIMIT, Err(WHAT and CHECK's last Err).
fn wait_until(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("timed out after {limit:?} waiting for {what}: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// Ok when COND holds, else Err(STATE).
fn expect(cond: bool, state: impl std::fmt::Debug) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("{state:?}"))
    }
}

/// A namespace of one test; deleted with everything in it when dropped (also on failure).
struct Namespace(String);

impl Namespace {
    fn new(test: &str) -> Self {
        testbed();
        let name = format!("smoke-{test}-{}", std::process::id());
        let _ = kubectl_in(
            &["delete", "namespace", &name, "--ignore-not-found", "--wait"],
            None,
        );
        kubectl(&["create", "namespace", &name]);
        // The ServiceAccount admission needs the namespace's default ServiceAccount.
        wait_until(
            "the default ServiceAccount",
            Duration::from_secs(60),
            || kubectl_in(&["-n", &name, "get", "serviceaccount", "default"], None).map(drop),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Namespace(name)
    }

    /// kubectl -n NAMESPACE ARGS..., which must succeed.
    fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_try(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn kubectl_try(&self, args: &[&str]) -> Result<String, String> {
        kubectl_in(&[&["-n", self.0.as_str()], args].concat(), None)
    }

    fn apply(&self, yaml: &str) {
        kubectl_in(&["-n", &self.0, "apply", "-f", "-"], Some(yaml))
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    }

    /// Shows the namespace's objects and events: the context of a failed wait.
    fn describe(&self) -> String {
        let mut text = self
            .kubectl_try(&["get", "all,pvc,events", "-o", "wide"])
            .unwrap_or_else(|e| e);
        for pod in self
            .kubectl_try(&["get", "pods", "-o", "name"])
            .unwrap_or_default()
            .lines()
        {
            let logs = self.kubectl_try(&["logs", pod, "--all-containers", "--tail=20"]);
            text += &format!("\n--- logs of {pod}:\n{}", logs.unwrap_or_else(|e| e));
        }
        text
    }

    fn wait_pod_ready(&self, pod: &str, limit: Duration) {
        wait_until(&format!("pod {pod} Ready"), limit, || {
            let jsonpath = "-o=jsonpath={.status.conditions[?(@.type==\"Ready\")].status}";
            let ready = kubectl_in(&["-n", &self.0, "get", "pod", pod, jsonpath], None)?;
            expect(ready == "True", ready)
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.describe()));
    }

    /// Runs a plain long-lived pod of the MariaDB image that says MARKER on its log.
    fn sleeper(&self, name: &str, marker: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: {image}\n    imagePullPolicy: IfNotPresent\n    command: [sh, -c, 'echo {marker}; exec sleep infinity']\n",
            image = testbed()
        ));
        self.wait_pod_ready(name, Duration::from_secs(120));
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl_in(&["delete", "namespace", &self.0, "--wait=false"], None);
    }
}

/// A value of tests/testbed/versions.env.
fn pinned(key: &str) -> String {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbed/versions.env");
    let text = std::fs::read_to_string(file).unwrap();
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{key} not in {file}"))
        .to_string()
}

#[test]
fn node_is_ready_and_runs_the_pinned_version() {
    testbed();
    let ready = kubectl(&[
        "get",
        "nodes",
        "-o=jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    // MYSQLHA_NODES worker nodes (0: the single-node bed, the host is the node).
    let nodes: usize = std::env::var("MYSQLHA_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
        .max(1);
    assert_eq!(
        ready,
        vec!["True"; nodes].join(" "),
        "{nodes} node(s), all Ready"
    );
    let version = kubectl(&["get", "--raw", "/version"]);
    let want = format!("\"gitVersion\": \"{}\"", pinned("K8S_VERSION"));
    assert!(
        version.contains(&want),
        "/version says {version}, want {want}"
    );
    let kubelet = kubectl(&[
        "get",
        "nodes",
        "-o=jsonpath={.items[0].status.nodeInfo.kubeletVersion}",
    ]);
    assert_eq!(kubelet, pinned("K8S_VERSION"));
}

/// Starts mariadbd on the pod's volume, with an account `smoke` that may connect from anywhere.
const MARIADB_START: &str = r#"set -e
chown mysql:mysql /var/lib/mysql
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
fi
cat >/run/mysqld/init.sql <<SQL
CREATE USER IF NOT EXISTS 'smoke'@'%' IDENTIFIED BY 'smoke';
GRANT ALL ON *.* TO 'smoke'@'%';
SQL
exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --skip-name-resolve \
  --init-file=/run/mysqld/init.sql --innodb-buffer-pool-size=32M --performance-schema=OFF"#;

/// A StatefulSet NAME of REPLICAS MariaDB pods, behind the headless Service NAME, each with
/// a volume from the default StorageClass at /var/lib/mysql.
fn mariadb_statefulset(name: &str, replicas: u32) -> String {
    let script = MARIADB_START
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect::<String>();
    format!(
        r#"apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  clusterIP: None
  selector: {{app: {name}}}
  ports: [{{name: mysql, port: 3306}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}}}
spec:
  serviceName: {name}
  replicas: {replicas}
  podManagementPolicy: Parallel
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 5
      securityContext: {{runAsUser: 0}}
      containers:
      - name: mariadb
        image: {image}
        imagePullPolicy: IfNotPresent
        command: [sh, -c]
        args:
        - |
{script}        ports: [{{name: mysql, containerPort: 3306}}]
        readinessProbe:
          exec: {{command: [mariadb-admin, ping, -h127.0.0.1, -usmoke, -psmoke]}}
          periodSeconds: 2
        volumeMounts: [{{name: data, mountPath: /var/lib/mysql}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 64Mi}}}}
"#,
        image = testbed()
    )
}

fn mariadb(ns: &Namespace, pod: &str, host: &str, sql: &str) -> Result<String, String> {
    let args = [
        "exec", pod, "--", "mariadb", "-h", host, "-usmoke", "-psmoke", "-N", "-B", "-e", sql,
    ];
    ns.kubectl_try(&args).map(|s| s.trim().to_string())
}

#[test]
fn statefulset_of_mariadb_with_pod_dns_and_a_cluster_ip_service() {
    let ns = Namespace::new("sts");
    ns.apply(&mariadb_statefulset("db", 3));
    // A ClusterIP Service in front of db-0 alone, so that the answer tells which pod served it.
    ns.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: db-primary}\nspec:\n  selector: {statefulset.kubernetes.io/pod-name: db-0}\n  ports: [{port: 3306}]\n",
    );
    for pod in ["db-0", "db-1", "db-2"] {
        ns.wait_pod_ready(pod, Duration::from_secs(300));
    }
    // The volumes came from the default StorageClass.
    let classes = ns.kubectl(&[
        "get",
        "pvc",
        "-o=jsonpath={.items[*].spec.storageClassName}",
    ]);
    assert_eq!(
        classes.split_whitespace().count(),
        3,
        "three claims: {classes}"
    );

    // Pod DNS (<pod>.<headless service>) and the pod network, from pod 2 to pod 0.
    let answer =
        mariadb(&ns, "db-2", "db-0.db", "SELECT @@hostname").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, "db-0");

    // The ClusterIP Service through kube-proxy, from another pod; its endpoints may lag a little.
    wait_until(
        "the ClusterIP Service db-primary to answer from db-1",
        Duration::from_secs(60),
        || {
            let host = mariadb(&ns, "db-1", "db-primary", "SELECT @@hostname")?;
            expect(host == "db-0", host)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", ns.describe()));
}

#[test]
fn exec_streams_one_gib_of_stdin_and_ends() {
    const SIZE: usize = 1 << 30;
    let ns = Namespace::new("exec");
    ns.sleeper("sink", "ready");
    // The same random bytes go to a local sha256sum and, through the API server and the
    // kubelet, to sha256sum in the pod.
    let spawn = |cmd: &mut Command| -> Child {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut local = spawn(&mut Command::new("sha256sum"));
    let mut remote =
        spawn(Command::new("kubectl").args(["-n", &ns.0, "exec", "-i", "sink", "--", "sha256sum"]));
    let started = Instant::now();
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut to_local, mut to_remote) = (local.stdin.take().unwrap(), remote.stdin.take().unwrap());
    for _ in 0..SIZE / buf.len() {
        random.read_exact(&mut buf).unwrap();
        to_local.write_all(&buf).unwrap();
        to_remote
            .write_all(&buf)
            .unwrap_or_else(|e| panic!("kubectl exec stopped reading: {e}"));
    }
    drop((to_local, to_remote)); // end of input: sha256sum in the pod must see it and exit.

    let deadline = Instant::now() + Duration::from_secs(120);
    while remote.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = remote.kill();
            panic!("kubectl exec did not end within 120 s of the end of its input");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let digest = |child: Child| {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let (want, got) = (digest(local), digest(remote));
    assert_eq!(got.len(), 64, "sha256sum in the pod printed {got:?}");
    assert_eq!(got, want, "1 GiB through kubectl exec -i arrived changed");
    eprintln!("1 GiB through kubectl exec -i in {:?}", started.elapsed());
}

#[test]
fn logs_of_a_container_are_served() {
    let ns = Namespace::new("logs");
    ns.sleeper("talker", "smoke-log-marker-42");
    wait_until(
        "the marker in kubectl logs",
        Duration::from_secs(30),
        || {
            let logs = ns.kubectl(&["logs", "talker"]);
            expect(logs.contains("smoke-log-marker-42"), logs)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn volume_data_survives_pod_deletion_and_goes_with_its_claim() {
    let ns = Namespace::new("pvc");
    ns.apply(&mariadb_statefulset("keep", 1));
    ns.wait_pod_ready("keep-0", Duration::from_secs(300));
    let write = "CREATE DATABASE smoke; CREATE TABLE smoke.t (v VARCHAR(20)); INSERT INTO smoke.t VALUES ('survives')";
    mariadb(&ns, "keep-0", "127.0.0.1", write).unwrap_or_else(|e| panic!("{e}"));
    ns.kubectl(&[
        "exec",
        "keep-0",
        "--",
        "sh",
        "-c",
        "echo marker >/var/lib/mysql/smoke-marker",
    ]);
    let uid = ns.kubectl(&["get", "pod", "keep-0", "-o=jsonpath={.metadata.uid}"]);

    ns.kubectl(&["delete", "pod", "keep-0", "--wait"]);
    wait_until("a new pod keep-0", Duration::from_secs(120), || {
        let new_uid = ns.kubectl_try(&["get", "pod", "keep-0", "-o=jsonpath={.metadata.uid}"])?;
        expect(new_uid != uid, new_uid)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", ns.describe()));
    ns.wait_pod_ready("keep-0", Duration::from_secs(300));
    let read = mariadb(&ns, "keep-0", "127.0.0.1", "SELECT v FROM smoke.t")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read, "survives");

    // The claim's volume is dynamic, from the default StorageClass, and deleting the claim
    // deletes it and its data (reclaimPolicy Delete). The test bed is this machine, so the
    // host path can be checked directly.
    let pv = ns.kubectl(&[
        "get",
        "pvc",
        "data-keep-0",
        "-o=jsonpath={.spec.volumeName}",
    ]);
    // A host path (single-node bed) or a node-local volume (worker nodes).
    let path = kubectl(&[
        "get",
        "pv",
        &pv,
        "-o=jsonpath={.spec.hostPath.path}{.spec.local.path}",
    ]);
    assert!(
        std::path::Path::new(&path).join("smoke-marker").exists(),
        "data of {pv} is not at {path}"
    );
    ns.kubectl(&["delete", "statefulset", "keep", "--wait"]);
    ns.kubectl(&["delete", "pod", "keep-0", "--ignore-not-found", "--wait"]);
    ns.kubectl(&["delete", "pvc", "data-keep-0", "--wait"]);
    wait_until(
        "the volume and its data to be deleted",
        Duration::from_secs(60),
        || {
            let left = kubectl_in(
                &["get", "pv", &pv, "--ignore-not-found", "-o", "yaml"],
                None,
            )?;
            expect(
                left.is_empty() && !std::path::Path::new(&path).exists(),
                left,
            )
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The node's bridge keeps the address the test bed set, whatever the MACs of the pods' veths:
/// a bridge otherwise takes the lowest MAC of its ports, and every pod's ARP entry for its
/// gateway and DNS server (the node) goes stale whenever a pod with a lower MAC joins.
#[test]
fn the_node_keeps_its_mac_as_pods_come_and_go() {
    // The pods' bridges: the host's mysqlha0 on the single-node bed, cni0 in each worker
    // node's network namespace otherwise.
    let netns: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("mysqlha-n"))
                .collect()
        })
        .unwrap_or_default();
    let bridges: Vec<(Option<String>, &str)> = if netns.is_empty() {
        vec![(None, "mysqlha0")]
    } else {
        netns.into_iter().map(|n| (Some(n), "cni0")).collect()
    };
    let read = |(ns, bridge): &(Option<String>, &str), file: &str| {
        let path = format!("/sys/class/net/{bridge}/{file}");
        let out = match ns {
            None => std::fs::read_to_string(&path).map_err(|e| e.to_string()),
            Some(ns) => Command::new("ip")
                .args(["netns", "exec", ns, "cat", &path])
                .output()
                .map_err(|e| e.to_string())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
        };
        out.unwrap_or_else(|e| panic!("bridge {bridge} ({ns:?}): {e}"))
            .trim()
            .to_string()
    };
    let macs = || -> Vec<String> { bridges.iter().map(|b| read(b, "address")).collect() };
    let before = macs();
    for b in &bridges {
        assert_eq!(
            read(b, "addr_assign_type"),
            "3",
            "the MAC of bridge {b:?} is not set (NET_ADDR_SET): it follows its ports"
        );
    }
    let ns = Namespace::new("mac");
    for pod in ["mac-a", "mac-b", "mac-c"] {
        ns.sleeper(pod, "joined");
        assert_eq!(macs(), before, "a pod joining changed a node's MAC");
    }
    ns.kubectl(&["delete", "pod", "mac-a", "--grace-period=0", "--force"]);
    assert_eq!(macs(), before, "a pod leaving changed a node's MAC");
}

/// A fresh machine: the test bed installs its own host packages. `prereqs` is seen doing it,
/// run against stand-ins for dpkg-query (one package missing), apt-get (recording what it is
/// asked) and id: as root it installs exactly what is missing, as anyone else it refuses
/// naming it. That `up` (and `.ci/run`) call it is read from the scripts. On this machine,
/// after `up`, it is a quiet no-op.
#[test]
fn prereqs_installs_what_is_missing_and_up_and_ci_call_it() {
    use std::os::unix::fs::PermissionsExt;
    let root = env!("CARGO_MANIFEST_DIR");
    let up = std::fs::read_to_string(format!("{root}/tests/testbed/up")).unwrap();
    assert!(up.contains("\"$here/prereqs\""), "up does not run prereqs");
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    assert!(
        ci.contains("tests/testbed/prereqs"),
        ".ci/run keeps its own list"
    );

    let fakes = std::env::temp_dir().join(format!("mysqlha-prereqs-{}", std::process::id()));
    std::fs::create_dir_all(&fakes).unwrap();
    for (name, script) in [
        (
            "dpkg-query",
            "#!/bin/sh\nfor last; do :; done\nif [ \"$last\" = \"$MISSING\" ]; then echo \"dpkg-query: no packages found matching $last\" >&2; exit 1; fi\nprintf 'install ok installed'\n",
        ),
        ("apt-get", "#!/bin/sh\necho \"$*\" >>\"$APT_LOG\"\n"),
        ("id", "#!/bin/sh\necho \"$FAKE_UID\"\n"),
    ] {
        let path = fakes.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let apt_log = fakes.join("apt.log");
    let path = format!("{}:{}", fakes.display(), std::env::var("PATH").unwrap());
    let prereqs_as = |uid: &str| {
        let _ = std::fs::remove_file(&apt_log);
        let out = Command::new(format!("{root}/tests/testbed/prereqs"))
            .env("PATH", &path)
            .env("MISSING", "bc")
            .env("APT_LOG", &apt_log)
            .env("FAKE_UID", uid)
            .output()
            .unwrap();
        let asked = std::fs::read_to_string(&apt_log).unwrap_or_default();
        (out, asked)
    };
    let (out, asked) = prereqs_as("0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("installing: bc"), "{stderr}");
    assert_eq!(
        asked, "update -q\ninstall -y -q --no-install-recommends bc\n",
        "what prereqs asked apt-get"
    );
    let (out, asked) = prereqs_as("1000");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("only root can install them: bc"),
        "{stderr}"
    );
    assert_eq!(asked, "", "prereqs asked apt-get without root");
    let _ = std::fs::remove_dir_all(&fakes);

    let out = Command::new(format!("{root}/tests/testbed/prereqs"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "packages were missing after up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for tool in [
        "containerd",
        "runc",
        "buildah",
        "debootstrap",
        "catatonit",
        "conntrack",
        "nft",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(found.status.success(), "{tool} is not installed");
    }
}

/// The object store (versitygw): objects kept and listed, refused with a wrong key, reachable
/// from a pod. (Its fault commands are tested in testbed_nodes, which runs alone: the backup
/// tests use the store beside this one.)
#[test]
fn the_object_store_keeps_objects_and_answers_pods() {
    let endpoint = s3_var("MYSQLHA_S3_ENDPOINT");
    let bucket = s3_var("MYSQLHA_S3_BUCKET");
    let key = format!("smoke/{}/object", std::process::id());
    let body = format!("smoke object {}", std::process::id());
    s3_curl(&["-X", "PUT", "--data-binary", &body], &key).unwrap();
    assert_eq!(s3_curl(&[], &key).unwrap(), body.as_bytes());
    // The query as signed: "/" encoded.
    let listing = s3_curl(
        &[],
        &format!("?list-type=2&prefix=smoke%2F{}%2F", std::process::id()),
    )
    .unwrap();
    let listing = String::from_utf8_lossy(&listing);
    assert!(listing.contains("<Key>smoke/"), "{listing}");
    // Without the key: refused.
    let forged = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{endpoint}/{bucket}/{key}"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&forged.stdout), "403");

    // From a pod: the store answers HTTP (an unsigned request is refused, 403).
    let ns = Namespace::new("s3");
    ns.sleeper("client", "ready");
    let host_port = endpoint.trim_start_matches("http://");
    let (host, port) = host_port.split_once(':').unwrap();
    let perl = format!(
        "use IO::Socket::INET; my $s = IO::Socket::INET->new(PeerAddr => '{host}', PeerPort => {port}, Timeout => 5) or die \"connect: $!\\n\"; print $s \"GET /{bucket} HTTP/1.0\\r\\n\\r\\n\"; my $l = <$s>; print $l;"
    );
    let answer = ns.kubectl(&["exec", "client", "--", "perl", "-e", &perl]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    s3_curl(&["-X", "DELETE"], &key).unwrap();
    assert!(
        s3_curl(&[], &key).is_err(),
        "a deleted object is still served"
    );
}
