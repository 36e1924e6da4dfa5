//! Issue 6 end to end on the test bed: switchover and failover under a writer that logs every
//! acknowledged commit; no acknowledged write may be lost, at most one member is writable.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(
    switchover_under_writes_loses_nothing,
    failover_after_the_primary_is_frozen_loses_no_acknowledged_write,
    failover_after_kill_9_loses_no_acknowledged_write,
    failover_after_the_primary_is_cut_off_loses_no_acknowledged_write,
    a_rebuilt_replica_once_promoted_serves_a_replica_at_its_clone_position,
);

fn setup(ns: &Namespace) {
    create_cluster(ns, "ha", 3);
    ns.sql(
        "ha",
        "ha-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
}

/// Every acknowledged id is on the new primary (writes were acknowledged before the fault and
/// after it); one writable member; replicas converge.
fn check_no_loss(ns: &Namespace, acked: &Acked) {
    let status = ns.status_json("ha");
    let primary = status["primary"].as_str().unwrap().to_string();
    assert_no_acknowledged_write_lost(ns, "ha", &primary, "app.w", acked);
    let writable: Vec<_> = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "running" && m["read_only"] == false)
        .collect();
    assert!(
        writable.len() <= 1,
        "more than one writable member: {writable:?}"
    );
    let sums = checksums(ns, "ha", &primary, "app");
    for m in members_with_role(&status, "replica") {
        if status["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == m.as_str() && x["replicating"] == true)
        {
            eventually(&format!("{m} converges"), Duration::from_secs(60), || {
                checksums(ns, "ha", &m, "app") == sums
            });
        }
    }
}

fn switchover_under_writes_loses_nothing(engine: Engine) {
    let ns = Namespace::with_engine("e2e-switch", engine);
    setup(&ns);
    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();
    let out = ns.plugin(&["switchover", "ha", "--to", "ha-2"]).ok();
    assert!(out.stdout.contains("primary ha-0 → ha-2"), "{}", out.stdout);
    let acked = writer.stop();
    let status = ns.status_json("ha");
    assert_eq!(status["primary"], "ha-2");
    assert_eq!(status["healthy"], true, "{status:#}");
    check_no_loss(&ns, &acked);
    // And back, with the default target.
    ns.plugin(&["switchover", "ha"]).ok();
    let primary = ns.status_json("ha")["primary"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(primary, "ha-2");
    // Refused, nothing moved: switching to the primary itself, to a non-member.
    let itself = ns.plugin(&["switchover", "ha", "--to", &primary]);
    assert_eq!(itself.code, 1, "{}", itself.stderr);
    assert!(
        itself
            .stderr
            .contains(&format!("{primary} is already the primary")),
        "{}",
        itself.stderr
    );
    let stranger = ns.plugin(&["switchover", "ha", "--to", "ha-7"]);
    assert_eq!(stranger.code, 1, "{}", stranger.stderr);
    assert!(
        stranger.stderr.contains("not a member"),
        "{}",
        stranger.stderr
    );
    assert_eq!(ns.status_json("ha")["primary"], primary.as_str());
}

fn failover_after_the_primary_is_frozen_loses_no_acknowledged_write(engine: Engine) {
    let ns = Namespace::with_engine("e2e-failover", engine);
    setup(&ns);
    // A healthy primary: failover refuses and changes nothing.
    let out = ns.plugin(&["failover", "ha", "--yes"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is healthy and takes writes"),
        "{}",
        out.stderr
    );

    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();
    signal_primary(&ns, "ha-0", "-STOP");
    // The first thing a person runs: status names the frozen primary at once (the survey's
    // connect timeout), without asking it again patiently.
    let status = ns.status_json("ha");
    let frozen = &status["members"][0];
    assert!(
        frozen["name"] == "ha-0"
            && frozen["error"]
                .as_str()
                .is_some_and(|e| e.contains("does not answer within 2s")),
        "{status}"
    );
    let out = ns.plugin(&["failover", "ha", "--yes"]);
    signal_primary(&ns, "ha-0", "-CONT");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let acked = writer.stop();
    check_no_loss(&ns, &acked);
    let status = ns.status_json("ha");
    assert_ne!(status["primary"], "ha-0");
    // The old primary comes back read-only and out of service, then is rebuilt.
    eventually("ha-0 is back, read-only", Duration::from_secs(120), || {
        ns.admin_sql("ha-0", "SELECT @@read_only").stdout.trim() == "1"
    });
    ns.plugin(&["rebuild-replica", "ha", "ha-0", "--yes"]).ok();
    eventually(
        "the cluster is healthy again",
        Duration::from_secs(60),
        || ns.status_json("ha")["healthy"] == true,
    );
}

fn failover_after_kill_9_loses_no_acknowledged_write(engine: Engine) {
    let ns = Namespace::with_engine("e2e-kill", engine);
    setup(&ns);
    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();
    // The server killed, and its pod deleted at once (as a lost node's would be): the primary is gone.
    signal_primary(&ns, "ha-0", "-KILL");
    ns.kubectl(&[
        "delete",
        "pod",
        "ha-0",
        "--grace-period=0",
        "--force",
        "--wait=false",
    ]);
    let out = ns.plugin(&["failover", "ha", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let acked = writer.stop();
    check_no_loss(&ns, &acked);
}

/// Takes the pod's network down from the host (the test bed is this machine): its interface in
/// the network namespace that holds its address.
fn cut_network(ns: &Namespace, pod: &str) {
    let netns = netns_of(ns, pod);
    run(
        "ip",
        &["netns", "exec", &netns, "ip", "link", "set", "eth0", "down"],
        None,
    )
    .ok();
}

fn failover_after_the_primary_is_cut_off_loses_no_acknowledged_write(engine: Engine) {
    let ns = Namespace::with_engine("e2e-netcut", engine);
    setup(&ns);
    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();
    cut_network(&ns, "ha-0");
    // The replicas notice within slave_net_timeout (10 s): their IO threads reconnect.
    eventually(
        "the replicas lose the primary",
        Duration::from_secs(60),
        || {
            let status = ns.status_json("ha");
            status["members"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["role"] == "replica")
                .all(|m| m["io_thread"] != "Yes")
        },
    );
    let out = ns.plugin(&["failover", "ha", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let acked = writer.stop();
    check_no_loss(&ns, &acked);
    assert_ne!(ns.status_json("ha")["primary"], "ha-0");
}

/// A replica cloned from a backup, once promoted, must serve a replica that stands exactly at the
/// position it was cloned at, even after it has written on its own: its binary log must start
/// where its data does (MariaDB otherwise refuses with error 1236, "slave has diverged").
fn a_rebuilt_replica_once_promoted_serves_a_replica_at_its_clone_position(engine: Engine) {
    let ns = Namespace::with_engine("e2e-clonepos", engine);
    setup(&ns);
    ns.sql("ha", "ha-0", "INSERT INTO app.w VALUES (1)").ok();
    let has = |pod: &str, id: u32| {
        ns.admin_sql(pod, &format!("SELECT COUNT(*) FROM app.w WHERE id = {id}"))
            .stdout
            .trim()
            == "1"
    };
    eventually("ha-1 has row 1", Duration::from_secs(60), || has("ha-1", 1));
    ns.plugin(&["rebuild-replica", "ha", "ha-2", "--from", "ha-1", "--yes"])
        .ok();
    // No write since the clone: every member stands at ha-2's clone position.
    ns.plugin(&["switchover", "ha", "--to", "ha-2"]).ok();
    ns.admin_sql("ha-1", "STOP REPLICA;").ok();
    let pw = format!("MYSQL_PWD={}", ns.root_password("ha"));
    run(
        "timeout",
        &[
            "60",
            "kubectl",
            "-n",
            &ns.name,
            "exec",
            "ha-2",
            "-c",
            "mysql",
            "--",
            "env",
            &pw,
            ns.engine.client(),
            "-h",
            "127.0.0.1",
            "-uroot",
            "-e",
            "INSERT INTO app.w VALUES (2)",
        ],
        None,
    )
    .ok();
    // ha-1 asks ha-2 for the events after the clone position.
    ns.admin_sql("ha-1", "START REPLICA;").ok();
    eventually("ha-1 replicates from ha-2", Duration::from_secs(60), || {
        has("ha-1", 2)
    });
    let status = ns.status_json("ha");
    assert_eq!(status["primary"], "ha-2");
    assert_eq!(status["healthy"], true, "{status:#}");
}
