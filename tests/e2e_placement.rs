//! Issue 11 (the plugin's part that a one-node test bed can show): members ask to be spread
//! over nodes, and a PodDisruptionBudget lets a drain take one member at a time. Placement is
//! the same for both engines (it lives in the StatefulSet and the budget, not in the server),
//! so this runs once, on MariaDB.
mod common;
use common::*;
use std::time::Duration;

/// Asks the API server to evict `pod` (what `kubectl drain` does for each pod).
fn evict(ns: &Namespace, pod: &str) -> Run {
    let eviction = format!(
        r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}","namespace":"{}"}}}}"#,
        ns.name
    );
    let path = std::env::temp_dir().join(format!("eviction-{}-{pod}.json", ns.name));
    std::fs::write(&path, eviction).unwrap();
    let url = format!("/api/v1/namespaces/{}/pods/{pod}/eviction", ns.name);
    let out = kubectl(&["create", "--raw", &url, "-f", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(path);
    out
}

#[test]
fn members_spread_over_nodes_and_a_drain_takes_one_at_a_time() {
    let ns = Namespace::new("e2e-place");
    create_cluster(&ns, "pl", 3);
    let anti = ns
        .kubectl(&[
            "get",
            "pod",
            "pl-0",
            "-o",
            "jsonpath={.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey}",
        ])
        .ok();
    assert_eq!(anti.stdout, "kubernetes.io/hostname");
    let budget = ns
        .kubectl(&[
            "get",
            "poddisruptionbudget",
            "pl",
            "-o",
            "jsonpath={.spec.maxUnavailable}/{.status.disruptionsAllowed}",
        ])
        .ok();
    assert_eq!(budget.stdout, "1/1", "one member may be evicted");

    // A replica goes; while it is away, no other member may be evicted.
    evict(&ns, "pl-1").ok();
    let refused = evict(&ns, "pl-0");
    assert_ne!(refused.code, 0, "a second eviction was allowed");
    assert!(
        refused.stderr.contains("disruption budget") || refused.stderr.contains("429"),
        "{}",
        refused.stderr
    );
    let ready = |pod: &str| {
        ns.kubectl(&[
            "get",
            "pod",
            pod,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .stdout
            == "True"
    };
    assert!(ready("pl-0"), "the primary stayed");
    eventually(
        "the evicted replica is back and serving",
        Duration::from_secs(180),
        || ready("pl-1"),
    );
    eventually(
        "the budget allows one eviction again",
        Duration::from_secs(60),
        || {
            ns.kubectl(&[
                "get",
                "poddisruptionbudget",
                "pl",
                "-o",
                "jsonpath={.status.disruptionsAllowed}",
            ])
            .stdout
                == "1"
        },
    );
    let status = ns.status_json("pl");
    assert_eq!(status["verdict"], "healthy", "{status}");
    ns.plugin(&["delete", "pl", "--yes"]).ok();
    let left = ns
        .kubectl(&["get", "poddisruptionbudget", "-o", "name"])
        .ok();
    assert_eq!(left.stdout.trim(), "", "the budget goes with the cluster");
}
