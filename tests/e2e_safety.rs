//! Safe in a team's hands, on the test bed: one operation at a time per cluster (the Lease
//! lock), kept data that comes back with the right primary, an interrupted delete finished by
//! a re-run.
mod common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

for_both_engines!(
    a_second_operation_is_refused_or_waits_while_one_runs,
    a_killed_holder_frees_the_lock_once_it_expires,
    kept_data_comes_back_with_the_member_that_has_everything,
    diverged_kept_data_is_refused_and_the_way_out_works,
);

fn spawn_plugin(ns: &Namespace, args: &[&str]) -> Child {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-n", &ns.name]);
    Command::new(PLUGIN)
        .args(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Holder of the cluster's Lease, "" when there is none.
fn lease_holder(ns: &Namespace, cluster: &str) -> String {
    ns.kubectl(&[
        "get",
        "lease",
        &format!("{cluster}-operation"),
        "-o",
        "jsonpath={.spec.holderIdentity}",
        "--ignore-not-found",
    ])
    .stdout
    .trim()
    .to_string()
}

fn wait_for_lease(ns: &Namespace, cluster: &str) {
    eventually(
        "the operation takes the lock",
        Duration::from_secs(30),
        || !lease_holder(ns, cluster).is_empty(),
    );
}

fn writable_members(ns: &Namespace, cluster: &str, members: u32) -> Vec<String> {
    (0..members)
        .map(|i| format!("{cluster}-{i}"))
        .filter(|pod| {
            ns.admin_sql(pod, "SELECT @@read_only")
                .stdout
                .trim()
                .eq("0")
        })
        .collect()
}

fn assert_replicas_equal_primary(ns: &Namespace, cluster: &str, members: u32, db: &str) {
    let status = ns.status_json(cluster);
    assert_eq!(status["healthy"], true, "{status:#}");
    let primary = status["primary"].as_str().unwrap().to_string();
    let expected = checksums(ns, cluster, &primary, db);
    for i in 0..members {
        let pod = format!("{cluster}-{i}");
        if pod == primary {
            continue;
        }
        ns.wait_applied(&pod, &primary);
        assert_eq!(checksums(ns, cluster, &pod, db), expected, "{pod} differs");
    }
    assert_eq!(writable_members(ns, cluster, members), vec![primary]);
}

/// A rebuild and, a second later, a switchover: the switchover is refused at once naming the
/// rebuild; with --wait it runs after it; the cluster ends healthy with every write kept.
fn a_second_operation_is_refused_or_waits_while_one_runs(engine: Engine) {
    let ns = Namespace::with_engine("e2e-lock", engine);
    create_cluster(&ns, "c9", 3);
    ns.sql(
        "c9",
        "c9-0",
        "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)",
    )
    .ok();
    let writer = Writer::start(&ns, "c9", "app.t");
    writer.mark_fault();
    let rebuild = spawn_plugin(&ns, &["rebuild-replica", "c9", "c9-1", "--yes"]);
    wait_for_lease(&ns, "c9");
    let refused = ns.plugin(&["switchover", "c9", "--to", "c9-2"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(
        refused.stderr.trim().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("cluster c9 is busy")
            && refused.stderr.contains("runs rebuild-replica since"),
        "{}",
        refused.stderr
    );
    // Scale during the rebuild: refused too.
    let scale = ns.plugin(&["scale", "c9", "--replicas", "4"]);
    assert_eq!(scale.code, 1, "{}", scale.stderr);
    assert!(scale.stderr.contains("is busy"), "{}", scale.stderr);
    // status shows the operation and takes no lock.
    let status = ns.plugin(&["status", "c9"]).ok();
    assert!(
        status.stdout.contains("Operation:") && status.stdout.contains("rebuild-replica"),
        "{}",
        status.stdout
    );
    let switchover = spawn_plugin(&ns, &["switchover", "c9", "--to", "c9-2", "--wait", "5m"]);
    let rebuilt = finish(rebuild);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    assert!(
        rebuilt.stdout.contains("replicating from c9-0"),
        "{}",
        rebuilt.stdout
    );
    let switched = finish(switchover);
    assert_eq!(switched.code, 0, "{}", switched.stderr);
    assert!(
        switched
            .stderr
            .contains("waiting for the lock of cluster c9"),
        "{}",
        switched.stderr
    );
    assert!(
        switched.stdout.contains("c9-0 → c9-2"),
        "{}",
        switched.stdout
    );
    let acked = writer.stop();
    assert!(!acked.is_empty());
    assert_no_acknowledged_write_lost(&ns, "c9", "c9-2", "app.t", &acked);
    assert_replicas_equal_primary(&ns, "c9", 3, "app");
    assert_eq!(
        lease_holder(&ns, "c9"),
        "",
        "the lock is released at the end"
    );
}

/// A holder killed with SIGKILL stops renewing: its lock expires and the next command, waiting
/// for it, runs (how long that takes is printed, not judged: speed is for benches). Ctrl-C
/// (SIGINT) releases the lock at once.
fn a_killed_holder_frees_the_lock_once_it_expires(engine: Engine) {
    let ns = Namespace::with_engine("e2e-kill", engine);
    create_cluster(&ns, "k9", 2);
    let mut scale = spawn_plugin(&ns, &["scale", "k9", "--replicas", "3"]);
    wait_for_lease(&ns, "k9");
    unsafe_kill(scale.id(), "KILL");
    let _ = scale.wait();
    let killed = Instant::now();
    let busy = ns.plugin(&["rebuild-replica", "k9", "k9-1", "--yes"]);
    assert!(busy.stderr.contains("is busy"), "{}", busy.stderr);
    // The next command waits for the expiry (a generous 5 minutes at most: a lock that never
    // expires fails it), then runs (it finishes the interrupted scale).
    ns.plugin(&["scale", "k9", "--replicas", "3", "--wait", "5m"])
        .ok();
    eprintln!(
        "the killed holder's lock freed and the interrupted scale finished {:.1}s after the kill",
        killed.elapsed().as_secs_f64()
    );
    // SIGINT: released at once, exit 130.
    let mut rebuild = spawn_plugin(&ns, &["rebuild-replica", "k9", "k9-2", "--yes"]);
    wait_for_lease(&ns, "k9");
    unsafe_kill(rebuild.id(), "INT");
    let status = rebuild.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(lease_holder(&ns, "k9"), "", "Ctrl-C must release the lock");
    // The interrupted rebuild is finished by running it again.
    ns.plugin(&["rebuild-replica", "k9", "k9-2", "--yes"]).ok();
    let status = ns.status_json("k9");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert!(status["operation"].is_null(), "{status:#}");
}

fn unsafe_kill(pid: u32, signal: &str) {
    run("kill", &[&format!("-{signal}"), &pid.to_string()], None).ok();
}

/// create, switchover to NAME-2, a replica that lags, delete --keep-data, create again: the
/// member that has everything becomes the primary (not NAME-0), nothing acknowledged is lost,
/// the lagging member catches up.
fn kept_data_comes_back_with_the_member_that_has_everything(engine: Engine) {
    let ns = Namespace::with_engine("e2e-keep", engine);
    create_cluster(&ns, "k1", 3);
    ns.plugin(&["switchover", "k1", "--to", "k1-2"]).ok();
    ns.sql("k1", "k1-2", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1),(2),(3)")
        .ok();
    // k1-0 stops applying: it lags behind k1-1 and the primary k1-2.
    ns.admin_sql("k1-0", "STOP REPLICA SQL_THREAD").ok();
    ns.sql("k1", "k1-2", "INSERT INTO app.t VALUES (4),(5)")
        .ok();
    ns.wait_applied("k1-1", "k1-2");
    let out = ns.plugin(&["delete", "k1", "--keep-data", "--yes"]).ok();
    assert!(out.stdout.contains("data kept"), "{}", out.stdout);
    let out = create_command(&ns, "k1", 3, &[]).ok();
    assert!(
        out.stdout.contains("brought back on its kept data") && out.stdout.contains("primary k1-2"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let rows = ns
        .sql("k1", "k1-2", "SELECT COUNT(*) FROM app.t")
        .ok()
        .stdout;
    assert_eq!(rows.trim(), "5");
    ns.sql("k1", "k1-2", "INSERT INTO app.t VALUES (6)").ok();
    assert_replicas_equal_primary(&ns, "k1", 3, "app");
}

/// Members whose histories diverged: create on the kept data is refused naming the errant
/// GTIDs, and leaves things as delete --keep-data left them; `create --primary` is the way out.
fn diverged_kept_data_is_refused_and_the_way_out_works(engine: Engine) {
    let ns = Namespace::with_engine("e2e-div", engine);
    create_cluster(&ns, "d1", 2);
    ns.sql(
        "d1",
        "d1-0",
        "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)",
    )
    .ok();
    ns.wait_applied("d1-1", "d1-0");
    // d1-1 receives (and acknowledges) the primary's next write without applying it, then
    // stops and takes a write of its own (an errant transaction): neither includes the other.
    ns.admin_sql("d1-1", "STOP REPLICA SQL_THREAD").ok();
    ns.sql("d1", "d1-0", "INSERT INTO app.t VALUES (1)").ok();
    let errant = engine.errant_write("INSERT INTO app.t VALUES (100)");
    ns.admin_sql("d1-1", &format!("STOP REPLICA; {errant}"))
        .ok();
    ns.plugin(&["delete", "d1", "--keep-data", "--yes"]).ok();
    let before = objects(&ns);
    let out = create_command(&ns, "d1", 2, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let last = out
        .stderr
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(last.starts_with("error: "), "{}", out.stderr);
    assert!(last.contains("diverged"), "{last}");
    assert!(last.contains("d1-1 holds "), "{last}");
    assert!(last.contains("--primary POD"), "{last}");
    assert_eq!(
        objects(&ns),
        before,
        "a refused create changed the kept objects"
    );
    let out = create_command(&ns, "d1", 2, &["--primary", "d1-0"]).ok();
    assert!(out.stdout.contains("primary d1-0"), "{}", out.stdout);
    assert!(out.stderr.contains("d1-1 holds"), "{}", out.stderr);
    let status = ns.status_json("d1");
    assert_eq!(status["healthy"], true, "{status:#}");
    let errant: Vec<&serde_json::Value> = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["errant"].as_array().unwrap().is_empty())
        .collect();
    assert!(errant.is_empty(), "{status:#}");
    assert_replicas_equal_primary(&ns, "d1", 2, "app");
}

/// A delete interrupted after the StatefulSet, Services and ConfigMap were gone is finished by
/// running it again; a delete of what is already gone says so.
#[test]
fn an_interrupted_delete_is_finished_by_a_rerun() {
    let ns = Namespace::new("e2e-del");
    create_cluster(&ns, "x1", 1);
    // What an interrupted delete leaves: the Secret and the claims.
    ns.kubectl(&[
        "delete",
        "statefulset/x1",
        "service/x1",
        "service/x1-primary",
        "service/x1-read",
        "configmap/x1",
    ])
    .ok();
    let out = ns.plugin(&["delete", "x1", "--yes"]).ok();
    assert!(
        out.stdout.contains("deleted with its data"),
        "{}",
        out.stdout
    );
    assert!(objects(&ns).is_empty(), "{:?}", objects(&ns));
    let again = ns.plugin(&["delete", "x1", "--yes"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("not found"), "{}", again.stderr);
}
