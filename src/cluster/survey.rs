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

/// One survey exec; past it (from both members asked, see HEDGE_AFTER) every member is asked
/// by its own exec.
const SURVEY_TIMEOUT: Duration = Duration::from_secs(5);

/// When the first member asked to run the survey has not answered by then, a second one is
/// asked too, and the first answer counts: a healthy survey takes well under a second, and one
/// sent into a pod whose node is gone never ends.
const HEDGE_AFTER: Duration = Duration::from_millis(1000);

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
/// never came (2013), or a connect that timed out (2002 or 2003 with errno 110 or 115, as
/// clients word it). Not a refused port (errno 111: a server not listening on TCP, which its
/// own socket may still answer), nor an unreachable network (101, 113: more likely the
/// surveyor's own).
fn silent(error: &str) -> bool {
    let connect = error.contains("ERROR 2002") || error.contains("ERROR 2003");
    let timed_out = error.contains("(110)") || error.contains("(115)");
    error.contains("ERROR 2013") || (connect && timed_out)
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
async fn survey<'a>(
    cluster: &'a Cluster,
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
    let tls = match cluster.tls_files() {
        Some(files) => cluster.engine.tls_by_address(&files.ca),
        None => "-".to_string(),
    };
    let mut command = vec![
        "sh",
        "-c",
        SCRIPT,
        "survey",
        cluster.engine.client(),
        port.as_str(),
        timeout.as_str(),
        tls.as_str(),
    ];
    command.extend(
        asked
            .iter()
            .map(|&i| addresses[i].as_deref().unwrap_or_default()),
    );
    let (command, stdin) = (&command, stdin.as_bytes());
    let exec = |via: &'a str| async move {
        let run = crate::k8s::exec::run(cluster.server(via), command, Some(stdin));
        match tokio::time::timeout(SURVEY_TIMEOUT, run).await {
            Ok(Ok(out)) => Some((via, out)),
            _ => None,
        }
    };
    let (via, output) = hedged(&vias, exec)
        .await
        .context("the survey did not answer")?;
    let mut answers = vec![None; cluster.members.len()];
    for (index, answer) in parse(&output.stdout) {
        if let Some(&member) = asked.get(index) {
            answers[member] = Some(answer);
        }
    }
    let via = cluster.members.iter().position(|m| m.name == via);
    trust_silence(&mut answers, via);
    Ok(answers)
}

/// A silence says something of a member only when the surveyor's own network works: some other
/// member answered it. A surveyor cut off from the network (its link down, partitioned) hears
/// nobody; then every member is asked by its own exec instead.
fn trust_silence(answers: &mut [Option<Answer>], surveyor: Option<usize>) {
    let heard_another = answers
        .iter()
        .enumerate()
        .any(|(i, a)| Some(i) != surveyor && matches!(a, Some(Answer::Sets(_))));
    if !heard_another {
        for answer in answers.iter_mut() {
            if matches!(answer, Some(Answer::Silent(_))) {
                *answer = Some(Answer::Failed);
            }
        }
    }
}

/// `ask` of the first of `vias`; when it has not answered within HEDGE_AFTER (or failed), of
/// the second too; the first answer.
async fn hedged<'a, T, F>(vias: &[&'a str], ask: impl Fn(&'a str) -> F) -> Option<T>
where
    F: std::future::Future<Output = Option<T>>,
{
    let first = ask(vias.first()?);
    let Some(&other) = vias.get(1) else {
        return first.await;
    };
    tokio::pin!(first);
    tokio::select! {
        answer = &mut first => return match answer {
            Some(answer) => Some(answer),
            None => ask(other).await,
        },
        _ = tokio::time::sleep(HEDGE_AFTER) => {}
    }
    let second = ask(other);
    tokio::pin!(second);
    tokio::select! {
        answer = &mut first => match answer {
            Some(answer) => Some(answer),
            None => second.await,
        },
        answer = &mut second => match answer {
            Some(answer) => Some(answer),
            None => first.await,
        },
    }
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
        let dark = "ERROR 2002 (HY000): Can't connect to server on '10.244.1.5' (115)";
        let refused = "ERROR 2003 (HY000): Can't connect to server on '10.244.1.5' (111)";
        let denied = "ERROR 1045 (28000): Access denied for user 'root'@'10.244.1.6'";
        let no_network = "ERROR 2002 (HY000): Can't connect to server on '10.244.1.5' (101)";
        for (error, is_silent) in [
            (frozen, true),
            (gone, true),
            (dark, true),
            (refused, false),
            (no_network, false),
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

    /// The second member is asked only when the first is slow or fails; the first answer wins.
    #[tokio::test(start_paused = true)]
    async fn a_survey_that_does_not_answer_is_asked_of_a_second_member() {
        use std::sync::Mutex;
        let asked = Mutex::new(Vec::new());
        let ask = |delays: &'static [(&'static str, u64, bool)]| {
            let asked = &asked;
            move |via: &'static str| async move {
                asked.lock().unwrap().push(via);
                let (_, ms, ok) = delays.iter().find(|(v, _, _)| *v == via).unwrap();
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                ok.then_some(via)
            }
        };
        // Quick: the second is never asked.
        let quick = hedged(&["a", "b"], ask(&[("a", 300, true), ("b", 100, true)])).await;
        assert_eq!(
            (quick, asked.lock().unwrap().clone()),
            (Some("a"), vec!["a"])
        );
        asked.lock().unwrap().clear();
        // The first hangs (its node is gone): the second answers.
        let hung = hedged(&["a", "b"], ask(&[("a", 60_000, true), ("b", 200, true)])).await;
        assert_eq!(
            (hung, asked.lock().unwrap().clone()),
            (Some("b"), vec!["a", "b"])
        );
        asked.lock().unwrap().clear();
        // The first fails at once: the second is asked without waiting.
        let failed = hedged(&["a", "b"], ask(&[("a", 10, false), ("b", 200, true)])).await;
        assert_eq!(failed, Some("b"));
        // Both fail, or only one member: nothing or the one.
        let none = hedged(&["a", "b"], ask(&[("a", 10, false), ("b", 20, false)])).await;
        assert_eq!(none, None);
        let one = hedged(&["a"], ask(&[("a", 5_000, true)])).await;
        assert_eq!(one, Some("a"));
    }

    /// A surveyor that hears no other member is cut off itself: nobody counts as silent.
    #[test]
    fn silences_count_only_when_the_surveyor_heard_another_member() {
        let silent = || Some(Answer::Silent("ERROR 2002 (115)".into()));
        let sets = || Some(Answer::Sets(vec![]));
        let mut heard = vec![silent(), sets(), sets()];
        trust_silence(&mut heard, Some(1));
        assert_eq!(heard[0], silent());
        // Only itself answered (its own address): its network is down.
        let mut alone = vec![silent(), sets(), silent()];
        trust_silence(&mut alone, Some(1));
        assert_eq!(
            alone,
            vec![Some(Answer::Failed), sets(), Some(Answer::Failed)]
        );
        let mut none = vec![silent(), None];
        trust_silence(&mut none, None);
        assert_eq!(none, vec![Some(Answer::Failed), None]);
    }
}
