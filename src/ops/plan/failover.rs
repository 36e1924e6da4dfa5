//! The failover decision: the primary must be lost (not answering, read-only, or cut off from
//! every replica); every replica must answer unless --force; the candidate is the replica that
//! received everything every other reachable replica received. Also what promoting it could
//! lose: what the old primary (when it answers) holds that the candidate has not received, and
//! the members that cannot be reached.
use super::{observe_members, shown, Asking, Lost, Observed, Plan, WouldLose};
use crate::cluster::health::Role;
use crate::cluster::{Cluster, ServerState};
use crate::db::engine::{Gtids, Receiver};
use anyhow::{bail, Context as _, Result};

/// A failover plan and what its execution needs.
pub struct FailoverPlan {
    pub plan: Plan,
    /// The old primary's server answers: it is fenced (read-only) before the promotion.
    pub old_answers: bool,
    /// An exec into the old primary's server container goes through: a silent server there
    /// can be killed before the promotion.
    pub old_reached: bool,
    /// The replicas that answer and replicate: their receiving is stopped and the choice made
    /// again on what each then received.
    pub replicas: Vec<(String, ServerState)>,
}

/// Asks every member at once (a silent one costs one PROBE_TIMEOUT) and decides.
pub async fn plan(cluster: &Cluster, to: Option<&str>, force: bool) -> FailoverPlan {
    let observed = observe_members(cluster, Asking::Quick).await;
    decide(&cluster.name, &cluster.primary, &observed, to, force, None)
}

/// The agent's plan: every member asked and, at the same time, `reaching` (which replicas'
/// own attempt to connect to the primary succeeds); the decision counts a replica as receiving
/// from the primary only if it also reaches it. Returns the plan and `reaching`'s answer.
pub async fn plan_knowing_reach(
    cluster: &Cluster,
    reaching: impl std::future::Future<Output = Vec<String>>,
) -> (FailoverPlan, Vec<String>) {
    let (observed, reaching) = tokio::join!(observe_members(cluster, Asking::Quick), reaching);
    let plan = decide(
        &cluster.name,
        &cluster.primary,
        &observed,
        None,
        false,
        Some(&reaching),
    );
    (plan, reaching)
}

/// The decision on what was observed; refusals in the order the real command checks them.
/// `reaching`, when known: the replicas that can still open a connection to the primary
/// themselves (an IO thread says "connected" until its net timeout).
pub fn decide(
    cluster: &str,
    primary: &str,
    observed: &[Observed],
    to: Option<&str>,
    force: bool,
    reaching: Option<&[String]>,
) -> FailoverPlan {
    let mut plan = Plan::new("failover", cluster, primary, observed);
    let old_state = observed
        .iter()
        .find(|o| o.primary)
        .and_then(|o| o.state.as_ref());
    let probed: Vec<(String, Option<ServerState>)> = observed
        .iter()
        .filter(|o| !o.primary)
        .map(|o| (o.name.clone(), o.state.clone()))
        .collect();
    if let Some(refusal) = primary_healthy(cluster, primary, old_state, &probed, reaching) {
        plan.refusals.push(refusal);
    }
    let (replicas, not_replicating) = split_reachable(probed);
    let unreachable: Vec<&str> = not_replicating
        .iter()
        .filter(|(_, state)| state.is_none())
        .map(|(pod, _)| pod.as_str())
        .collect();
    for (pod, state) in &not_replicating {
        if state.is_some() {
            plan.note(
                pod,
                "answers but does not replicate: not a candidate".into(),
            );
        } else {
            plan.note(pod, "cannot be reached: what it holds is unknown".into());
        }
    }
    if replicas.is_empty() {
        plan.refusals.push(format!("no replica of cluster {cluster} can be promoted (none answers and replicates): nothing changed"));
    } else if !unreachable.is_empty() && !force {
        plan.refusals.push(format!(
            "replica(s) {} cannot be reached and may hold acknowledged writes the others lack: nothing changed. Bring them back, or accept the risk with --force",
            unreachable.join(", ")
        ));
    }
    if !replicas.is_empty() {
        match choose_candidate(cluster, &replicas, to) {
            Ok(candidate) => {
                let lose = would_lose(observed, state_of(&replicas, &candidate));
                if !force {
                    plan.refusals
                        .extend(holding_more(&not_replicating, &lose, &candidate));
                }
                plan.reasons = why(&candidate, &replicas, to);
                plan.would_lose = Some(lose);
                plan.candidate = Some(candidate);
            }
            Err(e) => plan.refusals.push(format!("{e}: nothing changed")),
        }
    }
    FailoverPlan {
        plan: plan.conclude(),
        old_answers: old_state.is_some(),
        old_reached: observed.iter().any(|o| o.primary && o.reached),
        replicas,
    }
}

/// A member that answers but does not replicate (an old primary restarted out of service, a
/// replica stopped by hand) is no candidate, and what it holds is known: refused only when it
/// holds transactions the candidate lacks, which may be writes acknowledged while it was the
/// primary (received then by a replica now lost). Holding nothing more, it is no reason to wait
/// (seen: a killed primary's new pod, out of service, kept the next failover refused for 225 s).
fn holding_more(not_replicating: &Unreachable, lose: &WouldLose, candidate: &str) -> Vec<String> {
    not_replicating
        .iter()
        .filter(|(_, state)| state.is_some())
        .filter_map(|(pod, _)| lose.transactions.iter().find(|l| &l.member == pod))
        .map(|l| format!(
            "{} answers but does not replicate, and holds {} transaction(s) {candidate} lacks ({}) that may be acknowledged writes: nothing changed. Bring it back as a replica (rejoin or rebuild-replica), or accept the risk with --force",
            l.member,
            l.count,
            l.gtids.join(",")
        ))
        .collect()
}

/// The refusal while the primary is healthy: it answers, takes writes and a replica receives
/// from it.
fn primary_healthy(
    cluster: &str,
    primary: &str,
    state: Option<&ServerState>,
    replicas: &[(String, Option<ServerState>)],
    reaching: Option<&[String]>,
) -> Option<String> {
    match state {
        Some(state) if !state.read_only && !cut_off_from_replicas(replicas, reaching) => Some(format!(
            "primary {primary} is healthy and takes writes: nothing changed. For a planned move use kubectl mysqlha switchover {cluster}"
        )),
        _ => None,
    }
}

/// A primary that answers the plugin (exec does not cross the pod network) may still be cut
/// off: no replica's IO thread is connected to it (or, when known, none that still reaches it).
fn cut_off_from_replicas(
    replicas: &[(String, Option<ServerState>)],
    reaching: Option<&[String]>,
) -> bool {
    !replicas.is_empty()
        && !replicas.iter().any(|(name, state)| {
            let connected = state
                .as_ref()
                .and_then(|s| s.replication.as_ref())
                .is_some_and(|r| r.receiver == Receiver::Connected);
            connected && reaching.is_none_or(|r| r.contains(name))
        })
}

type Reachable = Vec<(String, ServerState)>;
type Unreachable = Vec<(String, Option<ServerState>)>;

/// The replicas that answer and replicate, and the others (an unreachable one may hold
/// acknowledged writes: without --force that is a refusal).
fn split_reachable(probed: Vec<(String, Option<ServerState>)>) -> (Reachable, Unreachable) {
    let (reachable, unreachable): (Vec<_>, Vec<_>) = probed
        .into_iter()
        .partition(|(_, s)| s.as_ref().is_some_and(|s| s.replication.is_some()));
    let reachable = reachable
        .into_iter()
        .filter_map(|(p, s)| s.map(|s| (p, s)))
        .collect();
    (reachable, unreachable)
}

pub fn state_of<'a>(states: &'a [(String, ServerState)], pod: &str) -> &'a ServerState {
    &states
        .iter()
        .find(|(p, _)| p == pod)
        .expect("a chosen candidate")
        .1
}

/// What a replica has received from the primary, applied or not (the engine's reading); for
/// a member that does not replicate, what it applied.
pub fn received(state: &ServerState) -> Gtids {
    state
        .replication
        .as_ref()
        .map(|r| r.received.clone())
        .unwrap_or_else(|| state.applied.clone())
}

/// The replica that received everything every other one received (`wanted` must be one).
pub fn choose_candidate(
    cluster: &str,
    replicas: &[(String, ServerState)],
    wanted: Option<&str>,
) -> Result<String> {
    let positions: Vec<(&str, Gtids)> = replicas
        .iter()
        .map(|(p, s)| (p.as_str(), received(s)))
        .collect();
    let has_all = |pos: &Gtids| positions.iter().all(|(_, other)| pos.includes(other));
    match wanted {
        Some(pod) => {
            let (_, pos) = positions.iter().find(|(p, _)| *p == pod).with_context(|| {
                format!("{pod} is not a reachable replica of cluster {cluster}")
            })?;
            if !has_all(pos) {
                bail!(
                    "{pod} has received less than another replica; promoting it would lose writes"
                );
            }
            Ok(pod.to_string())
        }
        None => positions
            .iter()
            .find(|(_, pos)| has_all(pos))
            .map(|(p, _)| p.to_string())
            .context("no replica has received everything the others have (their histories differ)"),
    }
}

fn why(candidate: &str, replicas: &[(String, ServerState)], to: Option<&str>) -> Vec<String> {
    let state = state_of(replicas, candidate);
    let (received, applied) = (received(state), state.applied.clone());
    let (shown_received, shown_applied) = (shown(&received), shown(&applied));
    let mut reasons = Vec::new();
    if to.is_some() {
        reasons.push(format!("{candidate} is named with --to"));
    }
    if replicas.len() > 1 {
        reasons.push(format!(
            "{candidate} received everything every other reachable replica received: {shown_received}; applied {shown_applied}"
        ));
    } else {
        reasons.push(format!(
            "{candidate} is the only reachable replica; it received {shown_received}; applied {shown_applied}"
        ));
    }
    if received != applied {
        reasons.push(format!(
            "{candidate} applies everything it received before it is promoted"
        ));
    }
    reasons.push("the real failover first stops every replica receiving, then decides again on what each received by then".into());
    reasons
}

/// What each member that answers holds and the candidate has not received (the old primary:
/// what it committed; a replica: what it received), and the members that cannot be asked.
fn would_lose(observed: &[Observed], candidate: &ServerState) -> WouldLose {
    let has = received(candidate);
    let mut lose = WouldLose::default();
    for o in observed {
        match &o.state {
            Some(state) => {
                let (gtids, count) = received(state).beyond(&has);
                if !gtids.is_empty() {
                    lose.transactions.push(Lost {
                        member: o.name.clone(),
                        role: if o.primary {
                            Role::Primary
                        } else {
                            Role::Replica
                        },
                        gtids,
                        count,
                    });
                }
            }
            None => lose.unknown.push(o.name.clone()),
        }
    }
    lose
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodPhase;

    /// A MariaDB member's state as the engine reads it from its rows (`received` None: it does
    /// not replicate).
    fn state(read_only: bool, applied: &str, io: &str, received: Option<&str>) -> ServerState {
        let row = crate::db::sqltext::row;
        let vars = row(&[
            ("read_only", if read_only { "1" } else { "0" }),
            ("current", applied),
            ("binlog_state", applied),
        ]);
        let slave = received.map(|received| {
            row(&[
                ("Master_Host", "x"),
                ("Slave_IO_Running", io),
                ("Slave_SQL_Running", "Yes"),
                ("Gtid_IO_Pos", received),
            ])
        });
        crate::db::engine::Engine::Mariadb
            .parse_state(&[vars], slave.as_slice())
            .unwrap()
    }

    fn replica(name: &str, applied: &str, received: &str) -> (String, ServerState) {
        (name.into(), state(true, applied, "No", Some(received)))
    }

    fn member(name: &str, primary: bool, state: Option<ServerState>) -> Observed {
        Observed {
            name: name.into(),
            primary,
            phase: PodPhase::Running { ready: true },
            silence: state.is_none().then(|| "does not answer within 5s".into()),
            reached: state.is_some(),
            state,
        }
    }

    #[test]
    fn the_candidate_is_the_one_that_received_the_most_not_applied_the_most() {
        let replicas = [
            replica("db-1", "0-1-90", "0-1-100"),
            replica("db-2", "0-1-95", "0-1-96"),
        ];
        assert_eq!(choose_candidate("db", &replicas, None).unwrap(), "db-1");
        assert_eq!(
            choose_candidate("db", &replicas, Some("db-1")).unwrap(),
            "db-1"
        );
        let err = choose_candidate("db", &replicas, Some("db-2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("received less"), "{err}");
        assert!(choose_candidate("db", &replicas, Some("db-7")).is_err());
    }

    #[test]
    fn an_empty_io_position_falls_back_to_what_was_applied() {
        let replicas = [
            replica("db-1", "0-1-50", ""),
            replica("db-2", "0-1-40", "0-1-40"),
        ];
        assert_eq!(choose_candidate("db", &replicas, None).unwrap(), "db-1");
    }

    #[test]
    fn a_healthy_primary_is_refused_but_the_candidate_is_still_named() {
        let observed = [
            member("db-0", true, Some(state(false, "0-1-10", "", None))),
            member(
                "db-1",
                false,
                Some(state(true, "0-1-10", "Yes", Some("0-1-10"))),
            ),
            member(
                "db-2",
                false,
                Some(state(true, "0-1-9", "Yes", Some("0-1-9"))),
            ),
        ];
        let p = decide("db", "db-0", &observed, None, false, None);
        assert!(!p.plan.proceeds);
        assert!(
            p.plan.refusals[0].contains("is healthy"),
            "{:?}",
            p.plan.refusals
        );
        assert_eq!(p.plan.candidate.as_deref(), Some("db-1"));
        assert!(p.plan.go_ahead().is_err());
        // The same states, but the replicas' own attempts to reach it fail (its pod network is
        // cut; their IO threads have not timed out yet): it is lost.
        let cut_off = decide("db", "db-0", &observed, None, false, Some(&[]));
        assert_eq!(cut_off.plan.go_ahead().unwrap(), "db-1");
        let one_reaches = decide("db", "db-0", &observed, None, false, Some(&["db-2".into()]));
        assert!(one_reaches.plan.go_ahead().is_err());
    }

    #[test]
    fn a_forced_failover_names_what_the_old_primary_holds_and_who_is_unknown() {
        // The primary answers but no replica receives from it; db-2 is silent.
        let observed = [
            member("db-0", true, Some(state(false, "0-1-7", "", None))),
            member(
                "db-1",
                false,
                Some(state(true, "0-1-6", "No", Some("0-1-6"))),
            ),
            member("db-2", false, None),
        ];
        let refused = decide("db", "db-0", &observed, None, false, None);
        assert_eq!(
            refused.plan.refusals.len(),
            1,
            "{:?}",
            refused.plan.refusals
        );
        assert!(refused.plan.refusals[0].contains("db-2 cannot be reached"));
        let forced = decide("db", "db-0", &observed, None, true, None);
        assert!(forced.plan.proceeds, "{:?}", forced.plan.refusals);
        assert_eq!(forced.plan.go_ahead().unwrap(), "db-1");
        assert!(forced.old_answers);
        let lose = forced.plan.would_lose.unwrap();
        assert_eq!(lose.transactions.len(), 1);
        assert_eq!(lose.transactions[0].member, "db-0");
        assert_eq!(lose.transactions[0].gtids, vec!["0-1-7".to_string()]);
        assert_eq!(lose.unknown, vec!["db-2".to_string()]);
    }

    #[test]
    fn a_member_that_answers_but_does_not_replicate_holds_up_a_failover_only_with_more() {
        // The primary db-1 is silent; db-0 (an old primary restarted out of service) answers and
        // does not replicate; db-2 received up to 0-1-9.
        let observed = |db0_holds: &str| {
            [
                member("db-1", true, None),
                member("db-0", false, Some(state(true, db0_holds, "", None))),
                member(
                    "db-2",
                    false,
                    Some(state(true, "0-1-9", "Connecting", Some("0-1-9"))),
                ),
            ]
        };
        // db-0 holds nothing db-2 lacks: db-2 is promoted.
        let p = decide("db", "db-1", &observed("0-1-5"), None, false, None);
        assert_eq!(p.plan.go_ahead().unwrap(), "db-2", "{:?}", p.plan.refusals);
        // db-0 holds a transaction db-2 lacks (maybe acknowledged while db-0 was the primary):
        // refused, and said so; forced, it goes ahead.
        let refused = decide("db", "db-1", &observed("0-1-10"), None, false, None);
        assert_eq!(
            refused.plan.refusals.len(),
            1,
            "{:?}",
            refused.plan.refusals
        );
        assert!(
            refused.plan.refusals[0].starts_with("db-0 answers but does not replicate, and holds 1 transaction(s) db-2 lacks (0-1-10)"),
            "{:?}",
            refused.plan.refusals
        );
        let forced = decide("db", "db-1", &observed("0-1-10"), None, true, None);
        assert_eq!(forced.plan.go_ahead().unwrap(), "db-2");
    }

    #[test]
    fn no_replica_that_answers_is_a_refusal() {
        let observed = [member("db-0", true, None), member("db-1", false, None)];
        let p = decide("db", "db-0", &observed, None, true, None);
        assert!(
            p.plan.refusals[0].contains("no replica"),
            "{:?}",
            p.plan.refusals
        );
        assert!(p.plan.candidate.is_none());
    }
}
