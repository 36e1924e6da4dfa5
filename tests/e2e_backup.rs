//! Backups to the test bed's real S3 server (versitygw) and restores into new clusters, on real
//! MariaDB and MySQL (issue 24): a table dropped by mistake comes back: from a base backup alone
//! (every write acknowledged before the backup began, none acknowledged after it ended), and
//! from the binary logs the agent archived, to a time and to a GTID (exactly the writes
//! acknowledged before the target, none after); bad input changes nothing; a damaged backup is
//! refused, never restored silently.
mod common;
use common::*;
use std::time::Duration;

/// The cluster's backups go under a prefix of the namespace's own.
fn store_url(ns: &Namespace) -> String {
    format!("s3://{}/e2e/{}", s3_var("MYSQLHA_S3_BUCKET"), ns.name)
}

fn make_key_secrets(ns: &Namespace) {
    make_s3_secret(ns, "s3", None);
    make_s3_secret(ns, "s3-wrong", Some("not-the-key"));
}

/// A refused command: exit 1, one line saying `expected`, and no backup ConfigMap made.
fn assert_refused(ns: &Namespace, args: &[&str], expected: &str) {
    let out = ns.plugin(args);
    assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    let configs = ns.kubectl(&["get", "configmap", "-o", "name"]).ok().stdout;
    assert!(!configs.contains("src-backup"), "{args:?} recorded a store");
}

/// RFC 3339 of whole second `s` since the epoch.
fn rfc3339(s: u64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{s}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The ids in app.w on `pod` of `cluster` (read with that cluster's own root password).
fn ids(ns: &Namespace, cluster: &str, pod: &str) -> Vec<u64> {
    ns.sql(cluster, pod, "SELECT id FROM app.w ORDER BY id")
        .ok()
        .stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Runs `args` until the archive has caught up with the target (the command refuses a target
/// beyond the archive, and changes nothing then), within 60 s.
fn restore_when_archived(ns: &Namespace, args: &[&str]) -> Run {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = ns.plugin(args);
        let behind =
            out.stderr.contains("beyond the archive") || out.stderr.contains("after the archive");
        if out.code == 0 || !behind || std::time::Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The restored cluster is healthy with its replica; its rows, the same on both members.
fn restored_rows(ns: &Namespace, cluster: &str) -> Vec<u64> {
    let status = ns.status_json(cluster);
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(members_with_role(&status, "replica").len(), 1, "{status:#}");
    let rows = ids(ns, cluster, &format!("{cluster}-0"));
    assert_eq!(
        ids(ns, cluster, &format!("{cluster}-1")),
        rows,
        "the replica differs"
    );
    rows
}

fn a_dropped_table_comes_back_from_a_backup_into_a_new_cluster(engine: Engine) {
    let ns = Namespace::with_engine("e2e-backup", engine);
    // The agent archives the binary logs once backups are enabled.
    create_command(&ns, "src", 2, &["--agent-image", &agent_image()]).ok();
    make_key_secrets(&ns);
    let endpoint = s3_var("MYSQLHA_S3_ENDPOINT");
    let to = store_url(&ns);

    // Bad input: one line, exit 1, nothing recorded.
    let enable = |to: &str, credentials: &str| -> Vec<String> {
        [
            "backup",
            "enable",
            "src",
            "--to",
            to,
            "--endpoint",
            &endpoint,
            "--credentials",
            credentials,
        ]
        .map(String::from)
        .to_vec()
    };
    for (args, expected) in [
        (
            enable("s3://no-such-bucket-mysqlha/x", "s3"),
            "the bucket does not exist",
        ),
        (enable(&to, "s3-wrong"), "the secret key is wrong"),
        (
            enable(&to, "no-such-secret"),
            "Secret no-such-secret not found",
        ),
        (
            vec!["backup".into(), "src".into()],
            "cluster src has no backups enabled",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&ns, &args, expected);
    }

    let enabling = enable(&to, "s3");
    ns.plugin(&enabling.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    ns.sql(
        "src",
        "src-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let writer = Writer::start(&ns, "src", "app.w");
    writer.mark_no_fault();
    writer.wait_for_acknowledgements("writes before the backup", Duration::from_secs(60));
    let before = writer.acknowledged();
    let out = ns.plugin(&["backup", "src"]).ok();
    let after = writer.acknowledged();
    let id = out
        .stdout
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("no backup id in: {}", out.stdout))
        .to_string();
    writer.wait_for_acknowledgements("writes after the backup", Duration::from_secs(60));
    let acked = writer.stop();
    // The target time: after every acknowledged write, a second before the next one. Stamps
    // are whole seconds: T is a whole second after the last acknowledgement.
    std::thread::sleep(Duration::from_millis(1500));
    let target = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let target_time = rfc3339(target);
    std::thread::sleep(Duration::from_millis(1500));
    ns.sql("src", "src-0", "INSERT INTO app.w VALUES (1000000000)")
        .ok();
    let target_gtid = gtid_position(&ns, "src", "src-0");
    // status shows where backups go and the last one (never the key).
    let status = ns.status_json("src");
    assert_eq!(status["backups"]["last"]["id"], id.as_str(), "{status:#}");
    assert_eq!(status["backups"]["credentials"], "s3", "{status:#}");
    let table = ns.plugin(&["status", "src"]).ok().stdout;
    assert!(table.contains(&format!("last backup {id}")), "{table}");
    assert!(!table.contains(&s3_var("MYSQLHA_S3_SECRET_KEY")), "{table}");
    let listed = ns.plugin(&["backup", "list", "src"]).ok().stdout;
    assert!(listed.contains(&id), "{listed}");
    // The support archive holds the backup catalog, never the key.
    let catalog = run(
        "bash",
        &[
            "-c",
            &format!(
                "set -o pipefail; '{PLUGIN}' report src -n {} -o - | tar xzOf - --wildcards '*/backups.json'",
                ns.name
            ),
        ],
        None,
    )
    .ok()
    .stdout;
    assert!(catalog.contains(&id), "{catalog}");
    assert!(catalog.contains("\"archive\""), "{catalog}");
    assert!(
        !catalog.contains(&s3_var("MYSQLHA_S3_SECRET_KEY")),
        "the key is in the report"
    );
    ns.plugin(&["backup", "verify", "src"]).ok();

    // The mistake, replicated everywhere.
    ns.sql("src", "src-0", "DROP TABLE app.w").ok();

    let mut restore = vec![
        "restore",
        "dst",
        "--from",
        "src",
        "--backup",
        &id,
        "--replicas",
        "2",
        "--storage",
        "4Gi",
        "--no-agent",
    ];
    let engine_args = ns.engine_args();
    restore.extend(engine_args.iter().map(String::as_str));
    let out = ns.plugin(&restore).ok();
    assert!(
        out.stdout.contains(&format!("restored from backup {id}")),
        "{}",
        out.stdout
    );
    // Its own passwords work (the old cluster's were replaced), on the primary and a replica.
    let restored = restored_rows(&ns, "dst");
    let missing: Vec<u64> = before
        .iter()
        .filter(|i| !restored.contains(i))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "writes acknowledged before the backup began are missing: {missing:?}"
    );
    let later: Vec<u64> = acked
        .iter()
        .filter(|i| !after.contains(i) && restored.contains(i))
        .copied()
        .collect();
    assert!(
        later.is_empty(),
        "writes acknowledged after the backup ended were restored: {later:?}"
    );
    eprintln!(
        "restored {} rows: {} acknowledged before the backup, {} by its end, {} in all",
        restored.len(),
        before.len(),
        after.len(),
        acked.len()
    );

    // Point in time: to a time (a second before the last insert), and to that insert's GTID.
    let beyond = rfc3339(target + 3600);
    let mut pitr = restore.clone();
    pitr[1] = "pitr";
    pitr.splice(4..6, ["--to-time", beyond.as_str()]);
    let out = ns.plugin(&pitr);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is after the archive of src"),
        "{}",
        out.stderr
    );
    pitr[5] = target_time.as_str();
    // This one with its agent.
    let image = agent_image();
    pitr.retain(|a| *a != "--no-agent");
    pitr.extend(["--agent-image", image.as_str()]);
    let out = restore_when_archived(&ns, &pitr).ok();
    assert!(
        out.stdout.contains("restored from backup"),
        "{}",
        out.stdout
    );
    let at_time = restored_rows(&ns, "pitr");
    let mut every_ack = acked.to_vec();
    every_ack.sort();
    assert_eq!(
        at_time, every_ack,
        "restored to {target_time}: not exactly the writes acknowledged before it"
    );
    let mut to_gtid = restore.clone();
    to_gtid[1] = "gtid";
    to_gtid.splice(4..6, ["--to-gtid", target_gtid.as_str()]);
    restore_when_archived(&ns, &to_gtid).ok();
    let mut with_last = every_ack.clone();
    with_last.push(1000000000);
    assert_eq!(
        restored_rows(&ns, "gtid"),
        with_last,
        "restored to GTID {target_gtid}: not exactly the writes up to it"
    );
    eprintln!(
        "point in time: {} rows to {target_time}, {} to GTID {target_gtid}",
        at_time.len(),
        with_last.len()
    );

    // A name in use is refused.
    let mut again = restore.clone();
    again[1] = "src";
    let out = ns.plugin(&again);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("src is in use"), "{}", out.stderr);

    // A damaged backup (its data cut short) fails verify and is never restored.
    let key = format!("e2e/{}/src/base/{id}/data", ns.name);
    let data = s3_curl(&[], &key).unwrap();
    let cut = std::env::temp_dir().join(format!("{}-cut", ns.name));
    std::fs::write(&cut, &data[..data.len() / 2]).unwrap();
    s3_curl(
        &["-X", "PUT", "--data-binary", &format!("@{}", cut.display())],
        &key,
    )
    .unwrap();
    let _ = std::fs::remove_file(&cut);
    let out = ns.plugin(&["backup", "verify", "src"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    let mut damaged = restore.clone();
    damaged[1] = "bad";
    damaged.splice(4..6, []);
    let out = ns.plugin(&damaged);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    // Its member never started on what arrived: it still waits for data.
    let phase = ns
        .kubectl(&[
            "get",
            "pod",
            "bad-0",
            "-o",
            "jsonpath={.status.initContainerStatuses[?(@.name==\"data\")].state.running}",
        ])
        .ok()
        .stdout;
    assert!(
        !phase.is_empty(),
        "bad-0's data container is not waiting any more"
    );
}

for_both_engines!(a_dropped_table_comes_back_from_a_backup_into_a_new_cluster);
