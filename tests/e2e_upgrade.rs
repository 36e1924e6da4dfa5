//! Issue 13 end to end on the test bed: a rolling MariaDB 10.11 → 11.8 upgrade of a 3-member
//! cluster under a writer (interrupted once and run again), a refused downgrade, and rolling
//! changes with `set`. MariaDB only for the upgrade: only one MySQL version runs here.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(set_rolls_settings_and_memory_through_under_writes);

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
    std::thread::sleep(Duration::from_secs(2));
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
    // Writes were refused only around the switchover (a few attempts, 0.2 s apart at least).
    assert!(
        longest <= 15,
        "writes were refused {longest} times in a row"
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
    std::thread::sleep(Duration::from_secs(2));
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
    assert!(
        longest <= 15,
        "writes were refused {longest} times in a row"
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
