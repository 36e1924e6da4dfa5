//! Issue 14, history: every command that changes a cluster records Kubernetes Events on the
//! cluster's ConfigMap (started, the steps, done or failed with the reason), and `status` shows
//! the last ones. One cluster per engine serves every command in turn, delete last.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(every_changing_command_leaves_its_history_in_events,);

type Event = PluginEvent;

/// The plugin's events on cluster `cluster`, oldest first.
fn history(ns: &Namespace, cluster: &str) -> Vec<Event> {
    plugin_events(ns, cluster)
}

/// Runs the plugin and returns how it ended with the events it recorded.
fn recorded(ns: &Namespace, args: &[&str]) -> (Run, Vec<Event>) {
    let before = history(ns, "ev").len();
    let out = ns.plugin(args);
    assert!(
        !out.stderr.contains("cannot record"),
        "recording failed: {}",
        out.stderr
    );
    let events = history(ns, "ev")[before..].to_vec();
    (out, events)
}

/// The events start with `started`, end with `done`, and hold `steps` in this order between.
fn assert_story(events: &[Event], started: &str, steps: &[&str], done: &str) {
    let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons.first(), Some(&started), "{events:#?}");
    assert_eq!(reasons.last(), Some(&done), "{events:#?}");
    let mut rest = reasons[1..reasons.len() - 1].iter();
    for step in steps {
        assert!(
            rest.any(|r| r == step),
            "step {step} missing or out of order in {reasons:?}"
        );
    }
}

fn event<'a>(events: &'a [Event], reason: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.reason == reason)
        .unwrap_or_else(|| panic!("no {reason} in {events:#?}"))
}

fn every_changing_command_leaves_its_history_in_events(engine: Engine) {
    let ns = Namespace::with_engine("e2e-events", engine);
    let (out, events) = recorded(
        &ns,
        &[
            "create",
            "ev",
            "--replicas",
            "3",
            "--storage",
            "4Gi",
            "--engine",
            engine.name(),
            "--image",
            &engine.image(),
            // The agent's own events would interleave with the commands' stories.
            "--no-agent",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "CreateStarted",
        &["ObjectsCreated", "PrimaryReady", "MemberJoined"],
        "CreateDone",
    );
    // The first events, made before the ConfigMap existed, regard it too (by uid: describe).
    let described = ns.kubectl(&["describe", "configmap", "ev"]).ok().stdout;
    assert!(described.contains("CreateStarted"), "{described}");

    let (out, events) = recorded(&ns, &["switchover", "ev", "--to", "ev-1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "SwitchoverStarted",
        &["CandidateChosen", "Fenced", "Promoted", "ReplicasRepointed"],
        "SwitchoverDone",
    );
    let fenced = event(&events, "Fenced");
    assert!(
        fenced.message.contains("ev-0") && fenced.message.contains("GTID"),
        "{fenced:?}"
    );
    assert_eq!(fenced.related, "ev-0");
    assert_eq!(event(&events, "Promoted").related, "ev-1");
    assert!(events
        .iter()
        .all(|e| e.kind == "Normal" || e.reason.ends_with("Failed")));

    // Refusals are history too: failed, with the reason.
    let (out, events) = recorded(&ns, &["switchover", "ev", "--to", "ev-9"]);
    assert_eq!(out.code, 1);
    let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["SwitchoverStarted", "SwitchoverFailed"]);
    assert_eq!(events[1].kind, "Warning");
    assert!(
        events[1].message.contains("ev-9 is not a member"),
        "{:?}",
        events[1]
    );
    let (out, events) = recorded(&ns, &["failover", "ev", "--yes"]);
    assert_eq!(out.code, 1);
    let failed = event(&events, "FailoverFailed");
    assert_eq!(failed.kind, "Warning");
    assert!(
        failed.message.contains("is healthy and takes writes"),
        "{failed:?}"
    );

    signal_primary(&ns, "ev-1", "-STOP");
    let (out, events) = recorded(&ns, &["failover", "ev", "--yes"]);
    signal_primary(&ns, "ev-1", "-CONT");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "FailoverStarted",
        &[
            "CandidateChosen",
            "Fenced",
            "Promoted",
            "ReplicasRepointed",
            "OldPrimaryRestarted",
        ],
        "FailoverDone",
    );
    assert_eq!(event(&events, "Fenced").related, "ev-1");

    eventually(
        "the old primary is back (read-only)",
        Duration::from_secs(120),
        || {
            ns.kubectl(&[
                "get",
                "pod",
                "ev-1",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.running}",
            ])
            .stdout
            .contains("startedAt")
        },
    );
    let (out, events) = recorded(&ns, &["rebuild-replica", "ev", "ev-1", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "RebuildReplicaStarted",
        &["Cloning", "MemberJoined"],
        "RebuildReplicaDone",
    );
    assert_eq!(event(&events, "MemberJoined").related, "ev-1");

    let (out, events) = recorded(&ns, &["scale", "ev", "--replicas", "4"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "ScaleStarted",
        &["StatefulSetScaled", "MemberJoined"],
        "ScaleDone",
    );
    assert_eq!(event(&events, "MemberJoined").related, "ev-3");

    // status: the last five, oldest first, in JSON and in the table; it records nothing.
    let before = history(&ns, "ev").len();
    let status = ns.status_json("ev");
    let last: Vec<&str> = status["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(last.len(), 5, "{last:?}");
    assert_eq!(last.last(), Some(&"ScaleDone"), "{last:?}");
    assert!(status["events"][4]["note"]
        .as_str()
        .unwrap()
        .contains("scale of cluster ev done"));
    let table = ns.plugin(&["status", "ev"]).ok().stdout;
    assert!(
        table.contains("Last events:") && table.contains("ScaleDone"),
        "{table}"
    );
    assert_eq!(history(&ns, "ev").len(), before, "status recorded events");

    // SIGTERM half way: a Warning that says so.
    let before = history(&ns, "ev").len();
    let mut scale = std::process::Command::new(PLUGIN)
        .args(["scale", "ev", "--replicas", "5", "-n", &ns.name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("the scale has started", Duration::from_secs(30), || {
        history(&ns, "ev")[before..]
            .iter()
            .any(|e| e.reason == "StatefulSetScaled")
    });
    run("kill", &["-TERM", &scale.id().to_string()], None).ok();
    assert_eq!(scale.wait().unwrap().code(), Some(130));
    let events = history(&ns, "ev")[before..].to_vec();
    let last = events.last().unwrap();
    assert_eq!(
        (last.reason.as_str(), last.kind.as_str()),
        ("ScaleInterrupted", "Warning"),
        "{events:#?}"
    );
    assert!(last.message.contains("terminated"), "{last:?}");

    // delete: the history outlives the cluster's objects.
    let (out, events) = recorded(&ns, &["delete", "ev", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_story(
        &events,
        "DeleteStarted",
        &["WorkloadsDeleted", "DataDeleted"],
        "DeleteDone",
    );
}
