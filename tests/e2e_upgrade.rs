//! Issue 13 end to end on the test bed: a rolling MariaDB 10.11 → 11.8 upgrade of a 3-member
//! cluster under a writer (interrupted once and run again), a refused downgrade, and rolling
//! changes with `set` (settings, memory, storage). MariaDB only for the upgrade: only one MySQL version runs here.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(
    set_rolls_settings_and_memory_through_under_writes,
    set_rolls_a_restart_setting_through_under_writes_and_refuses_storage_changes,
);

fn next_image() -> String {
    std::env::var("MYSQLHA_MARIADB_NEXT_IMAGE")
        .expect("MYSQLHA_MARIADB_NEXT_IMAGE is not set: bring the test bed up")
}

fn template_image(ns: &Namespace) -> String {
    ns.kubectl(&[
        "get",
        "statefulset",
        "up",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ])
    .ok()
    .stdout
}

fn pod_image_and_ready(ns: &Namespace, pod: &str) -> String {
    ns.kubectl(&[
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.spec.containers[0].image} {.status.containerStatuses[0].ready}",
    ])
    .stdout
}

/// The longest run of refused writes in the writer's log (each at least 0.2 s apart).
fn longest_refused_run(ns: &Namespace, writer: &str) -> usize {
    let logs = ns.kubectl(&["logs", writer]).ok().stdout;
    let (mut longest, mut run) = (0, 0);
    for line in logs.lines() {
        if line.starts_with("fail ") {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// `set --storage` on a class that allows expansion (the test bed's `local`), under a writer:
/// every volume grows, no member restarts, the StatefulSet's claim template asks for the new
/// size (made anew, its pods adopted), a member added later gets it; run again it has nothing
/// left to do; a smaller size is refused. (Engine-independent: MariaDB.)
#[test]
fn set_storage_grows_every_volume_without_a_restart_and_new_members_get_it() {
    let ns = Namespace::with_engine("e2e-grow", Engine::Mariadb);
    create_command(&ns, "gs", 2, &["--storage-class", "local"]).ok();
    ns.sql(
        "gs",
        "gs-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let uids = || [pod_uid(&ns, "gs-0"), pod_uid(&ns, "gs-1")];
    let before = uids();
    let sts_uid = || {
        ns.kubectl(&["get", "statefulset", "gs", "-o", "jsonpath={.metadata.uid}"])
            .ok()
            .stdout
    };
    let old_sts = sts_uid();
    let template = || {
        ns.kubectl(&[
            "get",
            "statefulset",
            "gs",
            "-o",
            "jsonpath={.spec.volumeClaimTemplates[0].spec.resources.requests.storage}",
        ])
        .ok()
        .stdout
    };
    let writer = Writer::start(&ns, "gs", "app.w");
    writer.mark_fault();

    let out = ns.plugin(&["set", "gs", "--storage", "6Gi"]).ok();
    assert!(
        out.stdout
            .contains("storage 6Gi (2 volumes grown, no restart; members added later get 6Gi)"),
        "{}",
        out.stdout
    );
    let held = |what: &str| {
        ns.kubectl(&["get", "pvc", "-o", &format!("jsonpath={what}")])
            .ok()
            .stdout
    };
    assert_eq!(held("{.items[*].status.capacity.storage}"), "6Gi 6Gi");
    let volumes = ns
        .kubectl(&[
            "get",
            "pv",
            "-o",
            &format!(
                "jsonpath={{range .items[?(@.spec.claimRef.namespace==\"{}\")]}}{{.spec.capacity.storage}} {{end}}",
                ns.name
            ),
        ])
        .ok()
        .stdout;
    assert_eq!(volumes.trim(), "6Gi 6Gi", "the volumes' capacity");
    assert_eq!(uids(), before, "growing the volumes restarted a member");
    assert_eq!(template(), "6Gi");
    let new_sts = sts_uid();
    assert_ne!(new_sts, old_sts, "the StatefulSet was not made anew");
    eventually(
        "the new StatefulSet adopts both pods",
        Duration::from_secs(60),
        || {
            let owners = ns
                .kubectl(&[
                    "get",
                    "pods",
                    "gs-0",
                    "gs-1",
                    "-o",
                    "jsonpath={.items[*].metadata.ownerReferences[0].uid}",
                ])
                .stdout;
            owners == format!("{new_sts} {new_sts}")
        },
    );
    assert!(
        plugin_events(&ns, "gs")
            .iter()
            .any(|e| e.reason == "StorageGrown" && e.message.contains("hold 6Gi")),
        "no StorageGrown event"
    );

    // A member added later gets the new size.
    ns.plugin(&["scale", "gs", "--replicas", "3"]).ok();
    assert_eq!(
        held("{.items[*].spec.resources.requests.storage}"),
        "6Gi 6Gi 6Gi"
    );
    std::thread::sleep(Duration::from_secs(2));
    let acked = writer.stop();
    let status = ns.status_json("gs");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_no_acknowledged_write_lost(&ns, "gs", "gs-0", "app.w", &acked);
    assert!(
        acked.len() > 10,
        "the writer committed too little: {}",
        acked.len()
    );
    assert_eq!(&uids(), &before, "a member restarted");

    // Run again: nothing left to do; smaller: refused, nothing changed.
    let out = ns.plugin(&["set", "gs", "--storage", "6Gi"]).ok();
    assert!(
        out.stdout
            .contains("storage 6Gi (every volume holds it already)"),
        "{}",
        out.stdout
    );
    let out = ns.plugin(&["set", "gs", "--storage", "4Gi"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("can only grow"), "{}", out.stderr);
    assert_eq!(sts_uid(), new_sts, "a refused set changed the StatefulSet");

    // Interrupted between deleting the StatefulSet and making it anew (here: the API server
    // refuses the create, by an admission policy on this namespace): the command fails saying
    // how to finish, the pods run on, other commands say what is going on; re-running finishes.
    let refusal = forbid_statefulset_creation(&ns);
    let out = ns.plugin(&["set", "gs", "--storage", "7Gi"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("run `kubectl mysqlha set gs --storage 7Gi` again to finish"),
        "{}",
        out.stderr
    );
    assert_eq!(ns.kubectl(&["get", "statefulset", "gs"]).code, 1);
    let status = ns.plugin(&["status", "gs"]);
    assert_eq!(status.code, 1);
    assert!(
        status
            .stderr
            .contains("an interrupted `set --storage` deleted StatefulSet gs"),
        "{}",
        status.stderr
    );
    assert_eq!(&uids(), &before, "the pods did not run on");
    drop(refusal);
    let out = ns.plugin(&["set", "gs", "--storage", "7Gi"]).ok();
    assert!(
        out.stderr
            .contains("StatefulSet gs made anew, as an interrupted `set --storage` left it"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("storage 7Gi"), "{}", out.stdout);
    assert_eq!(template(), "7Gi");
    let annotations = ns
        .kubectl(&[
            "get",
            "configmap",
            "gs",
            "-o",
            "jsonpath={.metadata.annotations}",
        ])
        .ok()
        .stdout;
    assert!(
        !annotations.contains("statefulset-being-remade"),
        "{annotations}"
    );
    assert_eq!(&uids(), &before, "finishing restarted a member");
    eventually("the cluster is healthy", Duration::from_secs(60), || {
        ns.status_json("gs")["healthy"] == true
    });
}

/// An admission policy (and its binding) refusing every StatefulSet created in `ns`, in effect
/// when this returns; removed when the guard is dropped.
fn forbid_statefulset_creation(ns: &Namespace) -> impl Drop {
    let name = format!("{}-no-statefulsets", ns.name);
    let policy = format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {name}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [statefulsets]
  validations:
  - expression: 'false'
    message: the test refuses StatefulSets here
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {name}}}
spec:
  policyName: {name}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {}}}
",
        ns.name
    );
    run("kubectl", &["apply", "-f", "-"], Some(&policy)).ok();
    let probe = format!(
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: probe, namespace: {}}}
spec:
  selector: {{matchLabels: {{app: probe}}}}
  serviceName: probe
  template:
    metadata: {{labels: {{app: probe}}}}
    spec:
      containers: [{{name: c, image: none}}]
",
        ns.name
    );
    let dry_run_create = |probe: &str| {
        run(
            "kubectl",
            &["create", "--dry-run=server", "-f", "-"],
            Some(probe),
        )
    };
    eventually("the policy is in effect", Duration::from_secs(60), || {
        dry_run_create(&probe)
            .stderr
            .contains("the test refuses StatefulSets here")
    });
    struct Refusal<F: Fn(&str) -> Run> {
        name: String,
        probe: String,
        dry_run_create: F,
    }
    impl<F: Fn(&str) -> Run> Drop for Refusal<F> {
        fn drop(&mut self) {
            for kind in [
                "validatingadmissionpolicybinding",
                "validatingadmissionpolicy",
            ] {
                kubectl(&["delete", kind, &self.name, "--wait"]);
            }
            eventually("the policy is gone", Duration::from_secs(60), || {
                (self.dry_run_create)(&self.probe).code == 0
            });
        }
    }
    Refusal {
        name,
        probe,
        dry_run_create,
    }
}

#[test]
fn mariadb_10_11_to_11_8_under_writes_interrupted_and_resumed() {
    let ns = Namespace::with_engine("e2e-upg", Engine::Mariadb);
    create_cluster(&ns, "up", 3);
    ns.sql(
        "up",
        "up-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let before = template_image(&ns);

    // A downgrade (and an image whose tag names no version) is refused with nothing changed.
    let out = ns.plugin(&["upgrade", "up", "--image", "localhost/mysqlha/mariadb:10.6"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot be downgraded from 10.11 to 10.6"),
        "{}",
        out.stderr
    );
    let out = ns.plugin(&["upgrade", "up", "--image", "mariadb:latest"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(template_image(&ns), before);

    let writer = Writer::start(&ns, "up", "app.w");
    writer.mark_fault();
    let next = next_image();
    // Interrupted once the first replica runs the new image and serves again.
    let mut child = std::process::Command::new(PLUGIN)
        .args(["upgrade", "up", "--image", &next, "-n", &ns.name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("up-1 runs the new image", Duration::from_secs(180), || {
        pod_image_and_ready(&ns, "up-1") == format!("{next} true")
    });
    run("kill", &["-TERM", &child.id().to_string()], None).ok();
    let interrupted = child.wait().unwrap();
    assert!(
        !interrupted.success(),
        "the upgrade ended before it was interrupted"
    );
    // Mixed (the template names 11.8, up-0 still runs 10.11): a rebuild clones only from a
    // donor of the series the rebuilt member will run.
    let out = ns.plugin(&["rebuild-replica", "up", "up-2", "--from", "up-0", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("runs server series 11.8"),
        "{}",
        out.stderr
    );
    let out = ns.plugin(&["rebuild-replica", "up", "up-2", "--yes"]).ok();
    assert!(out.stdout.contains("rebuilt from up-1"), "{}", out.stdout);
    // Run again, it finishes.
    let out = ns.plugin(&["upgrade", "up", "--image", &next]).ok();
    assert!(
        out.stdout.contains("writes were refused for"),
        "{}",
        out.stdout
    );
    std::thread::sleep(Duration::from_secs(2));
    let longest = longest_refused_run(&ns, &writer.pod);
    let acked = writer.stop();

    let status = ns.status_json("up");
    assert_eq!(status["healthy"], true, "{status:#}");
    let primary = status["primary"].as_str().unwrap().to_string();
    assert_ne!(primary, "up-0", "the primary moved by switchover");
    for m in status["members"].as_array().unwrap() {
        assert!(m["version"].as_str().unwrap().starts_with("11.8."), "{m}");
        assert_eq!(m["ready"], true, "{m}");
    }
    assert_no_acknowledged_write_lost(&ns, "up", &primary, "app.w", &acked);
    let sums = checksums(&ns, "up", &primary, "app");
    for m in ["up-0", "up-1", "up-2"] {
        eventually(&format!("{m} converges"), Duration::from_secs(60), || {
            checksums(&ns, "up", m, "app") == sums
        });
    }
    // How long writes were refused is a figure for tests/bench/upgrade, not a pass mark here.
    eprintln!(
        "upgrade: writes were refused at most {longest} times in a row (0.2 s apart at least)"
    );
    // Run once more: nothing left to do, nothing restarted.
    let out = ns.plugin(&["upgrade", "up", "--image", &next]).ok();
    assert!(out.stdout.contains("(0 restarted)"), "{}", out.stdout);
}

/// A setting the server rejects is refused before anything changes; a dynamic setting is applied
/// on every member without a restart; a memory change restarts every member once, the primary
/// last by switchover, under a writer that loses nothing.
fn set_rolls_settings_and_memory_through_under_writes(engine: Engine) {
    let ns = Namespace::with_engine("e2e-set", engine);
    create_cluster(&ns, "st", 3);
    ns.sql(
        "st",
        "st-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let uids = || {
        ns.kubectl(&[
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/instance=st",
            "-o",
            "jsonpath={.items[*].metadata.uid}",
        ])
        .ok()
        .stdout
    };
    let before = uids();
    let out = ns.plugin(&[
        "set",
        "st",
        "--set",
        "max_connections=abc",
        "--memory",
        "600Mi",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the server rejects max_connections=abc"),
        "{}",
        out.stderr
    );
    assert_eq!(uids(), before, "a refused set restarted members");
    let recorded = ns
        .kubectl(&[
            "get",
            "configmap",
            "st",
            "-o",
            "jsonpath={.data.settings\\.cnf}",
        ])
        .ok()
        .stdout;
    assert_eq!(recorded, "", "a refused setting was recorded");

    let writer = Writer::start(&ns, "st", "app.w");
    writer.mark_fault();
    let out = ns
        .plugin(&["set", "st", "--set", "max_connections=321"])
        .ok();
    assert!(out.stdout.contains("no restart"), "{}", out.stdout);
    assert_eq!(uids(), before, "a dynamic setting restarted members");
    let out = ns.plugin(&["set", "st", "--memory", "600Mi"]).ok();
    assert!(
        out.stdout.contains("(3 restarted; primary st-0 →"),
        "{}",
        out.stdout
    );
    std::thread::sleep(Duration::from_secs(2));
    let longest = longest_refused_run(&ns, &writer.pod);
    let acked = writer.stop();
    let status = ns.status_json("st");
    assert_eq!(status["healthy"], true, "{status:#}");
    let primary = status["primary"].as_str().unwrap().to_string();
    assert_no_acknowledged_write_lost(&ns, "st", &primary, "app.w", &acked);
    eprintln!(
        "set --memory: writes were refused at most {longest} times in a row (0.2 s apart at least)"
    );
    for pod in ["st-0", "st-1", "st-2"] {
        let memory = ns
            .kubectl(&[
                "get",
                "pod",
                pod,
                "-o",
                "jsonpath={.spec.containers[0].resources.requests.memory}",
            ])
            .ok()
            .stdout;
        assert_eq!(memory, "600Mi", "{pod}");
        // Restarted members kept the setting (recorded in the ConfigMap).
        let value = ns
            .admin_sql(pod, "SELECT @@GLOBAL.max_connections")
            .ok()
            .stdout;
        assert_eq!(value.trim(), "321", "{pod}");
    }
    // Nothing left to roll: nothing restarts.
    let out = ns.plugin(&["set", "st", "--memory", "600Mi"]).ok();
    assert!(out.stdout.contains("(0 restarted)"), "{}", out.stdout);
}

fn pod_uid(ns: &Namespace, pod: &str) -> String {
    ns.kubectl(&["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])
        .stdout
}

fn claim_sizes(ns: &Namespace) -> String {
    ns.kubectl(&[
        "get",
        "pvc",
        "-o",
        "jsonpath={.items[*].spec.resources.requests.storage}",
    ])
    .ok()
    .stdout
}

/// A setting the server cannot change at runtime (table_open_cache_instances): a value the
/// server would refuse or adjust at start is refused before anything restarts; a good one is
/// recorded and rolls through (interrupted once while the replica restarts, then run again: only
/// what is left restarts), the primary last by switchover, under a writer that loses nothing.
/// Storage: on a class that allows no expansion (`fixed`) growing is refused, as is
/// shrinking, with nothing changed.
fn set_rolls_a_restart_setting_through_under_writes_and_refuses_storage_changes(engine: Engine) {
    let ns = Namespace::with_engine("e2e-setr", engine);
    create_command(&ns, "sr", 2, &["--storage-class", "fixed"]).ok();
    ns.sql(
        "sr",
        "sr-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let uids = || [pod_uid(&ns, "sr-0"), pod_uid(&ns, "sr-1")];
    let before = uids();
    let sizes = claim_sizes(&ns);
    let refusals = [
        ("table_open_cache_instances=abc", "Unknown suffix 'a'"),
        ("table_open_cache_instances=999", "adjusted to 64"),
    ];
    for (setting, why) in refusals {
        let out = ns.plugin(&["set", "sr", "--set", setting]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let line = out.stderr.trim();
        assert!(
            line.starts_with("error: the server rejects") && line.contains(why),
            "{line}"
        );
        assert!(
            line.ends_with("nothing changed") && !line.contains('\n'),
            "{line}"
        );
    }
    let out = ns.plugin(&["set", "sr", "--storage", "100Gi"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot grow to 100Gi") && out.stderr.contains("resize"),
        "{}",
        out.stderr
    );
    let out = ns.plugin(&["set", "sr", "--storage", "1Gi"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("can only grow"), "{}", out.stderr);
    assert_eq!(ns.plugin(&["set", "sr", "--storage", "lots"]).code, 2);
    assert_eq!(
        claim_sizes(&ns),
        sizes,
        "a refused --storage changed a claim"
    );
    assert_eq!(uids(), before, "a refused set restarted members");
    let annotation = ns
        .kubectl(&[
            "get",
            "statefulset",
            "sr",
            "-o",
            "jsonpath={.spec.template.metadata.annotations}",
        ])
        .ok()
        .stdout;
    assert!(!annotation.contains("restart-settings"), "{annotation}");

    let writer = Writer::start(&ns, "sr", "app.w");
    writer.mark_fault();
    // Interrupted while the replica restarts.
    let mut child = std::process::Command::new(PLUGIN)
        .args([
            "set",
            "sr",
            "--set",
            "table_open_cache_instances=4",
            "-n",
            &ns.name,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("sr-1 restarts", Duration::from_secs(120), || {
        let uid = pod_uid(&ns, "sr-1");
        !uid.is_empty() && uid != before[1]
    });
    run("kill", &["-TERM", &child.id().to_string()], None).ok();
    assert!(
        !child.wait().unwrap().success(),
        "the set ended before it was interrupted"
    );
    // Run again: only the primary is left to restart, after a switchover.
    let out = ns
        .plugin(&[
            "set",
            "sr",
            "--set",
            "table_open_cache_instances=4",
            "--set",
            "max_connections=77",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("max_connections=77 applied on every member (no restart)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("table_open_cache_instances=4 by restart (1 restarted; primary sr-0 → sr-1"),
        "{}",
        out.stdout
    );
    std::thread::sleep(Duration::from_secs(2));
    let longest = longest_refused_run(&ns, &writer.pod);
    let acked = writer.stop();
    let status = ns.status_json("sr");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(status["primary"], "sr-1", "{status:#}");
    assert_no_acknowledged_write_lost(&ns, "sr", "sr-1", "app.w", &acked);
    eprintln!("set (restart setting): writes were refused at most {longest} times in a row (0.2 s apart at least)");
    for pod in ["sr-0", "sr-1"] {
        let value = ns
            .admin_sql(
                pod,
                "SELECT @@GLOBAL.table_open_cache_instances, @@GLOBAL.max_connections",
            )
            .ok()
            .stdout;
        assert_eq!(
            value.split_whitespace().collect::<Vec<_>>(),
            ["4", "77"],
            "{pod}"
        );
    }
    // Once more: nothing left to restart.
    let out = ns
        .plugin(&["set", "sr", "--set", "table_open_cache_instances=4"])
        .ok();
    assert!(out.stdout.contains("(0 restarted"), "{}", out.stdout);

    // Status under fast writes: members are asked at once, so a replica's answer may hold
    // transactions the primary's answer did not show yet; none may be called errant. Every
    // member must answer and carry its errant list (a missing list would say nothing).
    start_fast_writer(&ns, "sr", "app.f");
    for _ in 0..15 {
        let status = ns.status_json("sr");
        let members = status["members"].as_array().unwrap();
        assert_eq!(members.len(), 2, "{status:#}");
        for m in members {
            assert_eq!(m["state"], "running", "a member did not answer: {status:#}");
            let errant = m["errant"]
                .as_array()
                .unwrap_or_else(|| panic!("no errant list for {}: {status:#}", m["name"]));
            assert!(
                errant.is_empty(),
                "a false errant set under writes: {status:#}"
            );
        }
    }
    ns.kubectl(&["delete", "pod", "fast-writer", "--wait=false"]);
}

/// A pod that creates `table` and inserts rows into it as fast as one session through
/// NAME-primary can, its password from the cluster's Secret.
fn start_fast_writer(ns: &Namespace, cluster: &str, table: &str) {
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "fast-writer" },
        "spec": { "restartPolicy": "Never", "containers": [{
            "name": "w", "image": ns.engine.image(), "imagePullPolicy": "IfNotPresent",
            "env": [{ "name": "MYSQL_PWD", "valueFrom": { "secretKeyRef": {
                "name": format!("{cluster}-credentials"), "key": "root-password" } } }],
            "command": ["sh", "-c", format!(
                "(echo 'CREATE TABLE {table} (id INT PRIMARY KEY);'; i=0; while :; do i=$((i+1)); echo \"INSERT INTO {table} VALUES ($i);\"; done) | {} -h {cluster}-primary -uroot",
                ns.engine.client())],
        }] },
    });
    run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(&pod.to_string()),
    )
    .ok();
    ns.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/fast-writer",
        "--timeout=60s",
    ])
    .ok();
    let count = format!("SELECT COUNT(*) FROM {table}");
    eventually("the fast writer writes", Duration::from_secs(30), || {
        ns.admin_sql(&format!("{cluster}-1"), &count)
            .stdout
            .trim()
            .parse::<u64>()
            .is_ok_and(|n| n > 100)
    });
}
