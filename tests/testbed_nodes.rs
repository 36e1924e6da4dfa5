//! Smoke tests of the test bed's worker nodes (issue 11): pods on every node reach each other
//! by name and through Services, a volume stays on its node, and each fault command of
//! `tests/testbed/node` does what it says. They need the multi-node bed
//! (`eval "$(tests/testbed/up)"`, MYSQLHA_NODES ≥ 2, default 3) and fail without it.
mod common;
use common::*;
use std::time::Duration;

/// The worker nodes, by name; at least two, else this is the single-node bed.
fn nodes() -> Vec<String> {
    require_testbed();
    let nodes: Vec<String> = kubectl(&["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"])
        .ok()
        .stdout
        .split_whitespace()
        .map(String::from)
        .filter(|n| n.starts_with("mysqlha-node-"))
        .collect();
    assert!(
        nodes.len() >= 2,
        "these tests need worker nodes (MYSQLHA_NODES ≥ 2); the test bed has {nodes:?}"
    );
    nodes
}

fn node(args: &[&str]) -> String {
    testbed_node(args)
}

/// A pod pinned to `on` that answers its own name on TCP port 7000, labelled app=mesh, with
/// the DNS name NAME.mesh.
fn answering_pod(ns: &Namespace, name: &str, on: &str) {
    let image = Engine::Mariadb.image();
    let server = r#"use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 7000, Listen => 16, ReuseAddr => 1) or die $!; $| = 1; while (my $c = $s->accept) { print $c "$ENV{HOSTNAME}\n"; close $c }"#;
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "mesh"}},
        "spec": {
            "nodeName": on, "hostname": name, "subdomain": "mesh",
            "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                            "command": ["perl", "-e", server]}]
        }
    });
    let out = run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(&pod.to_string()),
    );
    out.ok();
}

fn mesh_services(ns: &Namespace) {
    let services = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mesh"},
       "spec": {"clusterIP": "None", "selector": {"app": "mesh"}, "ports": [{"port": 7000}]}},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mesh-any"},
       "spec": {"selector": {"app": "mesh"}, "ports": [{"port": 7000}]}}]}"#;
    run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(services),
    )
    .ok();
}

/// What `from` reads from HOST:7000 within `seconds`, or the error.
fn ask(ns: &Namespace, from: &str, host: &str, seconds: u32) -> Result<String, String> {
    let client = format!(
        r#"use IO::Socket::INET; my $c = IO::Socket::INET->new(PeerAddr => "{host}:7000", Timeout => {seconds}) or die "connect: $!\n"; my $l = <$c>; print $l"#
    );
    let out = run(
        "timeout",
        &[
            "20",
            "kubectl",
            "-n",
            &ns.name,
            "exec",
            from,
            "--",
            "timeout",
            &(seconds + 2).to_string(),
            "perl",
            "-e",
            &client,
        ],
        None,
    );
    if out.code == 0 {
        Ok(out.stdout.trim().to_string())
    } else {
        Err(format!("{}{}", out.stderr, out.stdout))
    }
}

fn wait_ready(ns: &Namespace, pod: &str) {
    ns.kubectl(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{pod}"),
        "--timeout=180s",
    ])
    .ok();
}

#[test]
fn pods_on_every_node_reach_each_other_by_name_and_through_services() {
    let _one_at_a_time = one_node_test_at_a_time();
    let nodes = nodes();
    let ns = Namespace::new("mesh");
    mesh_services(&ns);
    let pods: Vec<String> = (0..nodes.len()).map(|i| format!("p{i}")).collect();
    for (pod, on) in pods.iter().zip(&nodes) {
        answering_pod(&ns, pod, on);
    }
    for pod in &pods {
        wait_ready(&ns, pod);
    }
    for (pod, on) in pods.iter().zip(&nodes) {
        let actual = ns
            .kubectl(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
            .ok()
            .stdout;
        assert_eq!(&actual, on);
    }
    for from in &pods {
        for to in &pods {
            let host = format!("{to}.mesh.{}.svc.cluster.local", ns.name);
            eventually(
                &format!("{from} reaches {host}"),
                Duration::from_secs(30),
                || ask(&ns, from, &host, 3).as_deref() == Ok(to.as_str()),
            );
        }
        let any = ask(&ns, from, "mesh-any", 3).unwrap_or_else(|e| panic!("{from}: {e}"));
        assert!(pods.contains(&any), "the Service answered {any}");
    }
}

#[test]
fn a_volume_stays_on_its_node_and_waits_for_it() {
    let _one_at_a_time = one_node_test_at_a_time();
    let workers = nodes();
    let ns = Namespace::new("local");
    let claim = r#"{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"},
      "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}"#;
    run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(claim),
    )
    .ok();
    let pod = |name: &str| {
        let image = Engine::Mariadb.image();
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": workers}]}]}}},
                "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", "test -e /d/marker || echo first > /d/marker; exec sleep infinity"],
                                "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "d"}}]
            }
        })
        .to_string()
    };
    run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(&pod("a")),
    )
    .ok();
    wait_ready(&ns, "a");
    let node_of = |p: &str| {
        ns.kubectl(&["get", "pod", p, "-o", "jsonpath={.spec.nodeName}"])
            .ok()
            .stdout
    };
    let home = node_of("a");
    let pv = ns
        .kubectl(&["get", "pvc", "d", "-o", "jsonpath={.spec.volumeName}"])
        .ok()
        .stdout;
    let affinity = kubectl(&[
        "get",
        "pv",
        &pv,
        "-o",
        "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}|{.spec.local.path}",
    ])
    .ok()
    .stdout;
    let (bound_to, path) = affinity.split_once('|').unwrap();
    assert_eq!(
        bound_to, home,
        "the volume is tied to the node of its first pod"
    );
    assert!(
        path.contains(&format!("/nodes/{home}/")),
        "the data lives on {home}: {path}"
    );
    assert!(std::path::Path::new(path).join("marker").exists());

    // The node is lost: a new pod for the same claim cannot start anywhere else.
    node(&[&home, "poweroff"]);
    ns.kubectl(&["delete", "pod", "a", "--grace-period=0", "--force"]);
    run(
        "kubectl",
        &["-n", &ns.name, "apply", "-f", "-"],
        Some(&pod("b")),
    )
    .ok();
    std::thread::sleep(Duration::from_secs(8));
    let phase = ns
        .kubectl(&[
            "get",
            "pod",
            "b",
            "-o",
            "jsonpath={.status.phase}/{.spec.nodeName}",
        ])
        .ok()
        .stdout;
    let started = node(&[&home, "start"]);
    assert!(
        phase == "Pending/" || phase == format!("Pending/{home}"),
        "a pod whose volume is on a lost node started elsewhere: {phase} ({started})"
    );
    wait_ready(&ns, "b");
    assert_eq!(node_of("b"), home);
    let marker = ns
        .kubectl(&["exec", "b", "--", "cat", "/d/marker"])
        .ok()
        .stdout;
    assert_eq!(marker.trim(), "first", "the data came back with its node");
}

#[test]
fn each_fault_command_does_what_it_says() {
    let _one_at_a_time = one_node_test_at_a_time();
    let nodes = nodes();
    let ns = Namespace::new("fault");
    mesh_services(&ns);
    let (victim, other) = (nodes[nodes.len() - 1].clone(), nodes[0].clone());
    answering_pod(&ns, "v", &victim);
    answering_pod(&ns, "o", &other);
    wait_ready(&ns, "v");
    wait_ready(&ns, "o");
    let v_ip = ns
        .kubectl(&["get", "pod", "v", "-o", "jsonpath={.status.podIP}"])
        .ok()
        .stdout;
    let o_ip = ns
        .kubectl(&["get", "pod", "o", "-o", "jsonpath={.status.podIP}"])
        .ok()
        .stdout;
    assert_eq!(ask(&ns, "o", &v_ip, 3).as_deref(), Ok("v"));

    // Partition: traffic dropped both ways; the node goes NotReady; heal restores it all.
    node(&[&victim, "partition"]);
    assert!(node(&["list"]).contains("partitioned"));
    let cut = ask(&ns, "o", &v_ip, 3);
    assert!(cut.is_err(), "a partitioned node's pod answered: {cut:?}");
    let back = run(
        "nsenter",
        &[
            &format!(
                "--net=/run/netns/mysqlha-n{}",
                victim.trim_start_matches("mysqlha-node-")
            ),
            "timeout",
            "4",
            "perl",
            "-MIO::Socket::INET",
            "-e",
            &format!("IO::Socket::INET->new(PeerAddr => '{o_ip}:7000', Timeout => 3) or exit 1"),
        ],
        None,
    );
    assert_ne!(
        back.code, 0,
        "the partitioned node reached a pod on {other}"
    );
    eventually(
        &format!("{victim} NotReady"),
        Duration::from_secs(90),
        || !node_ready(&victim),
    );
    node(&[&victim, "heal"]);
    eventually(
        &format!("{victim} Ready again"),
        Duration::from_secs(60),
        || node_ready(&victim),
    );
    assert_eq!(ask(&ns, "o", &v_ip, 3).as_deref(), Ok("v"));

    // Freeze: every process of the node paused (an exec into its pod hangs); thaw resumes.
    node(&[&victim, "freeze"]);
    let frozen = run(
        "timeout",
        &["8", "kubectl", "-n", &ns.name, "exec", "v", "--", "true"],
        None,
    );
    assert_ne!(frozen.code, 0, "an exec into a frozen node's pod ran");
    assert!(ask(&ns, "o", &v_ip, 3).is_err(), "a frozen pod answered");
    node(&[&victim, "thaw"]);
    assert_eq!(ask(&ns, "o", &v_ip, 5).as_deref(), Ok("v"));

    // Power loss: everything on the node stops at once; start brings it and its pods back.
    let restarts = || {
        ns.kubectl(&[
            "get",
            "pod",
            "v",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ])
        .ok()
        .stdout
    };
    let before = restarts();
    node(&[&victim, "poweroff"]);
    assert!(node(&["list"]).contains("off"));
    assert!(
        ask(&ns, "o", &v_ip, 3).is_err(),
        "a powered-off pod answered"
    );
    eventually(
        &format!("{victim} NotReady after power loss"),
        Duration::from_secs(90),
        || !node_ready(&victim),
    );
    node(&[&victim, "start"]);
    eventually(
        &format!("{victim} Ready after power on"),
        Duration::from_secs(90),
        || node_ready(&victim),
    );
    eventually("the pod restarted", Duration::from_secs(120), || {
        restarts() != before
    });
    wait_ready(&ns, "v");
    let v_ip = ns
        .kubectl(&["get", "pod", "v", "-o", "jsonpath={.status.podIP}"])
        .ok()
        .stdout;
    eventually("the pod answers again", Duration::from_secs(30), || {
        ask(&ns, "o", &v_ip, 3).as_deref() == Ok("v")
    });
    let _ = o_ip;
}

/// `tests/testbed/node object-store stop|start|freeze|thaw`: a stopped store refuses, a started
/// one serves the same objects; a frozen one does not answer, a thawed one does. Here, in the
/// group that runs alone, because the backup tests use the store.
#[test]
fn the_object_store_fault_commands_do_what_they_say() {
    let key = format!("faults/{}/object", std::process::id());
    let body = format!("fault test {}", std::process::id());
    s3_curl(&["-X", "PUT", "--data-binary", &body], &key).unwrap();
    node(&["object-store", "stop"]);
    let refused = s3_curl(&[], &key).unwrap_err();
    assert!(
        refused.contains("Failed to connect") || refused.contains("Connection refused"),
        "{refused}"
    );
    node(&["object-store", "start"]);
    assert_eq!(s3_curl(&[], &key).unwrap(), body.as_bytes());
    node(&["object-store", "freeze"]);
    let hung = s3_curl(&["--max-time", "3"], &key).unwrap_err();
    node(&["object-store", "thaw"]);
    assert!(
        hung.contains("timed out") || hung.contains("Timeout"),
        "{hung}"
    );
    assert_eq!(s3_curl(&[], &key).unwrap(), body.as_bytes());
    s3_curl(&["-X", "DELETE"], &key).unwrap();
}
