//! The write path: a primary of record that answers the agent's greeting but does not take
//! writes (read-only, so not Ready: no member is writable) is a fault like a silent one. Past the
//! grace, the leader asks every member and decides (`decide`, pure): the rightful primary (no
//! other member writable, none holding a transaction it lacks) is made writable again; one that
//! cannot be asked, or that a replica is ahead of, is failed over; another writable member is
//! left to a person. Under the operation lock, so a switchover's fenced primary (read-only
//! for a moment, under the lock) is never touched.
use super::{with_primary_locked, FAILOVER_TIMEOUT};
use crate::cluster::{pod_phase, Cluster, PodPhase};
use crate::k8s::context::Context;
use crate::ops::plan::{self, Asking, Observed};
use crate::{ops::failover, ops::topology};
use anyhow::{bail, Context as _, Result};
use std::time::{Duration, Instant};

/// What the agent does about a primary that answers but has not served writes for the grace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// It is writable after all (its readiness failed for another reason): nothing to fix.
    NothingToDo(String),
    /// The rightful primary, read-only: make it writable again.
    MakeWritable,
    /// It cannot be made writable safely: fail over, for this reason.
    FailOver(String),
    /// A person must decide, for this reason.
    Refuse(String),
}

/// The decision on every member's state, asked after the grace. `observed` holds the primary
/// of record (flagged `primary`) and the other members.
pub fn decide(observed: &[Observed]) -> Remedy {
    let Some(primary) = observed.iter().find(|o| o.primary) else {
        return Remedy::Refuse("the primary of record is not a member".into());
    };
    let others: Vec<&Observed> = observed.iter().filter(|o| !o.primary).collect();
    let writable: Vec<&str> = others
        .iter()
        .filter(|o| o.state.as_ref().is_some_and(|s| !s.read_only))
        .map(|o| o.name.as_str())
        .collect();
    if !writable.is_empty() {
        return Remedy::Refuse(format!(
            "{} writable beside it: only a person may choose (kubectl mysqlha status shows the members)",
            writable.join(", ")
        ));
    }
    let silence = primary.silence.as_deref().unwrap_or("no answer");
    let Some(state) = &primary.state else {
        // Its container reached but its server silent: hung behind its greeting. Not reached:
        // its node's kubelet does not answer, which says nothing of the server (it may well
        // take writes, as it did before its pod's readiness went stale).
        return if primary.reached {
            Remedy::FailOver(format!(
                "it answers the agent's greeting but not its questions ({silence})"
            ))
        } else {
            Remedy::Refuse(format!(
                "its container cannot be reached ({silence}): its node may be lost; kubectl mysqlha status tells"
            ))
        };
    };
    if !state.read_only {
        return Remedy::NothingToDo(format!(
            "{} is writable; its readiness probe fails for another reason",
            primary.name
        ));
    }
    let ahead: Vec<&str> = others
        .iter()
        .filter(|o| {
            o.state.as_ref().is_some_and(|s| {
                let received = s.replication.as_ref().map(|r| &r.received);
                !state.history.includes(&s.history)
                    || received.is_some_and(|r| !state.history.includes(r))
            })
        })
        .map(|o| o.name.as_str())
        .collect();
    if !ahead.is_empty() {
        return Remedy::FailOver(format!("{} holds transactions it lacks", ahead.join(", ")));
    }
    Remedy::MakeWritable
}

/// The primary's pod is Ready: its server takes writes (the readiness probe of a read-only
/// member passes only while it replicates, which a primary does not).
pub(super) fn serving(cluster: &Cluster) -> bool {
    let pod = cluster
        .member(&cluster.primary)
        .and_then(|m| m.pod.as_ref());
    pod_phase(pod) == (PodPhase::Running { ready: true })
}

/// How long the statements that make the primary writable may take.
const MAKE_WRITABLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Under the lock, on a fresh reading (the record still names `primary`), the decision is
/// still to make it writable; then it is, and loses any hold a fence left on it.
pub(super) async fn locked_make_writable(ctx: &Context, name: &str, primary: &str) -> Result<()> {
    with_primary_locked(ctx, name, primary, "make-writable", |_, cluster| {
        Box::pin(async move {
            let remedy = decide(&plan::observe_members(cluster, Asking::Quick).await);
            if remedy != Remedy::MakeWritable {
                bail!("asked again under the lock: {remedy:?}");
            }
            topology::promote(cluster, &cluster.primary, "", MAKE_WRITABLE_TIMEOUT).await?;
            topology::release_hold(cluster, &cluster.primary).await
        })
    })
    .await
    .context("making the primary writable")
}

/// Under the lock, on a fresh reading, the shared failover of a primary that takes no write.
pub(super) async fn locked_failover(
    ctx: &Context,
    name: &str,
    primary: &str,
) -> Result<failover::Outcome> {
    with_primary_locked(ctx, name, primary, "auto-failover", |op, cluster| {
        Box::pin(async move {
            let plan = plan::failover::plan(cluster, None, false).await;
            failover::candidate(op, cluster, &plan)?;
            failover::execute(op, cluster, plan, None, FAILOVER_TIMEOUT, Instant::now()).await
        })
    })
    .await
    .context("automatic failover")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ServerState;

    /// A MariaDB member's state (`received` None: it does not replicate).
    fn state(read_only: bool, history: &str, received: Option<&str>) -> ServerState {
        let row = crate::db::sqltext::row;
        let vars = row(&[
            ("read_only", if read_only { "1" } else { "0" }),
            ("current", history),
            ("binlog_state", history),
        ]);
        let slave = received.map(|received| {
            row(&[
                ("Master_Host", "x"),
                ("Slave_IO_Running", "Yes"),
                ("Slave_SQL_Running", "Yes"),
                ("Gtid_IO_Pos", received),
            ])
        });
        crate::db::engine::Engine::Mariadb
            .parse_state(&[vars], slave.as_slice())
            .unwrap()
    }

    fn member(name: &str, primary: bool, state: Option<ServerState>) -> Observed {
        Observed {
            name: name.into(),
            primary,
            phase: PodPhase::Running { ready: !primary },
            silence: state.is_none().then(|| "does not answer within 5s".into()),
            reached: state.is_some(),
            state,
        }
    }

    #[test]
    fn a_primary_that_answers_but_takes_no_write() {
        let read_only_primary = || member("ha-0", true, Some(state(true, "0-1-100", None)));
        let follower = |name, at: &str| member(name, false, Some(state(true, at, Some(at))));
        let cases: Vec<(&str, Vec<Observed>, Remedy)> = vec![
            (
                "restarted read-only from a stale record, replicas have what it has: writable",
                vec![
                    read_only_primary(),
                    follower("ha-1", "0-1-100"),
                    follower("ha-2", "0-1-90"),
                ],
                Remedy::MakeWritable,
            ),
            (
                "a lone primary, read-only: writable",
                vec![read_only_primary()],
                Remedy::MakeWritable,
            ),
            (
                "a replica that cannot be asked holds nothing known: still writable",
                vec![read_only_primary(), member("ha-1", false, None)],
                Remedy::MakeWritable,
            ),
            (
                "a replica applied more than the primary holds: fail over to it",
                vec![read_only_primary(), follower("ha-1", "0-1-101")],
                Remedy::FailOver("ha-1 holds transactions it lacks".into()),
            ),
            (
                "a replica received (not applied) more: fail over",
                vec![
                    read_only_primary(),
                    member("ha-1", false, Some(state(true, "0-1-100", Some("0-1-103")))),
                ],
                Remedy::FailOver("ha-1 holds transactions it lacks".into()),
            ),
            (
                "its server answers the greeting but no question: fail over",
                vec![
                    Observed {
                        reached: true,
                        ..member("ha-0", true, None)
                    },
                    follower("ha-1", "0-1-100"),
                ],
                Remedy::FailOver(
                    "it answers the agent's greeting but not its questions (does not answer within 5s)"
                        .into(),
                ),
            ),
            (
                "its container out of reach (a kubelet lost, the server may serve): a person",
                vec![member("ha-0", true, None), follower("ha-1", "0-1-100")],
                Remedy::Refuse(
                    "its container cannot be reached (does not answer within 5s): its node may be lost; kubectl mysqlha status tells"
                        .into(),
                ),
            ),
            (
                "another member is writable: never a second writable member, a person decides",
                vec![
                    read_only_primary(),
                    member("ha-1", false, Some(state(false, "0-1-100", None))),
                ],
                Remedy::Refuse("ha-1 writable beside it: only a person may choose (kubectl mysqlha status shows the members)".into()),
            ),
            (
                "writable but not ready (a slow probe): nothing to fix",
                vec![
                    member("ha-0", true, Some(state(false, "0-1-100", None))),
                    follower("ha-1", "0-1-100"),
                ],
                Remedy::NothingToDo(
                    "ha-0 is writable; its readiness probe fails for another reason".into(),
                ),
            ),
            (
                "no primary of record among the members",
                vec![follower("ha-1", "0-1-100")],
                Remedy::Refuse("the primary of record is not a member".into()),
            ),
        ];
        for (why, observed, remedy) in cases {
            assert_eq!(decide(&observed), remedy, "{why}");
        }
    }
}
