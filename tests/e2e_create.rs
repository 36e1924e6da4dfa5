//! Issue 3 end to end on the test bed: create, status, delete, writes only on the primary,
//! pods that come back in their role, bad input that changes nothing.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(
    create_three_replicates_and_only_the_primary_takes_writes,
    dry_run_passes_server_side_validation,
    bad_input_changes_nothing,
);

fn create_three_replicates_and_only_the_primary_takes_writes(engine: Engine) {
    let ns = Namespace::with_engine("e2e-create", engine);
    let image = engine.image();
    let out = ns
        .plugin(&[
            "create",
            "shop",
            "--replicas",
            "3",
            "--storage",
            "1Gi",
            "--engine",
            engine.name(),
            "--image",
            &image,
            // Without the automatic-failover agent: below, the primary's pod deleted by hand
            // must come back as the primary on its own (the StatefulSet's part); with the agent
            // the primary would move instead (tests/e2e_agent.rs).
            "--no-agent",
        ])
        .ok();
    let status = ns.status_json("shop");
    assert_eq!(status["engine"], engine.name(), "{status:#}");
    let version = status["members"][0]["version"].as_str().unwrap_or_default();
    assert!(
        version.starts_with(match engine {
            Engine::Mariadb => "10.11",
            Engine::Mysql => "9.7",
        }),
        "{version}"
    );
    assert!(
        out.stdout.contains("cluster shop created"),
        "{}",
        out.stdout
    );
    // MariaDB: the replicas were cloned at the same time, both from the primary. MySQL's
    // clone plugin serves one clone per donor: the second waits for a free donor.
    let events = plugin_events(&ns, "shop");
    match engine {
        Engine::Mariadb => {
            // (A pod the kubelet started late may be served by the member that joined.)
            for (donor, early) in
                assert_clones_overlapped(&out.stderr, &events, &["shop-1", "shop-2"])
            {
                assert!(!early || donor == "shop-0", "{events:#?}");
            }
        }
        Engine::Mysql => {
            let donors = clone_donors(&events, &["shop-1", "shop-2"]);
            assert!(
                donors.iter().all(|d| d == "shop-0" || d == "shop-1"),
                "{donors:?}"
            );
        }
    }
    // A donor serves the next member as soon as its stream has ended, not once its recipient
    // is ready (MySQL: shop-2 waits for shop-0's one stream, which shop-1's clone frees before
    // shop-1's server has even started).
    let line = |pod: &str, what: &str| {
        out.stderr
            .lines()
            .position(|l| l.starts_with(&format!("{pod}: {what}")))
            .unwrap_or_else(|| panic!("no progress line {pod}: {what}...\n{}", out.stderr))
    };
    // (Unless the kubelet started shop-2 so late that it only waited for a donor after that.)
    if line("shop-2", "waiting for a donor") < line("shop-1", "waiting until ready") {
        assert!(
            line("shop-2", "cloning from") < line("shop-1", "waiting until ready"),
            "shop-2's clone waited until shop-1 was ready:\n{}",
            out.stderr
        );
    }

    let status = ns.status_json("shop");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(members_with_role(&status, "primary"), ["shop-0"]);
    let replicas = members_with_role(&status, "replica");
    assert_eq!(replicas.len(), 2);
    for m in status["members"].as_array().unwrap() {
        assert_eq!(m["ready"], true, "{m}");
        if m["role"] == "replica" {
            assert_eq!(m["replicating"], true, "{m}");
            assert_eq!(m["read_only"], true, "{m}");
        }
    }
    let table = ns.plugin(&["status", "shop"]).ok().stdout;
    assert!(
        table.contains("Verdict:   healthy") && table.contains("MEMBER"),
        "{table}"
    );
    // Replicas reach the primary through its member Service: an address that stays when the
    // primary's pod is made anew elsewhere (a pod's own DNS name is cached for seconds after).
    let show = match engine {
        Engine::Mariadb => "SHOW SLAVE STATUS",
        Engine::Mysql => "SHOW REPLICA STATUS",
    };
    for pod in ["shop-1", "shop-2"] {
        let replica = ns.sql("shop", pod, show).ok().stdout;
        assert!(
            replica.contains(&format!("shop-0-repl.{}.svc.cluster.local", ns.name)),
            "{pod} does not replicate through shop-0's member Service:\n{replica}"
        );
    }
    let selected = ns
        .kubectl(&[
            "get",
            "service",
            "shop-0-repl",
            "-o",
            "jsonpath={.spec.selector.statefulset\\.kubernetes\\.io/pod-name} {.spec.clusterIP}",
        ])
        .ok()
        .stdout;
    assert!(
        selected.starts_with("shop-0 ") && !selected.ends_with("None"),
        "{selected}"
    );

    // A write through the write Service reaches every replica.
    let pw = ns.root_password("shop");
    // kube-proxy programs a new Service within seconds of its endpoint turning ready.
    eventually("the write Service answers", Duration::from_secs(30), || {
        ns.sql_as("shop-1", "shop-primary", "root", &pw, "SELECT 1")
            .code
            == 0
    });
    write_through_service(
        &ns,
        &pw,
        "CREATE DATABASE IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY); INSERT IGNORE INTO app.t VALUES (42);",
    );
    for pod in ["shop-0", "shop-1", "shop-2"] {
        eventually(
            &format!("the row is on {pod}"),
            Duration::from_secs(30),
            || ns.sql("shop", pod, "SELECT id FROM app.t").stdout.trim() == "42",
        );
    }
    // Reads through the read Service.
    assert_eq!(
        ns.sql_as(
            "shop-0",
            "shop-read",
            "root",
            &pw,
            "SELECT COUNT(*) FROM app.t"
        )
        .ok()
        .stdout
        .trim(),
        "1"
    );

    // Writes on a replica are refused by the server's read-only guard, for root and for an
    // application account.
    let refused = ns.sql("shop", "shop-1", "INSERT INTO app.t VALUES (1)");
    assert_refused_read_only(&refused, "root on replica shop-1");
    ns.sql_as(
        "shop-1",
        "shop-primary",
        "root",
        &pw,
        "CREATE USER app@'%' IDENTIFIED BY 'apppw'; GRANT ALL ON app.* TO app@'%';",
    )
    .ok();
    eventually(
        "the app account reaches shop-2",
        Duration::from_secs(30),
        || {
            ns.sql_as("shop-2", "127.0.0.1", "app", "apppw", "SELECT 1")
                .code
                == 0
        },
    );
    let refused = ns.sql_as(
        "shop-2",
        "127.0.0.1",
        "app",
        "apppw",
        "INSERT INTO app.t VALUES (2)",
    );
    assert_refused_read_only(&refused, "the application account on replica shop-2");

    // Re-running create on a healthy cluster changes nothing and says so.
    let again = ns
        .plugin(&[
            "create",
            "shop",
            "--replicas",
            "3",
            "--engine",
            engine.name(),
            "--image",
            &image,
            "--no-agent",
        ])
        .ok();
    assert!(
        again.stdout.contains("already exists and is healthy"),
        "{}",
        again.stdout
    );

    // The primary's pod deleted with kubectl comes back as primary; replicas resume; no plugin.
    ns.kubectl(&["delete", "pod", "shop-0"]).ok();
    ns.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/shop-0",
        "--timeout=180s",
    ])
    .ok();
    write_through_service(&ns, &pw, "INSERT IGNORE INTO app.t VALUES (43);");
    for pod in ["shop-1", "shop-2"] {
        eventually(
            &format!("{pod} resumes after the primary restarted"),
            Duration::from_secs(60),
            || {
                ns.sql("shop", pod, "SELECT COUNT(*) FROM app.t")
                    .stdout
                    .trim()
                    == "2"
            },
        );
    }
    // The same for a replica's pod.
    ns.kubectl(&["delete", "pod", "shop-2"]).ok();
    ns.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/shop-2",
        "--timeout=180s",
    ])
    .ok();
    write_through_service(&ns, &pw, "INSERT IGNORE INTO app.t VALUES (44);");
    eventually(
        "shop-2 resumes after its restart",
        Duration::from_secs(60),
        || {
            ns.sql("shop", "shop-2", "SELECT COUNT(*) FROM app.t")
                .stdout
                .trim()
                == "3"
        },
    );
    assert_refused_read_only(
        &ns.sql("shop", "shop-2", "INSERT INTO app.t VALUES (5)"),
        "root on the restarted replica shop-2",
    );
    eventually(
        "the cluster is healthy again",
        Duration::from_secs(60),
        || ns.status_json("shop")["healthy"] == true,
    );

    // delete removes everything, the data too.
    let out = ns.plugin(&["delete", "shop", "--yes"]).ok();
    assert!(out.stdout.contains("deleted"), "{}", out.stdout);
    let left = ns
        .kubectl(&[
            "get",
            "statefulset,service,configmap,secret,pvc,poddisruptionbudget",
            "-l",
            "app.kubernetes.io/instance=shop",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(left.stdout.trim(), "", "objects left after delete");
}

/// A write through NAME-primary; kube-proxy may need a few seconds to follow a pod that was
/// just recreated (new IP), so a refused connection is retried.
fn write_through_service(ns: &Namespace, pw: &str, sql: &str) {
    eventually(
        "a write through shop-primary succeeds",
        Duration::from_secs(60),
        || ns.sql_as("shop-1", "shop-primary", "root", pw, sql).code == 0,
    );
}

fn dry_run_passes_server_side_validation(engine: Engine) {
    let ns = Namespace::with_engine("e2e-dry", engine);
    let image = engine.image();
    let yaml = ns
        .plugin(&[
            "create",
            "web",
            "--dry-run",
            "--engine",
            engine.name(),
            "--image",
            &image,
        ])
        .ok()
        .stdout;
    let out = run(
        "kubectl",
        &["apply", "-n", &ns.name, "--dry-run=server", "-f", "-"],
        Some(&yaml),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("statefulset.apps/web created (server dry run)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        ns.kubectl(&[
            "get",
            "all,cm,secret",
            "-l",
            "app.kubernetes.io/instance=web",
            "-o",
            "name"
        ])
        .stdout
        .trim(),
        ""
    );
}

/// Every bad input: one clear line, non-zero exit, nothing created.
fn bad_input_changes_nothing(engine: Engine) {
    let ns = Namespace::with_engine("e2e-bad", engine);
    let nothing_created = || {
        let objs = objects(&ns);
        assert!(objs.is_empty(), "objects were created: {objs:?}");
    };
    let expect = |args: &[&str], code: i32, message: &str| {
        // Every create names the engine under test.
        let mut args = args.to_vec();
        if args.first() == Some(&"create") {
            args.extend(["--engine", engine.name()]);
        }
        let out = ns.plugin(&args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(message),
            "{args:?}: stderr was {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{args:?}: more than one line: {}",
            out.stderr
        );
    };
    expect(
        &["create", "Bad_Name"],
        2,
        "invalid cluster name 'Bad_Name'",
    );
    expect(&["create", &"a".repeat(46)], 2, "at most 45 characters");
    expect(
        &["create", "ok", "--replicas", "0"],
        2,
        "--replicas must be at least 1",
    );
    expect(
        &["create", "ok", "--replicas", "-2"],
        2,
        "--replicas must be at least 1",
    );
    // Every quantity, the image reference and the storage class are checked before anything
    // is created (a bad --storage used to leave Services, ConfigMap and Secret behind).
    expect(
        &["create", "ok3", "--storage", "notasize"],
        2,
        "invalid --storage 'notasize'",
    );
    expect(
        &["create", "ok3", "--storage", "0"],
        2,
        "invalid --storage '0'",
    );
    expect(
        &["create", "ok3", "--cpu", "lots"],
        2,
        "invalid --cpu 'lots'",
    );
    expect(
        &["create", "ok3", "--memory", "1GB"],
        2,
        "invalid --memory '1GB'",
    );
    expect(
        &["create", "ok3", "--image", "Not An Image"],
        2,
        "invalid --image",
    );
    expect(
        &["create", "ok3", "--image", "mariadb:"],
        2,
        "invalid --image 'mariadb:'",
    );
    expect(
        &["create", "ok3", "--storage-class", "Fast_SSD"],
        2,
        "invalid --storage-class",
    );
    expect(
        &["create", "ok3", "--primary", "ok3-7"],
        2,
        "--primary ok3-7 is not a member",
    );
    expect(
        &["create", "ok3", "--storage-class", "no-such-class"],
        1,
        "storage class no-such-class not found",
    );
    expect(&["status", "ghost"], 1, "cluster ghost not found");
    expect(&["delete", "ghost", "--yes"], 1, "cluster ghost not found");
    nothing_created();
    let out = run(PLUGIN, &["create", "ok", "-n", "no-such-namespace-x"], None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("namespace no-such-namespace-x not found"),
        "{}",
        out.stderr
    );
    // An unreachable API server.
    let dir = std::env::temp_dir().join(format!("mysqlha-kubeconfig-{}", std::process::id()));
    std::fs::write(&dir, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: x\n").unwrap();
    let out = run(
        PLUGIN,
        &["status", "shop", "--kubeconfig", dir.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    // A StatefulSet of the same name that is not ours: refused, left alone.
    let foreign = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: other}\nspec:\n  replicas: 0\n  serviceName: other\n  selector: {matchLabels: {app: other}}\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: c, image: none}]}\n";
    run(
        "kubectl",
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(foreign),
    )
    .ok();
    expect(&["create", "other"], 1, "already exists in namespace");
    let left = ns
        .kubectl(&["get", "statefulset,service,configmap,secret", "-o", "name"])
        .ok()
        .stdout;
    assert!(
        !left.contains("other-credentials") && !left.contains("service/other"),
        "{left}"
    );
}

/// An image that never starts is reported with the pod's reason before the timeout.
#[test]
fn image_that_never_starts_is_reported() {
    let ns = Namespace::new("e2e-img");
    let out = ns.plugin(&[
        "create",
        "bad",
        "--replicas",
        "1",
        "--image",
        "localhost/no/such-image:1",
        "--timeout",
        "120s",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("ErrImagePull") || out.stderr.contains("ImagePullBackOff"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("timed out"), "{}", out.stderr);
    ns.plugin(&["delete", "bad", "--yes"]).ok();
}

/// A write the server refused for its read-only guard (error 1290, ER_OPTION_PREVENTS_STATEMENT:
/// "running with the --read-only option" on MariaDB, "--super-read-only" on MySQL), not for
/// any other reason (a missing grant, a dropped connection, a typo) that a bare non-zero exit
/// would pass too.
fn assert_refused_read_only(out: &Run, who: &str) {
    assert_ne!(out.code, 0, "{who} wrote on a replica: {}", out.stdout);
    assert!(
        out.stderr.contains("ERROR 1290") && out.stderr.contains("read-only option"),
        "{who}: refused, but not by the read-only guard: {}",
        out.stderr
    );
}
