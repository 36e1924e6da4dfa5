//! Issue 12 end to end: the in-cluster agent fails over by itself, under a writer through
//! NAME-primary and with no plugin command after the fault; it does not fail over a server that
//! restarts in place or that only the agent cannot reach; the old primary rejoins by itself; a
//! switchover while it runs is no alarm; its standby takes over when the leader's pod is
//! deleted, with the cooldown's state (one more failover within it, then a person decides).
mod common;
use common::*;
use std::time::{Duration, Instant};

for_both_engines!(
    the_agent_fails_over_by_itself_and_never_on_a_false_alarm,
    the_agent_fails_over_a_cut_off_primary_and_a_deleted_one,
);

/// The pod (name) holding the agent's Lease, once it is a running agent pod.
fn leader(ns: &Namespace) -> Option<String> {
    let holder = ns
        .kubectl(&[
            "get",
            "lease",
            "ha-agent",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ])
        .stdout;
    let pods = ns
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=mysqlha-agent",
            "--field-selector=status.phase=Running",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ])
        .stdout;
    pods.split_whitespace()
        .find(|p| holder.contains(&format!("@{p} ")))
        .map(str::to_string)
}

/// How many agent pods exist (terminating ones included).
fn agent_pods(ns: &Namespace) -> usize {
    ns.kubectl(&[
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=mysqlha-agent",
        "-o",
        "name",
    ])
    .stdout
    .lines()
    .count()
}

/// How many events of `reason` the namespace holds.
fn events(ns: &Namespace, reason: &str) -> usize {
    event_notes(ns, reason).len()
}

/// The messages of cluster ha's events of `reason`, oldest first.
fn event_notes(ns: &Namespace, reason: &str) -> Vec<String> {
    event_messages(ns, "ha", reason)
}

fn primary(ns: &Namespace) -> String {
    recorded_primary(ns, "ha")
}

fn at_most_one_writable(ns: &Namespace) {
    let status = ns.status_json("ha");
    let writable = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "running" && m["read_only"] == false)
        .count();
    assert!(writable <= 1, "{writable} writable members: {status:#}");
}

/// Cluster ha (3 members, table app.w) and its agent, enabled with `flags`, leading. With
/// `deployed_by_create`, create deploys the agent first and enable updates it (a rollout).
fn cluster_with_agent(ns: &Namespace, deployed_by_create: bool, flags: &[&str]) {
    let image = agent_image();
    let create_flags: &[&str] = match deployed_by_create {
        true => &["--agent-image", &image],
        false => &[],
    };
    create_command(ns, "ha", 3, create_flags).ok();
    ns.sql(
        "ha",
        "ha-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let mut enable = vec!["agent", "enable", "ha", "--agent-image", &image];
    enable.extend(flags);
    let out = ns.plugin(&enable).ok();
    assert!(out.stdout.contains("Deployment ha-agent"), "{}", out.stdout);
    if deployed_by_create {
        ns.kubectl(&["rollout", "status", "deployment/ha-agent", "--timeout=120s"])
            .ok();
    }
    // Of the new pods only (enable rolled the Deployment), one leading.
    eventually("a new agent pod leads", Duration::from_secs(120), || {
        agent_pods(ns) == 2 && leader(ns).is_some()
    });
}

/// Freezes `old` and waits, running nothing of the plugin, until another member is the
/// primary; returns the seconds it took.
fn freeze_and_wait_for_a_new_primary(ns: &Namespace, old: &str) -> f64 {
    let t0 = Instant::now();
    signal_primary(ns, old, "-STOP");
    wait_for_a_new_primary(ns, "ha", old, Duration::from_secs(90));
    let took = t0.elapsed().as_secs_f64();
    signal_primary(ns, old, "-CONT");
    took
}

fn the_agent_fails_over_by_itself_and_never_on_a_false_alarm(engine: Engine) {
    let ns = Namespace::with_engine("e2e-agent", engine);
    // A cooldown longer than the test (one more failover within it, not two). Longer graces
    // than the defaults: on a loaded machine a SIGKILLed server may hold its sockets open (no
    // greeting, like a frozen one) for seconds while the kernel frees its memory, and restart
    // slowly; the false alarm below must stay one there too (tests/bench/autofailover
    // measures the defaults).
    cluster_with_agent(
        &ns,
        true,
        &[
            "--cooldown",
            "10m",
            "--grace",
            "10s",
            "--restart-grace",
            "90s",
        ],
    );
    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();
    prometheus::load_alert_rules();
    prometheus::wait_for_series(
        "Prometheus scrapes the agent's leader",
        &format!(
            "mysqlha_agent_leader{{namespace=\"{}\",cluster=\"ha\"}} == 1",
            ns.name
        ),
        Duration::from_secs(90),
    );
    the_pod_monitor_selects_the_agents_metrics_port(&ns);

    // False alarm: the primary's server stalls, then is killed and restarts in place within
    // the grace time. Stalled first until the agent notices: a server killed outright can be
    // back before the agent's next probe (CI's run 20: restarted within about a second, never
    // noticed), and then nothing of the false-alarm path is shown.
    signal_primary(&ns, "ha-0", "-STOP");
    eventually("the agent notices", Duration::from_secs(30), || {
        events(&ns, "PrimaryUnreachable") >= 1
    });
    signal_primary(&ns, "ha-0", "-KILL");
    eventually(
        "the primary answers again",
        Duration::from_secs(100),
        || events(&ns, "PrimaryAnswersAgain") >= 1,
    );
    writer.wait_for_acknowledgements("writes are acknowledged again", Duration::from_secs(30));
    assert_eq!(primary(&ns), "ha-0");
    assert_eq!(
        events(&ns, "AutomaticFailover"),
        0,
        "a failover on a false alarm"
    );

    // The agent cut from the primary only (the primary drops what comes from the agent's
    // pods): its replicas still receive from it, so it is no failure.
    let netns = netns_of(&ns, "ha-0");
    let agents = ns
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=mysqlha-agent",
            "-o",
            "jsonpath={.items[*].status.podIP}",
        ])
        .ok()
        .stdout;
    let drop_from = |action: &str, ip: &str| {
        let args = [
            "netns", "exec", &netns, "iptables", action, "INPUT", "-s", ip, "-j", "DROP",
        ];
        run("ip", &args, None).ok();
    };
    for ip in agents.split_whitespace() {
        drop_from("-I", ip);
    }
    eventually(
        "the agent says it is cut off",
        Duration::from_secs(60),
        || events(&ns, "AgentPartitioned") >= 1,
    );
    let answered = events(&ns, "PrimaryAnswersAgain");
    for ip in agents.split_whitespace() {
        drop_from("-D", ip);
    }
    // Heard again before the next fault (its silence is then a new one, with its own alert).
    eventually(
        "the agent hears the primary again",
        Duration::from_secs(60),
        || events(&ns, "PrimaryAnswersAgain") > answered,
    );
    assert_eq!(primary(&ns), "ha-0");
    assert_eq!(
        events(&ns, "PrimaryLost"),
        0,
        "a failover of a primary only the agent lost"
    );

    // The primary frozen: the agent fails over by itself.
    let frozen_at = prometheus::unix_now();
    let took = freeze_and_wait_for_a_new_primary(&ns, "ha-0");
    eprintln!("frozen primary ha-0: new primary recorded after {took:.1}s");
    // Its silence (the grace, 10 s here) fired the alert, which stays after the failover.
    let mut since = None;
    eventually(
        "MysqlhaPrimaryLost fires for the frozen primary",
        Duration::from_secs(60),
        || {
            since = prometheus::firing_since("MysqlhaPrimaryLost", &ns.name, "ha", frozen_at);
            since.is_some()
        },
    );
    eprintln!(
        "MysqlhaPrimaryLost active {:.1}s after the primary froze (scrapes every 5 s, evaluation every 2 s)",
        since.unwrap() - frozen_at
    );
    // Its server was killed before the promotion, so thawing it woke nothing writable.
    let fenced = event_notes(&ns, "Fenced");
    assert!(
        fenced.iter().any(|n| n.contains("its server killed")),
        "{fenced:?}"
    );
    at_most_one_writable(&ns);
    writer.wait_for_acknowledgements("writes go to the new primary", Duration::from_secs(30));
    assert_eq!(events(&ns, "AutomaticFailover"), 1);
    // status shows the agent: its leader, heartbeat and the failover it made.
    let shown = ns.plugin(&["status", "ha"]).stdout;
    assert!(
        shown.contains("Agent:     leader") && shown.contains("last failover"),
        "{shown}"
    );

    // The old primary comes back as a replica by itself; unless it holds a transaction the new
    // primary lacks (one it logged but never sent when it froze): then it is flagged and rebuilt.
    eventually(
        "ha-0 rejoins or is flagged",
        Duration::from_secs(120),
        || events(&ns, "Rejoined") + events(&ns, "OutOfService") >= 1,
    );
    let new_primary = primary(&ns);
    if events(&ns, "Rejoined") >= 1 {
        eventually(
            "ha-0 replicates from the new primary",
            Duration::from_secs(60),
            || {
                let status = ns.status_json("ha");
                let ha0 = &status["members"][0];
                ha0["replicating"] == true && ha0["source"] == new_primary.as_str()
            },
        );
    } else {
        let flagged = event_notes(&ns, "OutOfService");
        assert!(
            flagged[0].starts_with("ha-0 holds transactions"),
            "{flagged:?}"
        );
        ns.plugin(&["rebuild-replica", "ha", "ha-0", "--yes"]).ok();
    }
    at_most_one_writable(&ns);
    every_documented_metric_is_scraped(&ns);
    metrics_agree_with_status_on_a_degraded_cluster(&ns);

    // A person's switchover while the agent runs: the moved primary is no alarm to it. It
    // moves back to ha-0, once ready (replicating shows in status a probe before Ready).
    ns.kubectl(&["wait", "--for=condition=Ready", "pod/ha-0", "--timeout=90s"])
        .ok();
    let before = primary(&ns);
    ns.plugin(&["switchover", "ha", "--to", "ha-0"]).ok();
    assert_ne!(primary(&ns), before);
    at_most_one_writable(&ns);
    // Longer than the agent's grace (10 s, above) and a probe: a switchover the agent took for
    // a lost primary would show as a second PrimaryLost by then.
    std::thread::sleep(Duration::from_secs(15));
    assert_eq!(
        events(&ns, "PrimaryLost"),
        1,
        "the agent raced a switchover"
    );
    // Its server killed seconds later restarts as the writable primary, although the kubelet
    // has not yet refreshed the mounted record (up to about a minute): before the pods got
    // their own copy of the record, it came back a read-only replica, no member writable, and
    // the agent saw a primary that answers.
    // Waited for by the container's restart: the agent may not even see it (a restart takes
    // ~1 s here, and a probe a second may fall on either side of it).
    let restarts = server_restarts(&ns, "ha-0");
    signal_primary(&ns, "ha-0", "-KILL");
    eventually("ha-0's server restarts", Duration::from_secs(150), || {
        server_restarts(&ns, "ha-0") > restarts
    });
    writer.wait_for_acknowledgements(
        "writes are acknowledged by the restarted ha-0",
        Duration::from_secs(60),
    );
    assert_eq!(primary(&ns), "ha-0");
    assert_eq!(events(&ns, "AutomaticFailover"), 1);

    // The leader's pod deleted: the standby takes over and fails over the next fault, the one
    // failover the cooldown allows (it knows of the first from the Lease).
    let first = leader(&ns).expect("a leader");
    ns.kubectl(&[
        "delete",
        "pod",
        &first,
        "--grace-period=0",
        "--force",
        "--wait=false",
    ]);
    eventually("another agent pod leads", Duration::from_secs(60), || {
        leader(&ns).is_some_and(|l| l != first)
    });
    let second = primary(&ns);
    let took = freeze_and_wait_for_a_new_primary(&ns, &second);
    eprintln!("frozen primary {second} (new leader): new primary recorded after {took:.1}s");
    writer.wait_for_acknowledgements("writes go to the newest primary", Duration::from_secs(30));
    let acked = writer.stop();
    at_most_one_writable(&ns);
    let last = primary(&ns);
    assert_ne!(last, second);
    assert_no_acknowledged_write_lost(&ns, "ha", &last, "app.w", &acked);
    let failovers = event_notes(&ns, "AutomaticFailover");
    assert_eq!(failovers.len(), 2, "{failovers:?}");
    assert!(
        failovers[1].contains("the second within a cooldown"),
        "{failovers:?}"
    );

    // A third primary lost within the cooldown waits for a person.
    signal_primary(&ns, &last, "-STOP");
    eventually("the agent holds back", Duration::from_secs(60), || {
        events(&ns, "FailoverCooldown") >= 1
    });
    signal_primary(&ns, &last, "-CONT");
    assert_eq!(primary(&ns), last);
    assert_eq!(events(&ns, "AutomaticFailover"), 2);
    let held = event_notes(&ns, "FailoverCooldown");
    assert!(held[0].contains("already the second"), "{held:?}");

    // report holds the agent's log: its decisions, the failover among them.
    let archive = std::env::temp_dir().join(format!("{}-report.tar.gz", ns.name));
    let archive = archive.to_str().unwrap();
    ns.plugin(&["report", "ha", "-o", archive, "--force"]).ok();
    let logs = run("tar", &["xzOf", archive, "--wildcards", "*/agent/*"], None)
        .ok()
        .stdout;
    std::fs::remove_file(archive).ok();
    assert!(logs.contains("AutomaticFailover: failed over"), "{logs}");

    // disable removes the agent; delete leaves nothing of it.
    ns.plugin(&["agent", "disable", "ha"]).ok();
    eventually("the agent's pods are gone", Duration::from_secs(60), || {
        ns.kubectl(&["get", "deploy,sa,role,rolebinding,lease", "-o", "name"])
            .stdout
            .lines()
            .all(|l| !l.contains("ha-agent"))
    });
}

/// Drops (`-I`) or lets through again (`-D`) everything network namespace `netns` sends or
/// receives on its eth0 (exec still reaches a pod there: that goes through its node).
fn drop_traffic(netns: &str, action: &str) -> Run {
    let mut last = None;
    for (chain, interface) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
        let args = [
            "netns", "exec", netns, "iptables", action, chain, interface, "eth0", "-j", "DROP",
        ];
        last = Some(run("ip", &args, None));
    }
    last.unwrap()
}

/// Waits until the agent has failed over from `old` (the record names another member).
/// How many times the agent brought a member back: rejoined, or rebuilt (--auto-rebuild).
fn brought_back(ns: &Namespace) -> usize {
    events(ns, "Rejoined") + events(ns, "Rebuilt")
}

/// `pod` comes back as a replica of the primary by itself: it rejoins, or (holding what the
/// primary lacks) the agent rebuilds it.
fn comes_back(ns: &Namespace, pod: &str, before: usize) {
    eventually(
        &format!("the agent brings {pod} back"),
        Duration::from_secs(240),
        || brought_back(ns) > before,
    );
    eventually(
        &format!("{pod} replicates from the primary"),
        Duration::from_secs(60),
        || replicates_from_the_primary(ns, pod),
    );
}

/// `status` says `pod` replicates from the primary of record.
fn replicates_from_the_primary(ns: &Namespace, pod: &str) -> bool {
    let status = ns.status_json("ha");
    let primary = status["primary"].clone();
    status["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == pod && m["replicating"] == true && m["source"] == primary)
}

/// A ResourceQuota of zero pods in the test's namespace while it lives: no pod can be created
/// there (those running stay); removed when dropped.
struct NoNewPods<'a>(&'a Namespace);

/// A server-side dry run of creating a pod in `ns`: what admission (the quota) says now.
fn try_a_pod(ns: &Namespace) -> Run {
    ns.kubectl(&[
        "run",
        "quota-probe",
        "--image=none",
        "--restart=Never",
        "--dry-run=server",
    ])
}

impl<'a> NoNewPods<'a> {
    fn in_namespace(ns: &'a Namespace) -> Self {
        let quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: no-new-pods}\nspec: {hard: {pods: \"0\"}}\n";
        run(
            "kubectl",
            &["-n", &ns.name, "apply", "-f", "-"],
            Some(quota),
        )
        .ok();
        let guard = NoNewPods(ns);
        eventually("the quota refuses pods", Duration::from_secs(60), || {
            let probe = try_a_pod(ns);
            probe.code != 0 && probe.stderr.contains("quota")
        });
        guard
    }
}

impl Drop for NoNewPods<'_> {
    fn drop(&mut self) {
        let ns = self.0;
        ns.kubectl(&["delete", "resourcequota", "no-new-pods", "--wait"]);
        if std::thread::panicking() {
            return;
        }
        eventually("pods can be created again", Duration::from_secs(60), || {
            try_a_pod(ns).code == 0
        });
        // The StatefulSet controller, refused until now, retries after a growing back-off; an
        // update of its pods makes it look again at once.
        let stamp = format!(
            "mysqlha.test/quota-lifted={}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        ns.kubectl(&["annotate", "pods", "--all", "--overwrite", &stamp]);
    }
}

/// Two faults failed over (a cut-off primary, a deleted and killed one), then a planned move
/// (the primary's pod deleted with its grace period) switched over, not failed over.
fn the_agent_fails_over_a_cut_off_primary_and_a_deleted_one(engine: Engine) {
    let ns = Namespace::with_engine("e2e-agent-faults", engine);
    // A short cooldown: both faults below are failed over; members that cannot serve by
    // themselves are rebuilt by the agent.
    cluster_with_agent(&ns, false, &["--cooldown", "1s", "--auto-rebuild"]);

    // A replica whose replication stops on an error (a row written on it, then by the
    // primary): the agent re-clones it.
    ns.admin_sql(
        "ha-2",
        &engine.errant_write("INSERT INTO app.w VALUES (1000000)"),
    )
    .ok();
    ns.sql("ha", "ha-0", "INSERT INTO app.w VALUES (1000000)")
        .ok();
    comes_back(&ns, "ha-2", 0);
    let rebuilt = event_notes(&ns, "AutoRebuild");
    assert!(
        rebuilt.len() == 1 && rebuilt[0].starts_with("ha-2 stopped replicating"),
        "{rebuilt:?}"
    );

    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_fault();

    // The primary's pod network cut: nobody reaches it, it reaches nobody.
    let netns = netns_of(&ns, "ha-0");
    drop_traffic(&netns, "-I").ok();
    let second = wait_for_a_new_primary(&ns, "ha", "ha-0", Duration::from_secs(90));
    at_most_one_writable(&ns);
    writer.wait_for_acknowledgements("writes go to the new primary", Duration::from_secs(30));
    // The failover restarts the old primary's pod (a new network namespace): nothing left to
    // heal then.
    drop_traffic(&netns, "-D");
    comes_back(&ns, "ha-0", 1);
    at_most_one_writable(&ns);

    // The new primary's server killed and its pod deleted at once, kept from coming back (a
    // quota of no pods in the namespace refuses the StatefulSet's new pod): the agent must fail
    // over. (A pod its StatefulSet makes again within the grace is a restart in place, no
    // failover: tests/bench/autofailover counts those.) Writes resume, nothing acknowledged is
    // lost, and at most one member is writable; the pod, let back, rejoins.
    let before = brought_back(&ns);
    let no_new_pods = NoNewPods::in_namespace(&ns);
    signal_primary(&ns, &second, "-KILL");
    ns.kubectl(&[
        "delete",
        "pod",
        &second,
        "--grace-period=0",
        "--force",
        "--wait=false",
    ]);
    let last = wait_for_a_new_primary(&ns, "ha", &second, Duration::from_secs(90));
    drop(no_new_pods);
    writer.wait_for_acknowledgements("writes are acknowledged again", Duration::from_secs(60));
    at_most_one_writable(&ns);
    comes_back(&ns, &second, before);

    // A planned move: the primary's pod deleted the everyday way (its grace period kept). Its
    // preStop hook keeps the server up while the agent switches over: no failover; the pod
    // made anew starts as a replica of the new primary.
    ns.kubectl(&["delete", "pod", &last, "--wait=false"]);
    let moved = wait_for_a_new_primary(&ns, "ha", &last, Duration::from_secs(60));
    at_most_one_writable(&ns);
    // Said once the old primary replicates from the new one, a moment after the record moved.
    eventually(
        "the agent says how it moved",
        Duration::from_secs(30),
        || !event_notes(&ns, "PrimaryLeaving").is_empty(),
    );
    let leaving = event_notes(&ns, "PrimaryLeaving");
    assert!(
        leaving.len() == 1
            && leaving[0].starts_with(&format!(
                "primary {last}'s pod is being deleted: switched over to {moved}"
            )),
        "{leaving:?}"
    );
    writer.wait_for_acknowledgements("writes go to the new primary", Duration::from_secs(30));
    eventually(
        &format!("{last} replicates from {moved}"),
        Duration::from_secs(180),
        || replicates_from_the_primary(&ns, &last),
    );
    let acked = writer.stop();
    at_most_one_writable(&ns);
    assert_eq!(primary(&ns), moved);
    assert_no_acknowledged_write_lost(&ns, "ha", &moved, "app.w", &acked);
    assert_eq!(
        events(&ns, "AutomaticFailover"),
        2,
        "the pod deletion was no failover"
    );
}

/// Two faults seconds apart: the primary frozen (failed over; the failover restarts its pod),
/// and the member promoted in its place cut off at once, while the old primary's new pod is
/// still coming back. That pod answers but does not replicate yet (out of service until it
/// rejoins, which needs the cut-off primary): it holds nothing the last replica lacks, so it
/// must not hold up the second failover (it did, for 225 s, in a benchmark round: the agent took
/// it for a replica that cannot be reached). No writer during the first fault, so the old
/// primary holds no unacknowledged tail (that would rightly refuse the second failover).
/// MariaDB only: engine-neutral, but the suite may add no cluster (45-minute budget); the
/// agent's MySQL failovers are in the two tests above.
#[test]
fn a_primary_cut_off_right_after_a_failover_is_failed_over_again() {
    let ns = Namespace::new("e2e-agent-twice");
    cluster_with_agent(&ns, false, &["--cooldown", "1s"]);
    freeze_and_wait_for_a_new_primary(&ns, "ha-0");
    let second = primary(&ns);
    let netns = netns_of(&ns, &second);
    drop_traffic(&netns, "-I").ok();
    let third = wait_for_a_new_primary(&ns, "ha", &second, Duration::from_secs(90));
    drop_traffic(&netns, "-D");
    assert_ne!(third, "ha-0", "the member out of service was promoted");
    at_most_one_writable(&ns);
    let writer = Writer::start(&ns, "ha", "app.w");
    writer.mark_no_fault();
    writer.wait_for_acknowledgements("writes go to the third primary", Duration::from_secs(60));
    let acked = writer.stop();
    at_most_one_writable(&ns);
    assert_no_acknowledged_write_lost(&ns, "ha", &third, "app.w", &acked);
    assert_eq!(events(&ns, "AutomaticFailover"), 2);
}

/// The bed serves the prometheus-operator's PodMonitor CRD (no operator runs): create made
/// PodMonitor ha-agent, accepted by the CRD's schema, selecting exactly the agent's two pods by a
/// port they have.
fn the_pod_monitor_selects_the_agents_metrics_port(ns: &Namespace) {
    let monitor = ns
        .kubectl(&["get", "podmonitor", "ha-agent", "-o", "json"])
        .ok()
        .stdout;
    let monitor: serde_json::Value = serde_json::from_str(&monitor).unwrap();
    let labels: Vec<String> = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("a label selector")
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect();
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["interval"], "5s", "{monitor}");
    let pods = ns
        .kubectl(&["get", "pods", "-l", &labels.join(","), "-o", "json"])
        .ok()
        .stdout;
    let pods: serde_json::Value = serde_json::from_str(&pods).unwrap();
    let pods = pods["items"].as_array().unwrap();
    assert_eq!(
        pods.len(),
        2,
        "the agent's two pods, nothing else: {labels:?}"
    );
    for pod in pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("ha-agent-"), "{name}");
        let ports = &pod["spec"]["containers"][0]["ports"];
        assert!(
            ports
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == endpoint["port"] && p["containerPort"] == 9560),
            "{name} has no port {}: {ports}",
            endpoint["port"]
        );
    }
}

/// `cluster`'s series selector in Prometheus.
fn selector(ns: &Namespace) -> String {
    format!("namespace=\"{}\",cluster=\"ha\"", ns.name)
}

/// Prometheus holds a series of every metric docs/metrics.md lists (after a false alarm and a
/// failover, all but the archive's, which need backups), from the leader.
fn every_documented_metric_is_scraped(ns: &Namespace) {
    let sel = selector(ns);
    let documented = prometheus::documented_metrics();
    assert!(documented.len() >= 30, "{documented:?}");
    for (name, needs_backups) in documented {
        if needs_backups {
            continue;
        }
        prometheus::wait_for_series(
            &format!("a series of {name}"),
            &format!("{name}{{{sel}}}"),
            Duration::from_secs(30),
        );
    }
}

/// With a replica's applying thread stopped, status and the metrics say the same: the verdict,
/// each member's readiness, threads and errant transactions.
fn metrics_agree_with_status_on_a_degraded_cluster(ns: &Namespace) {
    let sel = selector(ns);
    let status = ns.status_json("ha");
    let replica = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "replica" && m["sql_thread"] == "Yes")
        .and_then(|m| m["name"].as_str())
        .expect("a replica that applies")
        .to_string();
    let (stop, start) = match ns.engine {
        Engine::Mariadb => ("STOP SLAVE SQL_THREAD", "START SLAVE SQL_THREAD"),
        Engine::Mysql => ("STOP REPLICA SQL_THREAD", "START REPLICA SQL_THREAD"),
    };
    ns.admin_sql(&replica, stop).ok();
    let value = |expr: String| prometheus::query(&expr).first().map(|s| s.value);
    let flag = |b: bool| Some(if b { 1.0 } else { 0.0 });
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let agree = || {
        let status = ns.status_json("ha");
        let verdict = status["verdict"].as_str().unwrap_or_default().to_string();
        let mut differences = vec![];
        if verdict != "degraded" {
            differences.push(format!("status says {verdict}"));
        }
        if value(format!(
            "mysqlha_cluster_verdict{{{sel},verdict=\"{verdict}\"}}"
        )) != Some(1.0)
        {
            differences.push(format!("the metrics do not say {verdict}"));
        }
        for m in status["members"].as_array().unwrap() {
            let name = m["name"].as_str().unwrap();
            let member = format!("{sel},member=\"{name}\"");
            let checks = [
                ("mysqlha_member_ready", flag(m["ready"] == true)),
                (
                    "mysqlha_member_errant_gtid_sets",
                    Some(m["errant"].as_array().map_or(0, Vec::len) as f64),
                ),
                (
                    "mysqlha_member_sql_thread_running",
                    m["sql_thread"].as_str().and_then(|t| flag(t == "Yes")),
                ),
                (
                    "mysqlha_member_io_thread_connected",
                    m["io_thread"].as_str().and_then(|t| flag(t == "Yes")),
                ),
            ];
            for (metric, want) in checks {
                let got = value(format!("{metric}{{{member}}}"));
                if got != want {
                    differences.push(format!(
                        "{metric} of {name}: status {want:?}, metrics {got:?}"
                    ));
                }
            }
        }
        differences.join("; ")
    };
    while Instant::now() < deadline {
        last = agree();
        if last.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        last.is_empty(),
        "status and the metrics still differ after 60 s: {last}"
    );
    ns.admin_sql(&replica, start).ok();
}
