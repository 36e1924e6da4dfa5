//! Issue 30 end to end: a primary always comes back writable. A new primary whose server is
//! killed at any delay after a switchover (before and after the kubelet refreshes the mounted
//! record) restarts writable, without the agent; and the agent makes a primary of record that
//! answers but is read-only (no member writable) writable again after its grace.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(a_primary_comes_back_writable_after_any_move_and_the_agent_sees_to_it,);

/// The members `status` shows writable.
fn writable(ns: &Namespace) -> Vec<String> {
    let status = ns.status_json("mv");
    status["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "running" && m["read_only"] == false)
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

/// Makes `pod`'s server read-only as a fence does (the engine's own statement).
fn fence_by_hand(ns: &Namespace, pod: &str) {
    let statement = match ns.engine {
        Engine::Mariadb => "SET GLOBAL read_only = ON",
        Engine::Mysql => "SET GLOBAL super_read_only = ON",
    };
    ns.admin_sql(pod, statement).ok();
}

fn a_primary_comes_back_writable_after_any_move_and_the_agent_sees_to_it(engine: Engine) {
    let ns = Namespace::with_engine("e2e-writable", engine);
    create_cluster(&ns, "mv", 2);
    ns.sql(
        "mv",
        "mv-0",
        "CREATE DATABASE app; CREATE TABLE app.w (id INT PRIMARY KEY);",
    )
    .ok();
    let writer = Writer::start(&ns, "mv", "app.w");
    writer.mark_fault();

    // Without the agent: the record alone brings every new primary back writable, killed at
    // once after the move (the mounted record still names the old primary) and up to 90 s
    // later (the kubelet has refreshed it meanwhile).
    for delay in [0, 2, 10, 30, 90] {
        let old = recorded_primary(&ns, "mv");
        let target = if old == "mv-0" { "mv-1" } else { "mv-0" };
        ns.kubectl(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{target}"),
            "--timeout=120s",
        ])
        .ok();
        ns.plugin(&["switchover", "mv", "--to", target]).ok();
        std::thread::sleep(Duration::from_secs(delay));
        let restarts = server_restarts(&ns, target);
        signal_primary(&ns, target, "-KILL");
        eventually(
            &format!("{target}'s server restarts ({delay}s after the move)"),
            Duration::from_secs(120),
            || server_restarts(&ns, target) > restarts,
        );
        writer.wait_for_acknowledgements(
            &format!("writes acknowledged by {target}, killed {delay}s after it was promoted"),
            Duration::from_secs(90),
        );
        assert_eq!(recorded_primary(&ns, "mv"), target);
        assert_eq!(writable(&ns), [target], "killed {delay}s after the move");
    }

    // With the agent: a primary of record made read-only by hand (no member writable) is
    // writable again after the grace, by the agent, with an Event saying so.
    let image = agent_image();
    ns.plugin(&[
        "agent",
        "enable",
        "mv",
        "--agent-image",
        &image,
        "--grace",
        "5s",
    ])
    .ok();
    eventually("an agent pod leads", Duration::from_secs(120), || {
        !event_messages(&ns, "mv", "AgentLeader").is_empty()
    });
    let primary = recorded_primary(&ns, "mv");
    fence_by_hand(&ns, &primary);
    eventually(
        "the agent makes the read-only primary writable",
        Duration::from_secs(90),
        || !event_messages(&ns, "mv", "PrimaryMadeWritable").is_empty(),
    );
    let said = event_messages(&ns, "mv", "PrimaryMadeWritable");
    assert!(
        said[0].contains(&format!("primary {primary} answered but was read-only")),
        "{said:?}"
    );
    writer.wait_for_acknowledgements(
        "writes acknowledged once the agent made the primary writable",
        Duration::from_secs(60),
    );
    assert_eq!(recorded_primary(&ns, "mv"), primary);
    assert_eq!(writable(&ns), [primary.as_str()]);
    assert!(event_messages(&ns, "mv", "AutomaticFailover").is_empty());

    let acked = writer.stop();
    assert_no_acknowledged_write_lost(&ns, "mv", &recorded_primary(&ns, "mv"), "app.w", &acked);
}
