//! Issue 14 end to end on the test bed: `failover --dry-run` and `switchover --dry-run` name the
//! candidate and why, the refusals of the real command, and for `failover --force` the GTIDs
//! that would be lost; and they change nothing (every member's state, the record of the
//! primary, the write Service; no operation Lease is ever created).
mod common;
use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};

for_both_engines!(
    dry_runs_on_a_healthy_cluster_name_the_candidate_and_change_nothing,
    a_forced_failover_dry_run_lists_the_transaction_it_would_lose,
);

/// Everything a dry run must leave alone: per member its role, read_only, GTID position,
/// source and threads (from `status -o json`), the primary of record and the write Service's
/// selector.
fn snapshot(ns: &Namespace, cluster: &str) -> Vec<String> {
    let status = ns.status_json(cluster);
    let mut state: Vec<String> = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} role={} read_only={} gtid={} source={} io={} sql={}",
                m["name"],
                m["role"],
                m["read_only"],
                m["gtid"],
                m["source"],
                m["io_thread"],
                m["sql_thread"]
            )
        })
        .collect();
    state.push(format!("primary of record: {}", status["primary"]));
    let selector = ns
        .kubectl(&[
            "get",
            "service",
            &format!("{cluster}-primary"),
            "-o",
            "jsonpath={.spec.selector}",
        ])
        .ok()
        .stdout;
    state.push(format!("write service selector: {selector}"));
    state
}

/// Watches the namespace's Leases while dry runs run: any that appears is printed (into a
/// file, read at the end).
struct LeaseWatch {
    child: Child,
    out: std::path::PathBuf,
}

/// The Lease the test makes itself at the end of a watch: the watch must show it.
const PROBE_LEASE: &str = "lease.coordination.k8s.io/watch-probe";

impl LeaseWatch {
    fn start(ns: &Namespace) -> Self {
        let out = std::env::temp_dir().join(format!("{}-leases", ns.name));
        let child = Command::new("kubectl")
            .args(["-n", &ns.name, "get", "lease", "--watch", "-o", "name"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl get lease --watch");
        std::thread::sleep(std::time::Duration::from_secs(2));
        LeaseWatch { child, out }
    }

    /// Every Lease seen since the start but the test's own probe, which is made first and must
    /// show: an empty output from a watch that saw nothing at all would prove nothing.
    fn stop(mut self, ns: &Namespace) -> String {
        let probe = "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: watch-probe}\nspec: {holderIdentity: the-test}\n";
        run(
            "kubectl",
            &["-n", &ns.name, "apply", "-f", "-"],
            Some(probe),
        )
        .ok();
        let seen = || std::fs::read_to_string(&self.out).unwrap_or_default();
        eventually(
            "the Lease watch shows the test's own Lease",
            std::time::Duration::from_secs(30),
            || seen().lines().any(|l| l.trim() == PROBE_LEASE),
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
        ns.kubectl(&["delete", "lease", "watch-probe"]).ok();
        let text = seen();
        let _ = std::fs::remove_file(&self.out);
        text.lines()
            .filter(|l| l.trim() != PROBE_LEASE)
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr))
}

/// A refusal: exit 1, one error line on stderr containing `text`.
fn assert_refused(run: &Run, text: &str) {
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    assert!(lines[0].contains(text), "{text:?} not in {}", run.stderr);
}

fn dry_runs_on_a_healthy_cluster_name_the_candidate_and_change_nothing(engine: Engine) {
    let ns = Namespace::with_engine("dry", engine);
    create_cluster(&ns, "dr", 3);
    ns.sql("dr", "dr-0", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1);").ok();
    ns.wait_applied("dr-1", "dr-0");
    ns.wait_applied("dr-2", "dr-0");
    let before = snapshot(&ns, "dr");
    let leases = LeaseWatch::start(&ns);

    // switchover: the most up-to-date replica, with why; --to names the one asked for.
    let text = ns.plugin(&["switchover", "dr", "--dry-run"]).ok();
    assert!(
        text.stdout.contains("nothing was changed"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("would proceed: dr-0 → dr-"),
        "{}",
        text.stdout
    );
    let plan = json(
        &ns.plugin(&["switchover", "dr", "--dry-run", "-o", "json"])
            .ok(),
    );
    let candidate = plan["candidate"].as_str().unwrap().to_string();
    assert!(candidate == "dr-1" || candidate == "dr-2", "{plan}");
    assert_eq!(plan["proceeds"], true);
    let members = plan["members"].as_array().unwrap();
    let applied = |name: &str| {
        members.iter().find(|m| m["name"] == name).unwrap()["applied"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(applied(&candidate), applied("dr-0"), "{plan}");
    assert!(
        plan["reasons"][0]
            .as_str()
            .unwrap()
            .contains("applied the most"),
        "{plan}"
    );
    assert!(members.iter().all(|m| m["answers"] == true), "{plan}");
    let to = json(
        &ns.plugin(&[
            "switchover",
            "dr",
            "--dry-run",
            "--to",
            "dr-2",
            "-o",
            "json",
        ])
        .ok(),
    );
    assert_eq!(to["candidate"], "dr-2", "{to}");
    let text = ns
        .plugin(&["switchover", "dr", "--dry-run", "--to", "dr-2"])
        .ok();
    assert!(text.stdout.contains("Candidate: dr-2"), "{}", text.stdout);

    // failover: refused while the primary is healthy, like the real command; the plan is shown.
    let refused = ns.plugin(&["failover", "dr", "--dry-run"]);
    assert_refused(&refused, "primary dr-0 is healthy and takes writes");
    assert!(refused.stdout.contains("RECEIVED"), "{}", refused.stdout);
    let plan = ns.plugin(&["failover", "dr", "--dry-run", "--force", "-o", "json"]);
    assert_eq!(plan.code, 1);
    let plan = json(&plan);
    assert_eq!(plan["proceeds"], false);
    assert!(
        plan["refusals"][0].as_str().unwrap().contains("is healthy"),
        "{plan}"
    );
    assert!(plan["members"][1]["received"].is_string(), "{plan}");

    // Bad inputs: one error line, exit 1 (2 for a usage error), nothing changed.
    assert_refused(
        &ns.plugin(&["switchover", "dr", "--dry-run", "--to", "dr-7"]),
        "pod dr-7 is not a member of cluster dr",
    );
    assert_refused(
        &ns.plugin(&["switchover", "dr", "--dry-run", "--to", "dr-0"]),
        "dr-0 is already the primary",
    );
    let plan = json(&ns.plugin(&["failover", "dr", "--dry-run", "--to", "dr-7", "-o", "json"]));
    let refusals = plan["refusals"].to_string();
    assert!(
        refusals.contains("dr-7 is not a reachable replica of cluster dr"),
        "{refusals}"
    );
    assert_refused(
        &ns.plugin(&["failover", "nosuch", "--dry-run"]),
        "cluster nosuch not found",
    );
    assert_refused(
        &ns.plugin(&["switchover", "nosuch", "--dry-run"]),
        "cluster nosuch not found",
    );
    let usage = ns.plugin(&["switchover", "dr", "-o", "json"]);
    assert_eq!(usage.code, 2, "-o needs --dry-run: {}", usage.stderr);

    assert_eq!(leases.stop(&ns), "", "a dry run created a Lease");
    assert_eq!(snapshot(&ns, "dr"), before, "a dry run changed the cluster");
}

/// SIGCONTs the frozen server however the test ends.
struct Frozen<'a>(&'a Namespace, &'a str);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        signal_primary(self.0, self.1, "-CONT");
    }
}

/// The GTID of the one transaction committed between two positions of the primary.
fn new_gtid(engine: Engine, before: &str, after: &str) -> String {
    match engine {
        // A position: one GTID per domain, the last one written.
        Engine::Mariadb => after.to_string(),
        // A set: the element that grew, uuid:1-N, and its last number.
        Engine::Mysql => {
            let grown = after
                .split(',')
                .map(str::trim)
                .find(|e| !before.split(',').any(|b| b.trim() == *e))
                .unwrap_or_else(|| panic!("nothing new in {after} after {before}"));
            let (uuid, interval) = grown.rsplit_once(':').unwrap();
            let last = interval.rsplit('-').next().unwrap();
            format!("{uuid}:{last}")
        }
    }
}

fn a_forced_failover_dry_run_lists_the_transaction_it_would_lose(engine: Engine) {
    let ns = Namespace::with_engine("dry-lose", engine);
    create_command(&ns, "dl", 3, &["--durability", "async"]).ok();
    ns.sql(
        "dl",
        "dl-0",
        "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY);",
    )
    .ok();
    ns.wait_applied("dl-1", "dl-0");
    ns.wait_applied("dl-2", "dl-0");
    let stop_io = match engine {
        Engine::Mariadb => "STOP SLAVE IO_THREAD",
        Engine::Mysql => "STOP REPLICA IO_THREAD",
    };
    ns.admin_sql("dl-1", stop_io).ok();
    ns.admin_sql("dl-2", stop_io).ok();
    // Acknowledged at once (async), received by no replica.
    let position_before = ns.position("dl-0");
    ns.sql("dl", "dl-0", "INSERT INTO app.t VALUES (1)").ok();
    let lost = new_gtid(engine, &position_before, &ns.position("dl-0"));
    let before = snapshot(&ns, "dl");
    let leases = LeaseWatch::start(&ns);
    signal_primary(&ns, "dl-2", "-STOP");
    let frozen = Frozen(&ns, "dl-2");

    // Without --force: the unreachable replica is the refusal.
    let refused = ns.plugin(&["failover", "dl", "--dry-run"]);
    assert_refused(&refused, "replica(s) dl-2 cannot be reached");
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert!(refused.stdout.contains(&lost), "{}", refused.stdout);

    // With --force: it would proceed to dl-1 and lose the primary's transaction; dl-2 unknown.
    let text = ns.plugin(&["failover", "dl", "--dry-run", "--force"]).ok();
    assert!(
        text.stdout.contains("would proceed: dl-0 → dl-1"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!(
            "dl-0 (primary) holds and dl-1 has not received: {lost}"
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("unknown: dl-2 cannot be reached"),
        "{}",
        text.stdout
    );
    let plan = json(
        &ns.plugin(&["failover", "dl", "--dry-run", "--force", "-o", "json"])
            .ok(),
    );
    assert_eq!(plan["candidate"], "dl-1", "{plan}");
    let would_lose = &plan["would_lose"];
    assert_eq!(
        would_lose["transactions"].as_array().unwrap().len(),
        1,
        "{plan}"
    );
    assert_eq!(would_lose["transactions"][0]["member"], "dl-0", "{plan}");
    assert_eq!(
        would_lose["transactions"][0]["gtids"],
        serde_json::json!([lost]),
        "{plan}"
    );
    assert_eq!(would_lose["transactions"][0]["count"], 1, "{plan}");
    assert_eq!(would_lose["unknown"], serde_json::json!(["dl-2"]), "{plan}");
    let dl2 = &plan["members"][2];
    assert_eq!(dl2["answers"], false, "{plan}");

    drop(frozen);
    assert_eq!(leases.stop(&ns), "", "a dry run created a Lease");
    // Nothing moved: the IO threads stay stopped, nothing is fenced, the primary takes writes.
    eventually(
        "dl-2 answers again",
        std::time::Duration::from_secs(60),
        || ns.admin_sql("dl-2", "SELECT 1").code == 0,
    );
    assert_eq!(snapshot(&ns, "dl"), before, "a dry run changed the cluster");
    ns.sql("dl", "dl-0", "INSERT INTO app.t VALUES (2)").ok();
}
