//! Issue 4 end to end on the test bed: scale out under writes with clones streamed through the
//! plugin, scale in, rebuild a diverged replica, resume an interrupted rebuild, bad input.
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

for_both_engines!(
    scale_out_under_writes_then_in,
    rebuild_heals_an_errant_replica_and_resumes_after_interruption,
);

/// Megabytes of table data loaded before scaling (MYSQLHA_TEST_DATA_MB; by default 1024 for
/// MariaDB, whose backup of a donor under load once outran its redo log, and 512 for MySQL,
/// whose 1 GB load alone costs minutes of the CI budget here).
fn data_mb(engine: Engine) -> u64 {
    std::env::var("MYSQLHA_TEST_DATA_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(match engine {
            Engine::Mariadb => 1024,
            Engine::Mysql => 512,
        })
}

fn load_data(ns: &Namespace, cluster: &str, mb: u64) {
    // ~1 KiB per row, random so that nothing compresses it away.
    let rows = mb * 1024;
    // MariaDB counts with its sequence engine; MySQL with a recursive common table expression.
    let insert = match ns.engine {
        Engine::Mariadb => {
            format!("INSERT INTO app.big SELECT seq, RANDOM_BYTES(1000) FROM seq_1_to_{rows};")
        }
        Engine::Mysql => format!(
            "SET SESSION cte_max_recursion_depth = {}; INSERT INTO app.big WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) SELECT n, RANDOM_BYTES(1000) FROM s;",
            rows + 1
        ),
    };
    let sql = format!(
        "CREATE DATABASE IF NOT EXISTS app; USE app; CREATE TABLE app.big (id INT PRIMARY KEY, pad VARBINARY(1000)) ENGINE=InnoDB; \
         {insert} CREATE TABLE app.w (id INT PRIMARY KEY);"
    );
    ns.sql(cluster, &format!("{cluster}-0"), &sql).ok();
}

fn scale_out_under_writes_then_in(engine: Engine) {
    let ns = Namespace::with_engine("e2e-scale", engine);
    create_cluster(&ns, "db", 2);
    load_data(&ns, "db", data_mb(engine));
    let writer = Writer::start(&ns, "db", "app.w");
    let before = plugin_events(&ns, "db").len();
    let out = ns.plugin(&["scale", "db", "--replicas", "4"]).ok();
    // Both new members were cloned at once, from the replica first (the primary's writes are
    // spared while a replica has a free stream: MariaDB's serves two, MySQL's one).
    let events = plugin_events(&ns, "db")[before..].to_vec();
    let overlapped = assert_clones_overlapped(&out.stderr, &events, &["db-2", "db-3"]);
    let mut donors: Vec<&str> = overlapped.iter().map(|(d, _)| d.as_str()).collect();
    donors.sort();
    let expected = match engine {
        Engine::Mariadb => ["db-1", "db-1"],
        Engine::Mysql => ["db-0", "db-1"],
    };
    // (A pod the kubelet started late may be served by the member that joined.)
    if overlapped.iter().all(|(_, early)| *early) {
        assert_eq!(donors, expected, "{events:#?}");
    }
    assert!(
        out.stdout.contains("scaled from 2 to 4 members"),
        "{}",
        out.stdout
    );
    let acked = writer.stop();
    assert!(
        acked.len() > 10,
        "the writer committed too little during the scale: {}",
        acked.len()
    );
    let status = ns.status_json("db");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(members_with_role(&status, "replica").len(), 3);
    let primary_sums = checksums(&ns, "db", "db-0", "app");
    for pod in ["db-1", "db-2", "db-3"] {
        eventually(
            &format!("{pod} matches the primary"),
            Duration::from_secs(60),
            || checksums(&ns, "db", pod, "app") == primary_sums,
        );
    }
    let out = ns.plugin(&["scale", "db", "--replicas", "2"]).ok();
    assert!(
        out.stdout.contains("scaled from 4 to 2 members"),
        "{}",
        out.stdout
    );
    assert_eq!(
        ns.kubectl(&["get", "pod", "db-3"]).code,
        1,
        "db-3 still exists"
    );
    eventually(
        "the cluster is healthy at 2",
        Duration::from_secs(60),
        || ns.status_json("db")["healthy"] == true,
    );
}

fn rebuild_heals_an_errant_replica_and_resumes_after_interruption(engine: Engine) {
    let ns = Namespace::with_engine("e2e-rebuild", engine);
    create_cluster(&ns, "db", 3);
    load_data(&ns, "db", 64);
    eventually(
        "db-2 has replicated the load",
        Duration::from_secs(120),
        || {
            ns.admin_sql("db-2", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'app' AND table_name = 'w'").stdout.trim() == "1"
        },
    );
    // An errant transaction: written on a replica behind replication's back.
    ns.admin_sql(
        "db-2",
        &ns.engine.errant_write("INSERT INTO app.w VALUES (999999)"),
    )
    .ok();
    let status = ns.status_json("db");
    assert_eq!(status["healthy"], false);
    let reasons = status["reasons"].to_string();
    assert!(
        reasons.contains("db-2 has errant transactions")
            && reasons.contains("rebuild-replica db db-2"),
        "{reasons}"
    );

    // Interrupt a rebuild once its clone has begun (its progress on stderr says "db-2: cloning
    // from ..."): the pod stays out of service; a re-run completes it.
    let (mut child, mut progress) = spawn_plugin(&ns, &["rebuild-replica", "db", "db-2", "--yes"]);
    read_until(&mut progress, "db-2: cloning from");
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let ready = ns
        .kubectl(&[
            "get",
            "pod",
            "db-2",
            "-o",
            "jsonpath={.status.containerStatuses[0].ready}",
        ])
        .stdout;
    assert_ne!(ready, "true", "an interrupted rebuild left db-2 serving");
    // The killed command's lock expires on its own (it is no longer renewed): the re-run waits
    // for it.
    let out = ns
        .plugin(&["rebuild-replica", "db", "db-2", "--yes", "--wait", "60s"])
        .ok();
    assert!(
        out.stdout.contains("replica db-2 rebuilt"),
        "{}",
        out.stdout
    );
    let status = ns.status_json("db");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(
        checksums(&ns, "db", "db-2", "app"),
        checksums(&ns, "db", "db-0", "app")
    );

    // Bad input: one line, non-zero, nothing changed.
    for (args, message) in [
        (
            vec!["rebuild-replica", "db", "db-9", "--yes"],
            "pod db-9 is not a member of cluster db",
        ),
        (
            vec!["rebuild-replica", "db", "db-0", "--yes"],
            "db-0 is the primary",
        ),
        (
            vec!["rebuild-replica", "db", "db-1", "--from", "db-1", "--yes"],
            "the donor must not be the pod being rebuilt",
        ),
        (
            vec!["rebuild-replica", "db", "db-1"],
            "refusing without --yes",
        ),
        (
            vec!["scale", "db", "--replicas", "0"],
            "--replicas must be at least 1",
        ),
        (
            vec!["scale", "nosuch", "--replicas", "3"],
            "cluster nosuch not found",
        ),
    ] {
        let out = ns.plugin(&args);
        // A bad argument is a usage error (2); a refusal after looking at the cluster is 1.
        let code = if message.starts_with("--replicas") {
            2
        } else {
            1
        };
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(ns.status_json("db")["healthy"], true);
}

/// The plugin with `args` in `ns`, its progress (stderr) read line by line.
fn spawn_plugin(ns: &Namespace, args: &[&str]) -> (Child, impl Iterator<Item = String>) {
    let mut child = Command::new(PLUGIN)
        .args(args)
        .args(["-n", &ns.name])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    (child, lines)
}

/// Reads `lines` until one contains `text`; panics with what was read if they end first.
fn read_until(lines: &mut impl Iterator<Item = String>, text: &str) {
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        if line.contains(text) {
            return;
        }
        seen.push(line);
    }
    panic!("the command ended without {text:?}: {seen:#?}");
}

/// The pid of the `mariadb-backup --prepare` run in `pod`, looked for during `limit`. The
/// process table is read directly, every millisecond: a prepare of a small backup lasts only a
/// tenth of a second or so. (The data container has no POD_NAME: the pod is told by its UID in
/// the process's cgroup.)
fn prepare_pid(ns: &Namespace, pod: &str, limit: Duration) -> Option<String> {
    let uid = ns
        .kubectl(&["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])
        .ok()
        .stdout;
    let in_pod = format!("/pod{uid}/");
    let started = Instant::now();
    while started.elapsed() < limit {
        for entry in std::fs::read_dir("/proc").unwrap().map_while(Result::ok) {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if !cmdline.starts_with(b"mariadb-backup\0--prepare\0") {
                continue;
            }
            let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            if cgroup.contains(&in_pod) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Whether process `pid` still runs (a zombie does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| !s.trim_start().starts_with('Z'))
    })
}

/// MariaDB: a rebuild killed while the backup is being prepared leaves that prepare running in
/// the member's data container; the re-run must end it before extracting its own stream, or the
/// old prepare writes into the new data and, done, removes the mark that keeps the server from
/// starting on a half-extracted directory.
#[test]
fn mariadb_a_rebuild_ends_the_prepare_an_interrupted_rebuild_left() {
    let ns = Namespace::with_engine("e2e-rebuild-prep", Engine::Mariadb);
    create_cluster(&ns, "db", 2);
    load_data(&ns, "db", 64);
    let rebuild = ["rebuild-replica", "db", "db-1", "--yes", "--wait", "60s"];

    let (mut first, mut progress) = spawn_plugin(&ns, &rebuild);
    read_until(&mut progress, "preparing the backup");
    let stale = prepare_pid(&ns, "db-1", Duration::from_secs(20))
        .expect("no mariadb-backup --prepare seen in db-1");
    // Held where it is, as a prepare of a large backup would still be running.
    run("kill", &["-STOP", &stale], None).ok();
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut again, mut progress) = spawn_plugin(&ns, &rebuild);
    read_until(&mut progress, "preparing the backup");
    let stale_ran_on = alive(&stale);
    run("kill", &["-CONT", &stale], None);
    assert!(
        !stale_ran_on,
        "the interrupted rebuild's prepare (pid {stale}) still ran in db-1 while the re-run extracted its stream"
    );
    let rest: Vec<String> = progress.collect();
    assert!(again.wait().unwrap().success(), "{rest:#?}");
    let status = ns.status_json("db");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(
        checksums(&ns, "db", "db-1", "app"),
        checksums(&ns, "db", "db-0", "app")
    );
}
