//! The binary-log archive under faults, on real MariaDB and MySQL at once (issue 24): it
//! follows a switchover (from the replica it read, now the primary, to the new replica), and
//! the object store stopped for a minute under writes refuses no write, makes `status` warn,
//! and is caught up afterwards: a restore to the last acknowledged write's GTID holds exactly
//! the acknowledged writes. Meanwhile the agent keeps the schedule asked (`--every 1m --keep
//! 150s`): a scheduled base backup is taken (after failing while the store is down), and the
//! first backup is deleted once older than the retention. It stops the test bed's one object
//! store: run alone (run-all's node-fault group).
mod common;
use common::*;
use std::time::{Duration, Instant};

const OUTAGE: Duration = Duration::from_secs(60);

/// Starts the object store again however the test ends.
struct StoreBack;

impl Drop for StoreBack {
    fn drop(&mut self) {
        testbed_node(&["object-store", "start"]);
    }
}

/// Cluster arc (2 members, its agent, backups enabled on a schedule, a base backup: its ID), a
/// writer running, and a switchover made under it.
fn set_up(ns: &Namespace) -> (Writer<'_>, String) {
    create_command(ns, "arc", 2, &["--agent-image", &agent_image()]).ok();
    make_s3_secret(ns, "s3", None);
    let enable = |schedule: &[&str]| {
        let args = backup_enable_args(ns, "arc", schedule);
        ns.plugin(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .ok();
    };
    enable(&[]);
    ns.sql(
        "arc",
        "arc-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let out = ns.plugin(&["backup", "arc"]).ok();
    let first = out
        .stdout
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string();
    // The schedule once the first backup is taken (one backup at a time on a member).
    enable(&["--every", "1m", "--keep", "150s"]);
    let writer = Writer::start(ns, "arc", "app.w");
    writer.wait_for_acknowledgements("writes before the switchover", Duration::from_secs(60));
    writer.mark_fault();
    ns.plugin(&["switchover", "arc", "--to", "arc-1"]).ok();
    writer.wait_for_acknowledgements("writes after the switchover", Duration::from_secs(60));
    (writer, first)
}

/// The agent took a scheduled backup and deleted the first one once older than the retention.
fn the_schedule_was_kept(ns: &Namespace, first: &str) {
    let events = || {
        ns.kubectl(&[
            "get",
            "events",
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ])
        .ok()
        .stdout
    };
    eventually(
        "a scheduled backup and a pruning",
        Duration::from_secs(120),
        || {
            let e = events();
            e.contains("scheduled base backup") && e.contains("BackupPruned")
        },
    );
    let listed = ns.plugin(&["backup", "list", "arc"]).ok().stdout;
    assert!(
        !listed.contains(first),
        "{first} outlived the retention:\n{listed}"
    );
    assert!(listed.contains("recoverable: any time from"), "{listed}");
}

fn failed_writes(ns: &Namespace, writer: &Writer) -> usize {
    ns.kubectl(&["logs", &writer.pod])
        .stdout
        .lines()
        .filter(|l| l.starts_with("fail "))
        .count()
}

/// Stops the writer, then restores the archive to the last acknowledged write's GTID (retrying
/// while the archive catches up) and checks the restored rows are exactly the acknowledged.
fn restore_exactly_the_acknowledged(ns: &Namespace, writer: Writer) {
    let acked = writer.stop();
    acked.assert_enough_to_judge();
    let target = gtid_position(ns, "arc", "arc-1");
    let mut args = vec![
        "restore",
        "back",
        "--from",
        "arc",
        "--to-gtid",
        &target,
        "--replicas",
        "1",
        "--storage",
        "4Gi",
        "--no-agent",
    ];
    let engine = ns.engine_args();
    args.extend(engine.iter().map(String::as_str));
    let deadline = Instant::now() + Duration::from_secs(90);
    let out = loop {
        let out = ns.plugin(&args);
        if out.code == 0 || !out.stderr.contains("beyond the archive") || Instant::now() > deadline
        {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let restored: Vec<u64> = ns
        .sql("back", "back-0", "SELECT id FROM app.w ORDER BY id")
        .ok()
        .stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let mut expected = acked.to_vec();
    expected.sort();
    let missing: Vec<&u64> = expected.iter().filter(|i| !restored.contains(i)).collect();
    let extra: Vec<&u64> = restored.iter().filter(|i| !expected.contains(i)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "restored to {target}: {} acknowledged writes missing {missing:?}, {} extra {extra:?}",
        missing.len(),
        extra.len()
    );
    eprintln!(
        "{:?}: {} acknowledged writes, all restored to {target} across a switchover and a store outage",
        ns.engine,
        expected.len()
    );
}

#[test]
fn the_archive_follows_a_switchover_and_catches_up_after_the_store_was_down() {
    let namespaces = [
        Namespace::with_engine("e2e-archive", Engine::Mariadb),
        Namespace::with_engine("e2e-archive", Engine::Mysql),
    ];
    let set: Vec<(Writer, String)> = std::thread::scope(|s| {
        let setting_up: Vec<_> = namespaces
            .iter()
            .map(|ns| s.spawn(move || set_up(ns)))
            .collect();
        setting_up
            .into_iter()
            .map(|h| h.join().expect("setting up"))
            .collect()
    });
    let (writers, firsts): (Vec<Writer>, Vec<String>) = set.into_iter().unzip();
    let counts =
        |ws: &[Writer]| -> Vec<usize> { ws.iter().map(|w| w.acknowledged().len()).collect() };
    let failed_before: Vec<usize> = namespaces
        .iter()
        .zip(&writers)
        .map(|(ns, w)| failed_writes(ns, w))
        .collect();
    let before = counts(&writers);
    testbed_node(&["object-store", "stop"]);
    let back = StoreBack;
    let stopped = Instant::now();
    std::thread::sleep(Duration::from_secs(40));
    for ns in &namespaces {
        let status = ns.status_json("arc");
        let notes = status["notes"].to_string();
        assert!(
            notes.contains("binary-log archive"),
            "{:?}: status does not warn about the archive with the store down: {status:#}",
            ns.engine
        );
    }
    std::thread::sleep(OUTAGE.saturating_sub(stopped.elapsed()));
    let during = counts(&writers);
    drop(back);
    for (i, ns) in namespaces.iter().enumerate() {
        assert!(
            during[i] >= before[i] + MIN_ACKNOWLEDGED,
            "{:?}: writes stopped while the object store was down ({} acknowledged before, {} after)",
            ns.engine,
            before[i],
            during[i]
        );
        assert_eq!(
            failed_writes(ns, &writers[i]),
            failed_before[i],
            "{:?}: writes were refused while the object store was down",
            ns.engine
        );
    }
    std::thread::scope(|s| {
        let checks: Vec<_> = namespaces
            .iter()
            .zip(writers.into_iter().zip(&firsts))
            .map(|(ns, (w, first))| {
                s.spawn(move || {
                    restore_exactly_the_acknowledged(ns, w);
                    the_schedule_was_kept(ns, first);
                })
            })
            .collect();
        for c in checks {
            c.join().expect("restoring");
        }
    });
}
