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

/// One survey exec; past it the survey is run once more from another member (the first one's
/// node may be gone: an exec to it waits for ever), then every member not answered is asked by
/// its own exec.
const SURVEY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many members the survey is tried from.
const SURVEYORS: usize = 2;

/// One member's answer: its state and the result sets of the extra statements.
pub type Observed = Result<(ServerState, Vec<Vec<Row>>)>;

/// What the survey learned of one member.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Its result sets.
    Sets(Vec<Vec<Row>>),
    /// Its server did not greet within the connect timeout (frozen, or its address gone): the
    /// client's error. Asked again by its own exec it would only keep `status` waiting.
    Silent(String),
    /// Another failure (a refused login, a server listening only on its socket…): asked again
    /// by its own exec.
    Failed,
}

/// The client's error says the server never greeted it in time: a connection whose handshake
/// never came (2013), or a connect that timed out (2003 with errno 110). A refused port
/// (2003, errno 111) is a server not listening on TCP, which its own socket may still answer.
fn silent(error: &str) -> bool {
    error.contains("ERROR 2013") || (error.contains("ERROR 2003") && error.contains("(110)"))
}

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
                Some(Answer::Sets(sets)) => match state_and_extras(cluster.engine, &m.name, sets) {
                    Ok(observed) => Some(Ok(observed)),
                    Err(_) => Some(observe_with(cluster.server(&m.name), extra).await),
                },
                Some(Answer::Silent(error)) => Some(Err(anyhow::anyhow!(
                    "does not answer within {SURVEY_CONNECT_TIMEOUT}s ({error})"
                ))),
                Some(Answer::Failed) | None => {
                    Some(observe_with(cluster.server(&m.name), extra).await)
                }
            }
        }
    }));
    one_by_one.await
}

/// The answers of the running members that could be asked from inside one of them (None for
/// a member not running or without an address).
async fn survey(
    cluster: &Cluster,
    running: &[bool],
    extra: &[&str],
) -> Result<Vec<Option<Answer>>> {
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
    let vias = surveyors(cluster, running);
    anyhow::ensure!(!vias.is_empty(), "no member to run the survey in");
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
    let mut output = None;
    for via in vias.into_iter().take(SURVEYORS) {
        let exec = crate::k8s::exec::run(cluster.server(via), &command, Some(stdin.as_bytes()));
        if let Ok(Ok(out)) = tokio::time::timeout(SURVEY_TIMEOUT, exec).await {
            output = Some(out);
            break;
        }
    }
    let output = output.context("the survey did not answer")?;
    let mut answers = vec![None; cluster.members.len()];
    for (index, answer) in parse(&output.stdout) {
        if let Some(&member) = asked.get(index) {
            answers[member] = Some(answer);
        }
    }
    Ok(answers)
}

/// The members to run the survey in, in order: the primary of record if its server runs and is
/// ready, then the other ready ones.
fn surveyors<'a>(cluster: &'a Cluster, running: &[bool]) -> Vec<&'a str> {
    let ready = |i: usize| {
        running[i]
            && pod_phase(cluster.members[i].pod.as_ref()) == (PodPhase::Running { ready: true })
    };
    let members = &cluster.members;
    let mut ready: Vec<usize> = (0..members.len()).filter(|&i| ready(i)).collect();
    ready.sort_by_key(|&i| members[i].name != cluster.primary);
    ready
        .into_iter()
        .map(|i| members[i].name.as_str())
        .collect()
}

/// The survey's output: per member asked (by its index in the arguments), its answer.
fn parse(text: &str) -> Vec<(usize, Answer)> {
    let mut answers = Vec::new();
    // The member whose answer is being read, whether its client ended well, its error.
    let mut current: Option<(usize, bool, String)> = None;
    let mut body = String::new();
    let mut finish = |current: Option<(usize, bool, String)>, body: &mut String| {
        if let Some((index, ok, error)) = current {
            let answer = if ok {
                Answer::Sets(sql::split_sets(body))
            } else if silent(&error) {
                Answer::Silent(error)
            } else {
                Answer::Failed
            };
            answers.push((index, answer));
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("mysqlha-survey ") {
            finish(current.take(), &mut body);
            let mut words = header.split(' ');
            let index = words.next().and_then(|w| w.parse().ok());
            let ok = words.next() == Some("0");
            current = index.map(|i| (i, ok, String::new()));
        } else if let Some(error) = line.strip_prefix("mysqlha-survey-error ") {
            if let Some((_, _, e)) = current.as_mut() {
                *e = error.trim().to_string();
            }
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
        assert_eq!(answers.len(), 3, "{answers:?}");
        let sets = |i: usize| match &answers[i].1 {
            Answer::Sets(sets) => sets.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(answers[0].0, 0);
        assert_eq!(sets(0)[0][0]["a"], "1");
        assert_eq!(answers[1], (1, Answer::Failed));
        assert_eq!(answers[2].0, 2);
        assert_eq!(sets(2).len(), 2);
        assert_eq!(sets(2)[0][0]["b"], "2");
        assert!(sets(2)[1].is_empty());
    }

    /// A server that never greets is not asked again (status would wait on it); one that
    /// refused the login, or listens only on its socket, is.
    #[test]
    fn only_a_server_that_never_greeted_counts_as_silent() {
        let frozen = "ERROR 2013 (HY000): Lost connection to server at 'handshake: reading initial communication packet', system error: 110";
        let gone = "ERROR 2003 (HY000): Can't connect to server on '10.244.1.5' (110)";
        let refused = "ERROR 2003 (HY000): Can't connect to server on '10.244.1.5' (111)";
        let denied = "ERROR 1045 (28000): Access denied for user 'root'@'10.244.1.6'";
        for (error, is_silent) in [
            (frozen, true),
            (gone, true),
            (refused, false),
            (denied, false),
            ("", false),
        ] {
            assert_eq!(silent(error), is_silent, "{error}");
            let text = format!("mysqlha-survey 0 1\nmysqlha-survey-error {error}\n");
            let expected = if is_silent {
                Answer::Silent(error.to_string())
            } else {
                Answer::Failed
            };
            assert_eq!(parse(&text), [(0, expected)], "{error}");
        }
    }
}
