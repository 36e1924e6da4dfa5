//! Every member's state in one exec: the engine's client, run in one member's server container,
//! asks all members at once over the pod network (as root, the password from the cluster's
//! Secret fed on stdin). On this kind of node a `kubectl exec` costs a runc process each, so
//! nine execs at once cost about nine in a row; one exec with nine clients inside costs one.
//! A member that cannot be asked that way is asked as before, by its own exec.
use crate::cluster::sql::{self, Row};
use crate::cluster::{observe_with, pod_phase, state_and_extras, Cluster, PodPhase, ServerState};
use anyhow::{bail, Context, Result};
use std::time::Duration;

const SCRIPT: &str = include_str!("../manifests/scripts/survey.sh");

/// Seconds a member's server may take to greet the surveying client; a slower one is asked by
/// its own exec (which waits longer).
const SURVEY_CONNECT_TIMEOUT: u32 = 2;

/// The whole survey exec; past it every member is asked by its own exec.
const SURVEY_TIMEOUT: Duration = Duration::from_secs(10);

/// One member's answer: its state and the result sets of the extra statements.
pub type Observed = Result<(ServerState, Vec<Vec<Row>>)>;

/// Observes every member whose server runs (None for the others), its state and `extra`
/// statements, as `cluster::observe_with` would, in as few execs as it can.
pub async fn observe_running(cluster: &Cluster, extra: &[&str]) -> Vec<Option<Observed>> {
    let running: Vec<bool> = cluster
        .members
        .iter()
        .map(|m| matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { .. }))
        .collect();
    let mut surveyed = match survey(cluster, &running, extra).await {
        Ok(answers) => answers,
        Err(_) => vec![None; cluster.members.len()],
    };
    let one_by_one = futures::future::join_all(cluster.members.iter().enumerate().map(|(i, m)| {
        let answer = surveyed[i].take();
        let running = running[i];
        async move {
            if !running {
                return None;
            }
            match answer {
                Some(sets) => match state_and_extras(cluster.engine, &m.name, sets) {
                    Ok(observed) => Some(Ok(observed)),
                    Err(_) => Some(observe_with(cluster.server(&m.name), extra).await),
                },
                None => Some(observe_with(cluster.server(&m.name), extra).await),
            }
        }
    }));
    one_by_one.await
}

/// The answers of the running members that could be asked from inside one of them (None for
/// a member not running, without an address, or whose server did not answer).
async fn survey(
    cluster: &Cluster,
    running: &[bool],
    extra: &[&str],
) -> Result<Vec<Option<Vec<Vec<Row>>>>> {
    let addresses: Vec<Option<String>> = cluster
        .members
        .iter()
        .zip(running)
        .map(|(m, running)| {
            running
                .then(|| m.pod.as_ref()?.status.as_ref()?.pod_ip.clone())
                .flatten()
        })
        .collect();
    let asked: Vec<usize> = (0..addresses.len())
        .filter(|&i| addresses[i].is_some())
        .collect();
    if asked.len() < 2 {
        bail!("fewer than two members to ask at once");
    }
    let via = surveyor(cluster, running).context("no member to run the survey in")?;
    let password = cluster.passwords().await?.root;
    let mut statements = cluster.engine.state_statements().to_vec();
    statements.extend(extra);
    let stdin = format!("{password}\n{}", sql::marked_batch(&statements));
    let port = crate::manifests::MYSQL_PORT.to_string();
    let timeout = SURVEY_CONNECT_TIMEOUT.to_string();
    let mut command = vec![
        "sh",
        "-c",
        SCRIPT,
        "survey",
        cluster.engine.client(),
        port.as_str(),
        timeout.as_str(),
    ];
    command.extend(
        asked
            .iter()
            .map(|&i| addresses[i].as_deref().unwrap_or_default()),
    );
    let output = tokio::time::timeout(
        SURVEY_TIMEOUT,
        crate::k8s::exec::run(cluster.server(via), &command, Some(stdin.as_bytes())),
    )
    .await
    .context("the survey timed out")??;
    let mut answers = vec![None; cluster.members.len()];
    for (index, sets) in parse(&output.stdout) {
        if let Some(&member) = asked.get(index) {
            answers[member] = Some(sets);
        }
    }
    Ok(answers)
}

/// The member to run the survey in: the primary of record if its server runs and is ready,
/// else the first ready one.
fn surveyor<'a>(cluster: &'a Cluster, running: &[bool]) -> Option<&'a str> {
    let ready = |i: usize| {
        running[i]
            && pod_phase(cluster.members[i].pod.as_ref()) == (PodPhase::Running { ready: true })
    };
    let members = &cluster.members;
    (0..members.len())
        .filter(|&i| ready(i))
        .min_by_key(|&i| members[i].name != cluster.primary)
        .map(|i| members[i].name.as_str())
}

/// The survey's output: per member asked (by its index in the arguments), its result sets,
/// only for those whose client ended well.
fn parse(text: &str) -> Vec<(usize, Vec<Vec<Row>>)> {
    let mut answers = Vec::new();
    let mut current: Option<(usize, bool)> = None;
    let mut body = String::new();
    let mut finish = |current: Option<(usize, bool)>, body: &mut String| {
        if let Some((index, true)) = current {
            answers.push((index, sql::split_sets(body)));
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("mysqlha-survey ") {
            finish(current.take(), &mut body);
            let mut words = header.split(' ');
            let index = words.next().and_then(|w| w.parse().ok());
            let ok = words.next() == Some("0");
            current = index.map(|i| (i, ok));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    finish(current, &mut body);
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_split_by_member_and_failures_left_out() {
        let marker = sql::marked_batch(&["x"]);
        assert!(marker.contains("mysqlha_end_of_result_set"));
        let text = "mysqlha-survey 0 0\na\n1\nmysqlha_end_of_result_set\n1\n\
                    mysqlha-survey 1 1\n\
                    mysqlha-survey 2 0\nb\n2\nmysqlha_end_of_result_set\n1\nmysqlha_end_of_result_set\n1\n";
        let answers = parse(text);
        assert_eq!(answers.len(), 2, "{answers:?}");
        assert_eq!(answers[0].0, 0);
        assert_eq!(answers[0].1[0][0]["a"], "1");
        assert_eq!(answers[1].0, 2);
        assert_eq!(answers[1].1.len(), 2);
        assert_eq!(answers[1].1[0][0]["b"], "2");
        assert!(answers[1].1[1].is_empty());
    }
}
