//! The switchover decision: the primary must be healthy (ready, answering, writable); the
//! target is the replica named with --to or the healthy replica that applied the most, and it
//! must be ready, replicating and free of errant transactions. Nothing can be lost: the target
//! is promoted only once it applied everything the fenced primary wrote.
use super::{observe_members, shown, Asking, Observed, Plan};
use crate::cluster::{Cluster, ServerState};
use crate::db::engine::Gtids;

/// Asks every member at once and decides.
pub async fn plan(cluster: &Cluster, to: Option<&str>) -> Plan {
    let observed = observe_members(cluster, Asking::Patiently).await;
    decide(&cluster.name, &cluster.primary, &observed, to)
}

/// The agent's switchover away from a primary whose pod is being deleted (a drain, an
/// eviction, `kubectl delete pod`): asks every member, the leaving primary included, and
/// decides.
pub async fn plan_primary_leaving(cluster: &Cluster) -> Plan {
    let observed = super::observe_members_primary_leaving(cluster).await;
    decide_primary_leaving(&cluster.name, &cluster.primary, &observed)
}

/// The decision on what was observed; refusals in the order the real command checks them.
pub fn decide(cluster: &str, primary: &str, observed: &[Observed], to: Option<&str>) -> Plan {
    decide_move(cluster, primary, observed, to, Primary::Staying)
}

/// As `decide` with no --to, for a primary whose pod is being deleted: it is not Ready any
/// more (Kubernetes marks a pod being deleted so), but its server must still answer and be
/// writable; the target is the healthy replica that applied the most.
pub fn decide_primary_leaving(cluster: &str, primary: &str, observed: &[Observed]) -> Plan {
    decide_move(cluster, primary, observed, None, Primary::Leaving)
}

/// Whether the primary's pod stays or is being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Primary {
    Staying,
    Leaving,
}

fn decide_move(
    cluster: &str,
    primary: &str,
    observed: &[Observed],
    to: Option<&str>,
    pod: Primary,
) -> Plan {
    let mut plan = Plan::new("switchover", cluster, primary, observed);
    if let Some(refusal) = primary_problem(cluster, primary, observed, pod) {
        plan.refusals.push(refusal);
    }
    let primary_state = observed
        .iter()
        .find(|o| o.primary)
        .and_then(|o| o.state.as_ref());
    match to {
        Some(pod) => match observed.iter().find(|o| o.name == pod) {
            None => plan
                .refusals
                .push(format!("pod {pod} is not a member of cluster {cluster}")),
            Some(o) => match candidate_problem(cluster, o, primary_state) {
                Some(problem) => plan.refusals.push(problem),
                None => {
                    plan.reasons.push(format!("{pod} is named with --to"));
                    plan.candidate = Some(pod.to_string());
                }
            },
        },
        None => {
            for o in observed.iter().filter(|o| !o.primary) {
                if let Some(problem) = candidate_problem(cluster, o, primary_state) {
                    plan.reasons.push(format!("not {}: {problem}", o.name));
                }
            }
            match most_up_to_date(cluster, observed, primary_state) {
                Some((pod, applied)) => {
                    plan.reasons.insert(
                        0,
                        format!(
                            "{pod} has applied the most of the healthy replicas: {}",
                            shown(&applied)
                        ),
                    );
                    plan.candidate = Some(pod);
                }
                None => plan.refusals.push(format!(
                    "cluster {cluster} has no healthy replica to switch over to"
                )),
            }
        }
    }
    if let Some(candidate) = plan.candidate.clone() {
        plan.reasons.push(format!(
            "writes stop on {primary}; {candidate} is promoted once it applied everything {primary} wrote: nothing can be lost"
        ));
    }
    plan.conclude()
}

/// Why the primary cannot hand over (a switchover needs a healthy one).
fn primary_problem(
    cluster: &str,
    primary: &str,
    observed: &[Observed],
    pod: Primary,
) -> Option<String> {
    let Some(o) = observed.iter().find(|o| o.primary) else {
        return Some("the primary of record is not a member".into());
    };
    if pod == Primary::Staying && !o.ready() {
        return Some(format!("primary {primary} is not ready: a switchover needs a healthy primary; use kubectl mysqlha failover {cluster}"));
    }
    match &o.state {
        None => Some(format!(
            "primary {primary} does not answer; use failover: {}",
            o.silence.clone().unwrap_or_default()
        )),
        Some(s) if s.read_only => Some(format!(
            "primary {primary} is read-only; check kubectl mysqlha status {cluster}"
        )),
        Some(_) => None,
    }
}

/// Why a member cannot take over: it must be a ready replica that replicates, with no
/// transaction the primary never had.
fn candidate_problem(cluster: &str, o: &Observed, primary: Option<&ServerState>) -> Option<String> {
    let pod = &o.name;
    if o.primary {
        return Some(format!("{pod} is already the primary"));
    }
    if !o.ready() {
        return Some(format!("{pod} is not ready and cannot become the primary"));
    }
    let Some(state) = &o.state else {
        return Some(format!(
            "{pod} {}",
            o.silence
                .clone()
                .unwrap_or_else(|| "does not answer".into())
        ));
    };
    if !state.replication.as_ref().is_some_and(|r| r.is_connected()) {
        return Some(format!(
            "{pod} is not replicating and cannot become the primary"
        ));
    }
    let errant = primary.map(|p| state.history.errant_against(&p.history));
    if errant.is_some_and(|e| !e.is_empty()) {
        return Some(format!("{pod} has transactions the primary never had; rebuild it first: kubectl mysqlha rebuild-replica {cluster} {pod}"));
    }
    None
}

/// The healthy replica whose applied position includes every other's (the first one found
/// when none does).
fn most_up_to_date(
    cluster: &str,
    observed: &[Observed],
    primary: Option<&ServerState>,
) -> Option<(String, Gtids)> {
    let mut best: Option<(String, Gtids)> = None;
    for o in observed {
        let Some(state) = &o.state else { continue };
        if candidate_problem(cluster, o, primary).is_some() {
            continue;
        }
        let pos = state.applied.clone();
        if best
            .as_ref()
            .is_none_or(|(_, b)| pos.includes(b) && pos != *b)
        {
            best = Some((o.name.clone(), pos));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodPhase;

    fn member(name: &str, primary: bool, ready: bool, applied: &str, io: &str) -> Observed {
        let row = crate::db::sqltext::row;
        let vars = row(&[
            ("read_only", if primary { "0" } else { "1" }),
            ("current", applied),
            ("binlog_state", applied),
        ]);
        let slave = (!primary).then(|| {
            row(&[
                ("Master_Host", "x"),
                ("Slave_IO_Running", io),
                ("Slave_SQL_Running", "Yes"),
                ("Gtid_IO_Pos", applied),
            ])
        });
        let state = crate::db::engine::Engine::Mariadb
            .parse_state(&[vars], slave.as_slice())
            .unwrap();
        Observed {
            name: name.into(),
            primary,
            phase: PodPhase::Running { ready },
            state: Some(state),
            silence: None,
            reached: true,
        }
    }

    #[test]
    fn the_target_is_the_healthy_replica_that_applied_the_most() {
        let observed = [
            member("db-0", true, true, "0-1-10", ""),
            member("db-1", false, true, "0-1-8", "Yes"),
            member("db-2", false, true, "0-1-9", "Yes"),
        ];
        let p = decide("db", "db-0", &observed, None);
        assert!(p.proceeds, "{:?}", p.refusals);
        assert_eq!(p.go_ahead().unwrap(), "db-2");
        let p = decide("db", "db-0", &observed, Some("db-1"));
        assert_eq!(p.go_ahead().unwrap(), "db-1");
    }

    #[test]
    fn unfit_targets_are_refused_with_the_reason() {
        let observed = [
            member("db-0", true, true, "0-1-10", ""),
            member("db-1", false, false, "0-1-10", "Yes"),
            member("db-2", false, true, "0-1-9", "No"),
        ];
        let refusal = |to| {
            decide("db", "db-0", &observed, Some(to))
                .refusals
                .join("; ")
        };
        assert!(refusal("db-1").contains("not ready"));
        assert!(refusal("db-2").contains("not replicating"));
        assert!(refusal("db-0").contains("already the primary"));
        assert!(refusal("db-9").contains("not a member"));
        let p = decide("db", "db-0", &observed, None);
        assert!(
            p.refusals[0].contains("no healthy replica"),
            "{:?}",
            p.refusals
        );
        assert!(p.candidate.is_none());
    }

    #[test]
    fn a_primary_that_is_not_ready_is_refused() {
        let observed = [
            member("db-0", true, false, "0-1-10", ""),
            member("db-1", false, true, "0-1-10", "Yes"),
        ];
        let p = decide("db", "db-0", &observed, None);
        assert!(p.refusals[0].contains("use kubectl mysqlha failover"));
        assert_eq!(p.candidate.as_deref(), Some("db-1"));
    }

    /// A primary whose pod is being deleted is not Ready (Kubernetes marks it so) yet still
    /// hands over while its server answers and takes writes; not when it is silent, read-only,
    /// or no replica is fit.
    #[test]
    fn a_leaving_primary_hands_over_while_its_server_answers_and_writes() {
        let leaving = |mut primary: Observed, replica: Observed| {
            primary.phase = PodPhase::Pending(Some("terminating".into()));
            decide_primary_leaving("db", "db-0", &[primary, replica])
        };
        let healthy = || member("db-1", false, true, "0-1-10", "Yes");
        let p = leaving(member("db-0", true, true, "0-1-10", ""), healthy());
        assert!(p.proceeds, "{:?}", p.refusals);
        assert_eq!(p.go_ahead().unwrap(), "db-1");
        let mut silent = member("db-0", true, true, "0-1-10", "");
        (silent.state, silent.silence) = (None, Some("does not answer: gone".into()));
        let p = leaving(silent, healthy());
        assert!(
            p.refusals[0].contains("does not answer"),
            "{:?}",
            p.refusals
        );
        let mut fenced = member("db-0", true, true, "0-1-10", "");
        fenced.state.as_mut().unwrap().read_only = true;
        assert!(leaving(fenced, healthy()).refusals[0].contains("read-only"));
        let p = leaving(
            member("db-0", true, true, "0-1-10", ""),
            member("db-1", false, true, "0-1-10", "No"),
        );
        assert!(
            p.refusals[0].contains("no healthy replica"),
            "{:?}",
            p.refusals
        );
        // The command itself still refuses a primary that is not ready.
        let mut primary = member("db-0", true, true, "0-1-10", "");
        primary.phase = PodPhase::Pending(Some("terminating".into()));
        let p = decide("db", "db-0", &[primary, healthy()], None);
        assert!(p.refusals[0].contains("not ready"));
    }
}
