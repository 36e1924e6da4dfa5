//! The leader's rules as a pure state machine: `step` takes what the loop observed (the primary
//! of record, a probe's answer, the replicas' word, the Lease's failover record, what became of
//! an action) and the time, and returns the next state and what the loop must do. No clock is
//! read and nothing is asked here: the loop (mod.rs) observes, calls `step`, performs.
//!
//! The rules: a primary silent for the grace time (plus the restart grace once its port refused
//! a connection and its pod stayed the same) is lost when none of its replicas still receives
//! from it; they are asked from ASK_AHEAD before the grace ends, and their agreement stays good
//! for ASK_AHEAD. Then the cooldown (cooldown.rs) and the plan's refusals (ops::plan::failover)
//! may still hold the failover back; each such refusal is said once per episode. A primary that
//! answers again gets its waiting replicas reconnected; every REJOIN_EVERY the leader looks for
//! members out of service (rejoin.rs, rebuild.rs) and for a peer off the primary's node
//! (handoff.rs); a primary that answers but takes no write follows write_path.rs. A primary
//! whose pod is being deleted while it answers (a drain, an eviction) is switched over from
//! once per pod (leaving.rs): a planned move costs a switchover, not a failover.
use super::cooldown::{self, LastFailover};
use super::rejoin::OutOfService;
use super::write_path::Remedy;
use super::{leader, rebuild, Settings};
use crate::cluster::ServerState;
use crate::k8s::events::Reason;
use crate::ops::plan::failover::FailoverPlan;
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long before the end of the grace time the replicas are asked, and how long their
/// answer stays good.
pub const ASK_AHEAD: Duration = Duration::from_secs(3);
/// How often the leader looks for an old primary to bring back as a replica.
pub const REJOIN_EVERY: Duration = Duration::from_secs(5);

/// What the rules are given once: who this agent is and how it decides.
pub struct Setup {
    /// This agent pod's identity (its leadership's holder name).
    pub identity: String,
    /// The cluster's name.
    pub cluster: String,
    /// The agent's flags.
    pub tuning: Settings,
}

/// What the leader knows between probes.
#[derive(Debug, Default)]
pub struct State {
    /// The primary watched (None: nothing watched yet, or watched afresh by a new leader).
    pub watched: Option<Watched>,
    /// Where the watch of that primary stands.
    pub phase: Phase,
    /// This pod has just taken the lead: a silence of the primary may have begun and ended
    /// before it watched (its replicas are looked at once, at the first answer).
    pub new_leader: bool,
    /// Said once per episode (until the primary answers again): an agent partition, a
    /// refusal, the cooldown.
    pub said: Option<Reason>,
    /// When members out of service were last looked for.
    pub rejoin_checked: Option<Instant>,
    /// Members out of service that hold what the primary lacks (said once).
    pub diverged: BTreeSet<String>,
    /// A primary that answers but takes no write (write_path.rs).
    pub write_path: WritePath,
    /// What was said about it, once while it does not serve.
    pub write_path_said: Option<Reason>,
    /// The uid of the primary's pod whose deletion was switched over from (tried once).
    pub leaving_tried: Option<String>,
}

/// The primary watched and what its last answer showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub primary: String,
    /// When it last answered (the start of the probe that it answered).
    pub last_answer: Option<Instant>,
    /// The uid of its pod when it last answered.
    pub answered_as: Option<String>,
}

/// Where the watch of the primary stands. A silence goes Watching → Silent → Agreed (the
/// replicas agree) → Deciding (past the grace) → FailingOver → Watching; a refusal, the
/// cooldown, a lost lead or a failover that did not happen go back to Silent (the replicas are
/// asked again); an answer, or another primary of record, goes back to Watching.
#[derive(Debug, Default)]
pub enum Phase {
    /// It answers (or has not been probed yet).
    #[default]
    Watching,
    /// It does not answer since `since` (its last answer before the silence: the grace counts
    /// from there); `restarting`: its port refused or reset a connection during this silence
    /// and its pod stayed (a restart in place, given the restart grace more).
    Silent { since: Instant, restarting: bool },
    /// Silent, and at `at` no replica received from it any more: the plan made then.
    Agreed {
        since: Instant,
        restarting: bool,
        at: Instant,
        plan: Agreement,
    },
    /// Past the grace with the replicas' agreement: the Lease's failover record is asked
    /// (the cooldown), then the plan's refusals decide.
    Deciding {
        since: Instant,
        restarting: bool,
        plan: Agreement,
    },
    /// The failover runs since `started`; `within_cooldown`: it is the second within a
    /// cooldown.
    FailingOver {
        since: Instant,
        restarting: bool,
        started: Instant,
        within_cooldown: bool,
    },
}

impl Phase {
    /// Since when the primary is silent, in any phase of a silence.
    fn silent_since(&self) -> Option<(Instant, bool)> {
        match *self {
            Phase::Watching => None,
            Phase::Silent { since, restarting }
            | Phase::Agreed {
                since, restarting, ..
            }
            | Phase::Deciding {
                since, restarting, ..
            }
            | Phase::FailingOver {
                since, restarting, ..
            } => Some((since, restarting)),
        }
    }
}

/// A failover plan the replicas agreed on.
pub struct Agreement(pub Box<FailoverPlan>);

impl std::fmt::Debug for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agreement")
            .field("plan", &self.0.plan)
            .field("replicas", &self.0.replicas)
            .finish()
    }
}

/// The write path of a primary that answers (write_path.rs).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub enum WritePath {
    /// It serves (or was not looked at yet).
    #[default]
    Serving,
    /// It answers but has not been Ready since `since`.
    NotServing { since: Instant },
    /// Past the grace, a remedy runs; `waited`: how long it had not served when decided.
    Remedying { since: Instant, waited: Duration },
}

/// A decision: one log line and an Event (about `pod`, when one).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub reason: Reason,
    pub note: String,
    pub pod: Option<String>,
}

/// An annotation of the agent's Lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseNote {
    /// The primary the leader watches.
    Watching,
    /// The last automatic failover, as cooldown.rs reads it.
    LastFailoverRecord,
    /// The last automatic failover, for people.
    LastFailover,
    /// When the cooldown ends.
    CooldownUntil,
}

impl LeaseNote {
    /// The annotation's key.
    pub fn key(self) -> &'static str {
        match self {
            LeaseNote::Watching => leader::WATCHING_ANNOTATION,
            LeaseNote::LastFailoverRecord => leader::LAST_FAILOVER_RECORD_ANNOTATION,
            LeaseNote::LastFailover => leader::LAST_FAILOVER_ANNOTATION,
            LeaseNote::CooldownUntil => leader::COOLDOWN_UNTIL_ANNOTATION,
        }
    }
}

/// What the loop observed, or what became of an action it performed.
#[derive(Debug)]
pub enum Observation {
    /// This pod leads now (true) or stands by (false).
    Leadership(bool),
    /// The primary of record, read at a probe (a cluster without one is not watched).
    Record(String),
    /// The probe of the primary.
    Probe(Probe),
    /// (ReconnectReplicas done.)
    Reconnected,
    /// (AskReplicas) every member asked and, at once, which replicas still reach the primary
    /// themselves.
    Replicas {
        plan: Agreement,
        reaching: Vec<String>,
    },
    /// (ReadLease) the Lease's failover record, the wall clock, and whether this pod still
    /// leads.
    Lease {
        last: Option<LastFailover>,
        wall: Timestamp,
        leads: bool,
    },
    /// (FailOver) the failover's outcome (its error on one line), and the wall clock after.
    FailedOver {
        outcome: Result<Done, String>,
        wall: Timestamp,
    },
    /// (LookForOutOfService) the members out of service and why; a rebuild runs already.
    OutOfService {
        found: Vec<(String, OutOfService)>,
        rebuilding: bool,
    },
    /// (Rejoin) the members found holding what the primary lacks.
    Diverged(Vec<String>),
    /// (LookForPeer) the agent pod to hand the leadership to, if this leader shares the
    /// primary's node.
    Peer(Option<String>),
    /// (CheckWritePath) the primary's pod is Ready (takes writes).
    Serving(bool),
    /// (AskMembers) write_path::decide on every member's state.
    Remedy(Remedy),
    /// (MakeWritable) done, or its error on one line.
    MadeWritable(Result<(), String>),
    /// (FailOverNotServing) the failover's outcome, or its error on one line.
    NotServingFailedOver(Result<Done, String>),
    /// (SwitchOverLeaving) the switchover's outcome, or its error on one line.
    SwitchedOverLeaving(Result<Moved, String>),
}

/// One probe of the primary.
#[derive(Debug, Clone)]
pub struct Probe {
    /// When the probe started.
    pub asked: Instant,
    pub answer: Answer,
    /// The primary's pod, if it exists.
    pub pod: Option<PodSeen>,
}

/// The primary's answer to the agent's probe.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Its handshake came.
    Answered,
    /// Its port refused, reset or closed the connection before the handshake (the server
    /// process is ending or not running): why, on one line.
    Refused(String),
    /// Nothing came in time (frozen, or its pod or node unreachable; or no address): why.
    Silent(String),
}

/// What the probe saw of the primary's pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSeen {
    pub uid: Option<String>,
    /// It is being deleted.
    pub deleting: bool,
    /// Its node's kubelet could not be reached (asked only when the port refused): the node's
    /// daemons and containers died while its kernel answers, so nothing restarts the server.
    pub node_down: bool,
}

/// A failover that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub old: String,
    pub candidate: String,
    /// How long until the new primary took writes.
    pub writable_after: Duration,
}

/// A switchover away from a primary whose pod was being deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub old: String,
    pub new: String,
    /// How long writes were refused.
    pub window: Duration,
}

/// What the loop must do, in order; those that say so are answered with an Observation.
#[derive(Debug)]
pub enum Action {
    /// Log and record a decision.
    Decide(Decision),
    /// Set an annotation of the agent's Lease.
    Annotate(LeaseNote, String),
    /// Restart the receiving thread of the replicas not connected to the primary (reconnect.rs;
    /// it says what it did); answered with Reconnected.
    ReconnectReplicas,
    /// Ask every member and which replicas still reach the primary; answered with Replicas.
    AskReplicas,
    /// Read the Lease's failover record; answered with Lease.
    ReadLease,
    /// Run the failover with this plan under the operation lock; answered with FailedOver.
    FailOver(Agreement),
    /// Look for members out of service; answered with OutOfService.
    LookForOutOfService,
    /// Re-clone `pod` (--auto-rebuild), because it `why`, in a task of its own.
    Rebuild { pod: String, why: String },
    /// Bring these idle members back as replicas under the operation lock (rejoin.rs; it says
    /// what it did); answered with Diverged.
    Rejoin(Vec<String>),
    /// Look for an agent pod to hand the leadership to; answered with Peer.
    LookForPeer,
    /// Hand the leadership to this agent pod.
    HandTo(String),
    /// Look whether the primary serves; answered with Serving.
    CheckWritePath,
    /// Ask every member what a primary that takes no write needs; answered with Remedy.
    AskMembers,
    /// Make the primary writable under the lock; answered with MadeWritable.
    MakeWritable,
    /// Fail over a primary that takes no write; answered with NotServingFailedOver.
    FailOverNotServing,
    /// Switch over from the primary, whose pod is being deleted, under the lock (leaving.rs);
    /// answered with SwitchedOverLeaving.
    SwitchOverLeaving,
}

/// The rules: the next state and what to do, on `observation` made at `now`.
pub fn step(
    mut state: State,
    observation: Observation,
    now: Instant,
    setup: &Setup,
) -> (State, Vec<Action>) {
    let mut actions = Vec::new();
    let mut rules = Rules {
        state: &mut state,
        actions: &mut actions,
        now,
        setup,
    };
    match observation {
        Observation::Leadership(leads) => rules.leadership(leads),
        Observation::Record(primary) => rules.record(primary),
        Observation::Probe(probe) => rules.probe(probe),
        Observation::Reconnected => rules.after_answer(),
        Observation::Replicas { plan, reaching } => rules.replicas(plan, reaching),
        Observation::Lease { last, wall, leads } => rules.lease(last.as_ref(), wall, leads),
        Observation::FailedOver { outcome, wall } => rules.failed_over(outcome, wall),
        Observation::OutOfService { found, rebuilding } => rules.out_of_service(found, rebuilding),
        Observation::Diverged(pods) => rules.state.diverged.extend(pods),
        Observation::Peer(peer) => rules.peer(peer),
        Observation::Serving(serving) => rules.serving(serving),
        Observation::Remedy(remedy) => rules.remedy(remedy),
        Observation::MadeWritable(result) => rules.made_writable(result),
        Observation::NotServingFailedOver(outcome) => rules.not_serving_failed_over(outcome),
        Observation::SwitchedOverLeaving(outcome) => rules.switched_over_leaving(outcome),
    }
    (state, actions)
}

/// One step's state, actions and time.
struct Rules<'a> {
    state: &'a mut State,
    actions: &'a mut Vec<Action>,
    now: Instant,
    setup: &'a Setup,
}

impl Rules<'_> {
    fn primary(&self) -> String {
        self.state
            .watched
            .as_ref()
            .map(|w| w.primary.clone())
            .unwrap_or_default()
    }

    fn decide(&mut self, reason: Reason, note: String, pod: Option<&str>) {
        self.actions.push(Action::Decide(Decision {
            reason,
            note,
            pod: pod.map(str::to_string),
        }));
    }

    /// A decision about the primary said once per episode (until it answers again).
    fn once(&mut self, reason: Reason, note: String) {
        if self.state.said != Some(reason) {
            self.state.said = Some(reason);
            let primary = self.primary();
            self.decide(reason, note, Some(&primary));
        }
    }

    /// A decision said once while the primary does not serve (`once` is reset at every
    /// answer, and here the primary answers).
    fn once_not_serving(&mut self, reason: Reason, note: String) {
        if self.state.write_path_said != Some(reason) {
            self.state.write_path_said = Some(reason);
            let primary = self.primary();
            self.decide(reason, note, Some(&primary));
        }
    }

    fn seconds_since(&self, since: Instant) -> f64 {
        self.now.saturating_duration_since(since).as_secs_f64()
    }

    /// The lead taken or lost: watched afresh (and said again in the Lease) by whoever leads.
    fn leadership(&mut self, leads: bool) {
        let setup = self.setup;
        let note = if leads {
            format!(
                "{} leads the agent of cluster {} (Lease {})",
                setup.identity,
                setup.cluster,
                crate::manifests::agent::agent_name(&setup.cluster)
            )
        } else {
            format!("{} stands by", setup.identity)
        };
        self.decide(Reason::AgentLeader, note, None);
        self.state.watched = None;
        self.state.phase = Phase::Watching;
        self.state.write_path = WritePath::Serving;
        self.state.new_leader = leads;
    }

    /// Another primary of record than the one watched: watched from scratch.
    fn record(&mut self, primary: String) {
        if self
            .state
            .watched
            .as_ref()
            .is_some_and(|w| w.primary == primary)
        {
            return;
        }
        self.state.watched = Some(Watched {
            primary: primary.clone(),
            last_answer: None,
            answered_as: None,
        });
        self.state.phase = Phase::Watching;
        self.state.write_path = WritePath::Serving;
        self.state.write_path_said = None;
        // A new primary is a new episode: what was said of the last one may be said of it.
        self.state.said = None;
        self.actions
            .push(Action::Annotate(LeaseNote::Watching, primary));
    }

    fn probe(&mut self, probe: Probe) {
        if self.primary_leaving(&probe) {
            return;
        }
        match &probe.answer {
            Answer::Answered => self.answered(probe),
            Answer::Refused(why) | Answer::Silent(why) => {
                let (why, refused) = (why.clone(), matches!(probe.answer, Answer::Refused(_)));
                self.silent(&probe, &why, refused)
            }
        }
    }

    /// The primary's pod is being deleted while the primary was answering (no silence began):
    /// once per pod, a switchover away from it before its server stops (its preStop hook waits
    /// for it). After that one try, its silence is a lost primary's.
    fn primary_leaving(&mut self, probe: &Probe) -> bool {
        let Some(pod) = probe.pod.as_ref().filter(|p| p.deleting) else {
            return false;
        };
        let uid = pod.uid.clone().unwrap_or_default();
        if !matches!(self.state.phase, Phase::Watching)
            || self.state.leaving_tried.as_deref() == Some(uid.as_str())
        {
            return false;
        }
        self.state.leaving_tried = Some(uid);
        self.actions.push(Action::SwitchOverLeaving);
        true
    }

    fn switched_over_leaving(&mut self, outcome: Result<Moved, String>) {
        let primary = self.primary();
        match outcome {
            Ok(moved) => {
                let note = format!(
                    "primary {}'s pod is being deleted: switched over to {} (writes refused for {:.2}s); {} stops as a replica",
                    moved.old,
                    moved.new,
                    moved.window.as_secs_f64(),
                    moved.old
                );
                self.decide(Reason::PrimaryLeaving, note, Some(&moved.new));
            }
            Err(e) => {
                let note = format!(
                    "primary {primary}'s pod is being deleted and it was not switched over from ({e}): once it stops, it is failed over as a lost primary ({}s, its replicas agreeing)",
                    self.setup.tuning.grace.as_secs()
                );
                self.decide(Reason::PrimaryLeaving, note, Some(&primary));
            }
        }
    }

    /// The primary answered: a silence ends (its waiting replicas reconnected), the episode's
    /// sayings are forgotten.
    fn answered(&mut self, probe: Probe) {
        let new_leader = std::mem::take(&mut self.state.new_leader);
        let primary = self.primary();
        if let Some(watched) = self.state.watched.as_mut() {
            watched.last_answer = Some(probe.asked);
            watched.answered_as = probe.pod.and_then(|p| p.uid);
        }
        let silence = std::mem::take(&mut self.state.phase).silent_since();
        self.state.said = None;
        if let Some((since, _)) = silence {
            let note = format!(
                "primary {primary} answers again after {:.1}s: no failover",
                self.seconds_since(since)
            );
            self.decide(Reason::PrimaryAnswersAgain, note, Some(&primary));
            self.actions.push(Action::ReconnectReplicas);
        } else if new_leader {
            self.actions.push(Action::ReconnectReplicas);
        } else {
            self.after_answer();
        }
    }

    /// After an answer (and any reconnection): every REJOIN_EVERY, members out of service and
    /// the hand-off; then the write path.
    fn after_answer(&mut self) {
        let due = self
            .state
            .rejoin_checked
            .is_none_or(|at| self.now.saturating_duration_since(at) >= REJOIN_EVERY);
        if due {
            self.state.rejoin_checked = Some(self.now);
            self.actions.push(Action::LookForOutOfService);
            self.actions.push(Action::LookForPeer);
        }
        self.actions.push(Action::CheckWritePath);
    }

    /// The primary did not answer: a silence starts or goes on; the replicas are asked from
    /// ASK_AHEAD before the grace ends.
    fn silent(&mut self, probe: &Probe, why: &str, refused: bool) {
        let primary = self.primary();
        let (last_answer, answered_as) = self
            .state
            .watched
            .as_ref()
            .map(|w| (w.last_answer, w.answered_as.clone()))
            .unwrap_or_default();
        let phase = std::mem::take(&mut self.state.phase);
        let (since, was_restarting) = match phase.silent_since() {
            Some(silence) => silence,
            None => {
                let tuning = &self.setup.tuning;
                let note = format!(
                    "primary {primary} does not answer the agent ({why}); failover if it stays so for {}s ({}s once its port refuses or resets a connection and its pod stays: a restart in place) and its replicas agree",
                    tuning.grace.as_secs(),
                    (tuning.grace + tuning.restart_grace).as_secs()
                );
                self.decide(Reason::PrimaryUnreachable, note, Some(&primary));
                (last_answer.unwrap_or(probe.asked), false)
            }
        };
        // A server restarting in place (its port refused or reset a connection) gets the
        // restart grace more; a pod being replaced does not restart in place.
        let restarting =
            !replaced(probe.pod.as_ref(), answered_as.as_deref()) && (was_restarting || refused);
        let agreed_at = match phase {
            Phase::Agreed { at, plan, .. } => Some((at, plan)),
            _ => None,
        };
        let grace = self.grace(restarting);
        self.state.phase = match agreed_at {
            Some((at, plan)) => Phase::Agreed {
                since,
                restarting,
                at,
                plan,
            },
            None => Phase::Silent { since, restarting },
        };
        if self.now.saturating_duration_since(since) + ASK_AHEAD < grace {
            return;
        }
        let fresh = matches!(self.state.phase, Phase::Agreed { at, .. } if self.now.saturating_duration_since(at) < ASK_AHEAD);
        if fresh {
            self.after_agreement();
        } else {
            self.actions.push(Action::AskReplicas);
        }
    }

    fn grace(&self, restarting: bool) -> Duration {
        let tuning = &self.setup.tuning;
        if restarting {
            tuning.grace + tuning.restart_grace
        } else {
            tuning.grace
        }
    }

    /// The replicas' word: a replica still receiving from the primary (and still reaching it
    /// itself) means the agent is cut off.
    fn replicas(&mut self, plan: Agreement, reaching: Vec<String>) {
        let Some((since, restarting)) = self.state.phase.silent_since() else {
            return;
        };
        let connected: Vec<String> = receiving_from_primary(&plan.0.replicas)
            .into_iter()
            .filter(|p| reaching.contains(p))
            .collect();
        if !connected.is_empty() {
            self.state.phase = Phase::Silent { since, restarting };
            if self.now.saturating_duration_since(since) >= self.grace(restarting) {
                let note = format!(
                    "primary {} does not answer the agent for {:.0}s but replica(s) {} still receive from it: no failover while they do (the agent is cut off, or they have not noticed yet)",
                    self.primary(),
                    self.seconds_since(since),
                    connected.join(", ")
                );
                self.once(Reason::AgentPartitioned, note);
            }
            return;
        }
        self.state.phase = Phase::Agreed {
            since,
            restarting,
            at: self.now,
            plan,
        };
        self.after_agreement();
    }

    /// With the replicas' agreement: past the grace, the plan is taken and the cooldown asked.
    fn after_agreement(&mut self) {
        let Some((since, restarting)) = self.state.phase.silent_since() else {
            return;
        };
        if self.now.saturating_duration_since(since) < self.grace(restarting) {
            return;
        }
        if let Phase::Agreed { plan, .. } = std::mem::take(&mut self.state.phase) {
            self.state.phase = Phase::Deciding {
                since,
                restarting,
                plan,
            };
            self.actions.push(Action::ReadLease);
        } else {
            self.state.phase = Phase::Silent { since, restarting };
        }
    }

    /// The cooldown, the plan's refusals, and the lead decide whether the failover runs.
    fn lease(&mut self, last: Option<&LastFailover>, wall: Timestamp, leads: bool) {
        let Phase::Deciding {
            since,
            restarting,
            plan,
        } = std::mem::take(&mut self.state.phase)
        else {
            return;
        };
        self.state.phase = Phase::Silent { since, restarting };
        let primary = self.primary();
        let within_cooldown = match cooldown::decide(last, self.setup.tuning.cooldown, wall) {
            cooldown::Verdict::Free => false,
            cooldown::Verdict::Second => true,
            cooldown::Verdict::Wait(why) => {
                let note = format!(
                    "primary {primary} is lost, but {why}: no failover; run kubectl mysqlha failover {} to move it",
                    self.setup.cluster
                );
                self.once(Reason::FailoverCooldown, note);
                return;
            }
        };
        if let Some(refusal) = plan.0.plan.go_ahead().err() {
            let note = format!(
                "primary {primary} is lost ({} replica(s) agree) but no failover: {}",
                plan.0.replicas.len(),
                crate::base::one_line(&refusal)
            );
            self.once(Reason::FailoverRefused, note);
            return;
        }
        if !leads {
            return;
        }
        let note = format!(
            "primary {primary} has not answered for {:.1}s and none of its {} replica(s) receives from it: failing over",
            self.seconds_since(since),
            plan.0.replicas.len()
        );
        self.decide(Reason::PrimaryLost, note, Some(&primary));
        self.state.phase = Phase::FailingOver {
            since,
            restarting,
            started: self.now,
            within_cooldown,
        };
        self.actions.push(Action::FailOver(plan));
    }

    /// A failover done starts a cooldown (in the Lease); one that did not happen is said once.
    fn failed_over(&mut self, outcome: Result<Done, String>, wall: Timestamp) {
        let Phase::FailingOver {
            since,
            restarting,
            started,
            within_cooldown,
        } = self.state.phase
        else {
            return;
        };
        let done = match outcome {
            Ok(done) => done,
            Err(e) => {
                self.state.phase = Phase::Silent { since, restarting };
                let note = format!(
                    "automatic failover of {} did not happen after {:.1}s: {e}",
                    self.primary(),
                    self.seconds_since(started)
                );
                self.once(Reason::FailoverRefused, note);
                return;
            }
        };
        let cooldown = self.setup.tuning.cooldown;
        let record = LastFailover {
            at: wall,
            promoted: done.candidate.clone(),
            within_cooldown,
        };
        let until = record.cooldown_until(cooldown);
        let cooling = if within_cooldown {
            format!(
                "the second within a cooldown: a primary lost before {until} waits for a person"
            )
        } else {
            format!("cooldown {}s", cooldown.as_secs())
        };
        let note = format!(
            "failed over from {} to {} in {:.2}s ({:.1}s after the primary stopped answering); {cooling}",
            done.old,
            done.candidate,
            done.writable_after.as_secs_f64(),
            self.seconds_since(since),
        );
        self.decide(Reason::AutomaticFailover, note, Some(&done.candidate));
        self.state.phase = Phase::Watching;
        self.actions.push(Action::Annotate(
            LeaseNote::LastFailoverRecord,
            record.to_annotation(),
        ));
        self.actions.push(Action::Annotate(
            LeaseNote::LastFailover,
            format!(
                "{wall} {} → {} in {:.2}s",
                done.old,
                done.candidate,
                done.writable_after.as_secs_f64()
            ),
        ));
        self.actions.push(Action::Annotate(
            LeaseNote::CooldownUntil,
            until.to_string(),
        ));
    }

    /// Members out of service: one rebuilt (--auto-rebuild), the idle ones not known to
    /// diverge rejoined.
    fn out_of_service(&mut self, found: Vec<(String, OutOfService)>, rebuilding: bool) {
        let diverged = &mut self.state.diverged;
        diverged.retain(|p| found.iter().any(|(pod, _)| pod == p));
        if self.setup.tuning.auto_rebuild && !rebuilding {
            if let Some((pod, why)) = rebuild::needs_rebuild(&found, diverged) {
                self.actions.push(Action::Rebuild { pod, why });
            }
        }
        let idle: Vec<String> = found
            .into_iter()
            .filter(|(pod, why)| *why == OutOfService::Idle && !diverged.contains(pod))
            .map(|(pod, _)| pod)
            .collect();
        if !idle.is_empty() {
            self.actions.push(Action::Rejoin(idle));
        }
    }

    /// A leader on the primary's node hands the lead to a peer elsewhere.
    fn peer(&mut self, peer: Option<String>) {
        let Some(peer) = peer else { return };
        let note = format!(
            "this agent shares primary {}'s node: the leadership goes to {peer} on another node, which does not fail with it",
            self.primary()
        );
        self.decide(Reason::AgentHandOff, note, None);
        self.actions.push(Action::HandTo(peer));
    }

    /// The write path: past the grace without serving, every member is asked.
    fn serving(&mut self, serving: bool) {
        if serving {
            self.state.write_path = WritePath::Serving;
            self.state.write_path_said = None;
            return;
        }
        let since = match self.state.write_path {
            WritePath::Serving => self.now,
            WritePath::NotServing { since } | WritePath::Remedying { since, .. } => since,
        };
        self.state.write_path = WritePath::NotServing { since };
        if self.now.saturating_duration_since(since) < self.setup.tuning.grace {
            return;
        }
        self.actions.push(Action::AskMembers);
    }

    /// What the members' states call for (write_path::decide).
    fn remedy(&mut self, remedy: Remedy) {
        let WritePath::NotServing { since } = self.state.write_path else {
            return;
        };
        let waited = self.now.saturating_duration_since(since);
        let secs = waited.as_secs_f64();
        let primary = self.primary();
        match remedy {
            Remedy::NothingToDo(why) => self.once_not_serving(
                Reason::PrimaryNotReady,
                format!("primary {primary} answers but has not been ready for {secs:.0}s: {why}"),
            ),
            Remedy::Refuse(why) => self.once_not_serving(
                Reason::PrimaryNotServing,
                format!("primary {primary} answers but has taken no write for {secs:.0}s; nothing done: {why}"),
            ),
            Remedy::MakeWritable => {
                self.state.write_path = WritePath::Remedying { since, waited };
                self.actions.push(Action::MakeWritable);
            }
            Remedy::FailOver(why) => {
                self.decide(
                    Reason::PrimaryNotServing,
                    format!("primary {primary} answers but has taken no write for {secs:.0}s and cannot be made writable: {why}: failing over"),
                    Some(&primary),
                );
                self.state.write_path = WritePath::Remedying { since, waited };
                self.actions.push(Action::FailOverNotServing);
            }
        }
    }

    fn made_writable(&mut self, result: Result<(), String>) {
        let WritePath::Remedying { since, waited } = self.state.write_path else {
            return;
        };
        let primary = self.primary();
        match result {
            Ok(()) => {
                self.decide(
                    Reason::PrimaryMadeWritable,
                    format!("primary {primary} answered but was read-only for {:.0}s (no member writable, none holding a transaction it lacks): made writable", waited.as_secs_f64()),
                    Some(&primary),
                );
                self.state.write_path = WritePath::Serving;
            }
            Err(e) => self.not_fixed_now(since, &e),
        }
    }

    fn not_serving_failed_over(&mut self, outcome: Result<Done, String>) {
        let WritePath::Remedying { since, .. } = self.state.write_path else {
            return;
        };
        match outcome {
            Ok(done) => {
                let note = format!(
                    "failed over from {} to {} in {:.2}s (its primary took no write)",
                    done.old,
                    done.candidate,
                    done.writable_after.as_secs_f64()
                );
                self.decide(Reason::AutomaticFailover, note, Some(&done.candidate));
                self.state.write_path = WritePath::Serving;
            }
            Err(e) => self.not_fixed_now(since, &e),
        }
    }

    fn not_fixed_now(&mut self, since: Instant, e: &str) {
        self.state.write_path = WritePath::NotServing { since };
        let note = format!(
            "primary {} takes no write, not fixed now: {e}",
            self.primary()
        );
        self.once_not_serving(Reason::PrimaryNotServing, note);
    }
}

/// The primary's pod is gone, going, or not the pod that last answered: it is being replaced,
/// not restarting in place. A new pod takes longer than a restart (scheduling, init containers,
/// the server's start), and one evicted from a drained node may not come back at all. A pod
/// whose node's kubelet is unreachable will not restart in place either (its refused port is a
/// dead node's kernel, not a server starting).
fn replaced(pod: Option<&PodSeen>, answered_as: Option<&str>) -> bool {
    let Some(pod) = pod else { return true };
    pod.deleting || pod.node_down || answered_as.is_some_and(|uid| pod.uid.as_deref() != Some(uid))
}

/// The replicas whose IO thread is connected (to the primary: they replicate from it).
fn receiving_from_primary(replicas: &[(String, ServerState)]) -> Vec<String> {
    replicas
        .iter()
        .filter(|(_, s)| {
            s.replication
                .as_ref()
                .is_some_and(|r| r.receiver == crate::db::engine::Receiver::Connected)
        })
        .map(|(p, _)| p.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodPhase;
    use crate::ops::plan::Observed;

    const GRACE: u64 = 10;
    const RESTART_GRACE: u64 = 20;
    const COOLDOWN: u64 = 300;

    fn setup(auto_rebuild: bool) -> Setup {
        Setup {
            identity: "agent-a".into(),
            cluster: "shop".into(),
            tuning: Settings {
                grace: Duration::from_secs(GRACE),
                restart_grace: Duration::from_secs(RESTART_GRACE),
                cooldown: Duration::from_secs(COOLDOWN),
                auto_rebuild,
            },
        }
    }

    /// A MariaDB member's state; `io`: its receiving thread (None: it does not replicate).
    fn server(history: &str, io: Option<&str>) -> ServerState {
        let row = crate::db::sqltext::row;
        let vars = row(&[
            ("read_only", "1"),
            ("current", history),
            ("binlog_state", history),
        ]);
        let slave = io.map(|io| {
            row(&[
                ("Master_Host", "shop-0"),
                ("Slave_IO_Running", io),
                ("Slave_SQL_Running", "Yes"),
                ("Gtid_IO_Pos", history),
            ])
        });
        crate::db::engine::Engine::Mariadb
            .parse_state(&[vars], slave.as_slice())
            .unwrap()
    }

    fn member(name: &str, state: Option<ServerState>) -> Observed {
        Observed {
            name: name.into(),
            primary: name == "shop-0",
            phase: PodPhase::Running { ready: true },
            silence: state.is_none().then(|| "does not answer within 5s".into()),
            reached: state.is_some(),
            state,
        }
    }

    /// The plan made on the silent primary shop-0 and these replicas.
    fn plan(replicas: Vec<Observed>, reaching: &[&str]) -> Observation {
        let mut observed = vec![member("shop-0", None)];
        observed.extend(replicas);
        let reaching: Vec<String> = reaching.iter().map(|r| r.to_string()).collect();
        let plan = crate::ops::plan::failover::decide(
            "shop",
            "shop-0",
            &observed,
            None,
            false,
            Some(&reaching),
        );
        Observation::Replicas {
            plan: Agreement(Box::new(plan)),
            reaching,
        }
    }

    /// Two replicas that no longer receive from the primary: they agree, shop-1 is promoted.
    fn agreeing() -> Observation {
        plan(
            vec![
                member("shop-1", Some(server("0-1-100", Some("Connecting")))),
                member("shop-2", Some(server("0-1-99", Some("Connecting")))),
            ],
            &[],
        )
    }

    /// What was done after a failover that went through.
    fn done() -> Done {
        Done {
            old: "shop-0".into(),
            candidate: "shop-1".into(),
            writable_after: Duration::from_millis(1500),
        }
    }

    fn wall(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// The rules, driven through one scenario on a clock that starts at 0 s.
    struct Bed {
        state: State,
        setup: Setup,
        base: Instant,
    }

    impl Bed {
        fn new() -> Self {
            Self::with(setup(false))
        }

        fn with(setup: Setup) -> Self {
            let mut bed = Bed {
                state: State::default(),
                setup,
                base: Instant::now(),
            };
            bed.see(Observation::Record("shop-0".into()), 0.0);
            bed
        }

        fn at(&self, secs: f64) -> Instant {
            self.base + Duration::from_secs_f64(secs)
        }

        /// Steps on `observation` made at `secs`: the actions.
        fn see(&mut self, observation: Observation, secs: f64) -> Vec<Action> {
            let (state, actions) = step(
                std::mem::take(&mut self.state),
                observation,
                self.at(secs),
                &self.setup,
            );
            self.state = state;
            actions
        }

        /// Steps and names the actions.
        fn tags(&mut self, observation: Observation, secs: f64) -> Vec<String> {
            tags(&self.see(observation, secs))
        }

        fn probe(&self, answer: Answer, uid: Option<&str>, secs: f64) -> Observation {
            Observation::Probe(Probe {
                asked: self.at(secs),
                answer,
                pod: uid.map(|uid| PodSeen {
                    uid: Some(uid.into()),
                    deleting: false,
                    node_down: false,
                }),
            })
        }

        /// The primary (pod uid-1) answers the probe started at `secs`.
        fn answers(&mut self, secs: f64) -> Vec<String> {
            let probe = self.probe(Answer::Answered, Some("uid-1"), secs);
            self.tags(probe, secs)
        }

        /// The primary (pod uid-1) does not answer: nothing came in time.
        fn silent(&mut self, secs: f64) -> Vec<String> {
            let probe = self.probe(Answer::Silent("no handshake".into()), Some("uid-1"), secs);
            self.tags(probe, secs)
        }

        /// The primary's port (pod uid-1) refused the connection.
        fn refused(&mut self, secs: f64) -> Vec<String> {
            let probe = self.probe(Answer::Refused("refused".into()), Some("uid-1"), secs);
            self.tags(probe, secs)
        }

        /// The Lease holds `last`; this pod leads.
        fn lease(&mut self, last: Option<LastFailover>, secs: f64) -> Vec<Action> {
            self.see(
                Observation::Lease {
                    last,
                    wall: wall("2026-12-02T00:10:00Z"),
                    leads: true,
                },
                secs,
            )
        }

        /// Silent since 0 s (its last answer), the replicas asked at 7 s agree, the Lease
        /// asked at 10 s is free: the actions then.
        fn lost_at_ten(&mut self) -> Vec<Action> {
            self.answers(0.0);
            self.silent(1.0);
            assert_eq!(self.silent(7.0), ["AskReplicas"]);
            assert!(self.see(agreeing(), 7.5).is_empty());
            assert_eq!(self.silent(10.0), ["ReadLease"]);
            self.lease(None, 10.0)
        }
    }

    /// Short names of actions, decisions by their reason.
    fn tags(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| match a {
                Action::Decide(d) => d.reason.as_str().to_string(),
                Action::Annotate(note, _) => format!("Annotate {note:?}"),
                Action::FailOver(_) => "FailOver".to_string(),
                Action::Rebuild { pod, .. } => format!("Rebuild {pod}"),
                Action::Rejoin(pods) => format!("Rejoin {}", pods.join(",")),
                Action::HandTo(peer) => format!("HandTo {peer}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn notes(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Decide(d) => Some(d.note.clone()),
                _ => None,
            })
            .collect()
    }

    // Leadership and the primary of record.

    #[test]
    fn taking_the_lead_is_said_and_the_primary_is_watched_afresh() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        let actions = bed.see(Observation::Leadership(true), 1.0);
        assert_eq!(tags(&actions), ["AgentLeader"], "only said");
        assert_eq!(
            notes(&actions),
            ["agent-a leads the agent of cluster shop (Lease shop-agent)"]
        );
        assert!(bed.state.watched.is_none() && bed.state.new_leader);
        assert_eq!(
            bed.tags(Observation::Record("shop-0".into()), 2.0),
            ["Annotate Watching"]
        );
    }

    #[test]
    fn standing_by_is_said_and_forgets_the_primary() {
        let mut bed = Bed::new();
        let actions = bed.see(Observation::Leadership(false), 1.0);
        assert_eq!(tags(&actions), ["AgentLeader"], "only said");
        assert_eq!(notes(&actions), ["agent-a stands by"]);
        assert!(bed.state.watched.is_none() && !bed.state.new_leader);
    }

    #[test]
    fn a_new_primary_of_record_is_said_in_the_lease() {
        let mut state = State::default();
        let (next, actions) = step(
            std::mem::take(&mut state),
            Observation::Record("shop-0".into()),
            Instant::now(),
            &setup(false),
        );
        assert!(
            matches!(&actions[..], [Action::Annotate(LeaseNote::Watching, p)] if p == "shop-0")
        );
        assert_eq!(next.watched.unwrap().primary, "shop-0");
    }

    #[test]
    fn the_same_primary_of_record_changes_nothing() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        assert!(bed
            .tags(Observation::Record("shop-0".into()), 1.0)
            .is_empty());
        assert!(bed.state.watched.unwrap().last_answer.is_some());
    }

    #[test]
    fn a_new_primary_of_record_forgets_the_silence_of_the_old_one() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(1.0);
        bed.tags(Observation::Record("shop-1".into()), 2.0);
        assert!(matches!(bed.state.phase, Phase::Watching));
        let watched = bed.state.watched.clone().unwrap();
        assert_eq!((watched.last_answer, watched.answered_as), (None, None));
    }

    // A primary that answers.

    #[test]
    fn an_answer_looks_for_members_out_of_service_and_a_peer_then_at_the_write_path() {
        let mut bed = Bed::new();
        assert_eq!(
            bed.answers(0.0),
            ["LookForOutOfService", "LookForPeer", "CheckWritePath"]
        );
    }

    #[test]
    fn members_out_of_service_are_looked_for_every_five_seconds() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        assert_eq!(bed.answers(4.9), ["CheckWritePath"]);
        assert_eq!(
            bed.answers(5.0),
            ["LookForOutOfService", "LookForPeer", "CheckWritePath"]
        );
    }

    #[test]
    fn a_new_leader_reconnects_the_replicas_at_its_first_answer_only() {
        let mut bed = Bed::new();
        bed.see(Observation::Leadership(true), 0.0);
        bed.see(Observation::Record("shop-0".into()), 0.0);
        assert_eq!(bed.answers(0.0), ["ReconnectReplicas"]);
        assert_eq!(
            bed.tags(Observation::Reconnected, 0.5),
            ["LookForOutOfService", "LookForPeer", "CheckWritePath"]
        );
        assert_eq!(bed.answers(1.0), ["CheckWritePath"]);
    }

    #[test]
    fn an_answer_remembers_when_and_as_which_pod() {
        let mut bed = Bed::new();
        bed.answers(3.0);
        let watched = bed.state.watched.clone().unwrap();
        assert_eq!(watched.last_answer, Some(bed.at(3.0)));
        assert_eq!(watched.answered_as.as_deref(), Some("uid-1"));
    }

    // A silence and the grace.

    #[test]
    fn the_first_silent_probe_is_said_with_both_graces() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        let probe = bed.probe(Answer::Silent("no handshake".into()), Some("uid-1"), 1.0);
        let actions = bed.see(probe, 1.8);
        assert_eq!(tags(&actions), ["PrimaryUnreachable"]);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 does not answer the agent (no handshake); failover if it stays so for 10s (30s once its port refuses or resets a connection and its pod stays: a restart in place) and its replicas agree"]
        );
    }

    #[test]
    fn the_unreachable_primary_is_said_once_per_silence() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        assert_eq!(bed.silent(1.0), ["PrimaryUnreachable"]);
        assert!(bed.silent(2.0).is_empty());
        bed.answers(3.0);
        assert_eq!(bed.silent(4.0), ["PrimaryUnreachable"]);
    }

    #[test]
    fn a_silence_counts_from_the_last_answer() {
        let mut bed = Bed::new();
        bed.answers(2.0);
        bed.silent(3.0);
        assert!(matches!(bed.state.phase, Phase::Silent { since, .. } if since == bed.at(2.0)));
    }

    #[test]
    fn a_primary_never_heard_is_silent_from_the_first_probe() {
        let mut bed = Bed::new();
        bed.silent(4.0);
        assert!(matches!(bed.state.phase, Phase::Silent { since, .. } if since == bed.at(4.0)));
    }

    #[test]
    fn the_replicas_are_asked_from_three_seconds_before_the_grace_ends() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(1.0);
        assert!(bed.silent(6.9).is_empty());
        assert_eq!(bed.silent(7.0), ["AskReplicas"]);
    }

    #[test]
    fn the_replicas_agreeing_before_the_grace_ends_is_no_failover_yet() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        assert!(bed.see(agreeing(), 7.5).is_empty());
        assert!(matches!(bed.state.phase, Phase::Agreed { .. }));
        assert!(bed.silent(9.9).is_empty(), "an agreement of 2.4 s is fresh");
    }

    #[test]
    fn past_the_grace_a_fresh_agreement_asks_the_lease_without_asking_the_replicas_again() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        bed.see(agreeing(), 7.5);
        assert_eq!(bed.silent(10.0), ["ReadLease"]);
        assert!(matches!(bed.state.phase, Phase::Deciding { .. }));
    }

    #[test]
    fn an_agreement_three_seconds_old_is_asked_again() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        bed.see(agreeing(), 7.0);
        assert_eq!(bed.silent(10.0), ["AskReplicas"]);
        assert_eq!(bed.tags(agreeing(), 10.5), ["ReadLease"]);
    }

    #[test]
    fn a_lost_primary_is_failed_over_past_the_grace() {
        let mut bed = Bed::new();
        let actions = bed.lost_at_ten();
        assert_eq!(tags(&actions), ["PrimaryLost", "FailOver"]);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 has not answered for 10.0s and none of its 2 replica(s) receives from it: failing over"]
        );
        assert!(matches!(
            bed.state.phase,
            Phase::FailingOver {
                within_cooldown: false,
                ..
            }
        ));
    }

    #[test]
    fn the_failover_runs_on_the_agreed_plan() {
        let mut bed = Bed::new();
        let actions = bed.lost_at_ten();
        let Some(Action::FailOver(plan)) = actions.last() else {
            panic!("no failover: {actions:?}");
        };
        assert_eq!(plan.0.plan.candidate.as_deref(), Some("shop-1"));
    }

    #[test]
    fn a_failover_done_is_said_and_its_cooldown_kept_in_the_lease() {
        let mut bed = Bed::new();
        bed.lost_at_ten();
        let actions = bed.see(
            Observation::FailedOver {
                outcome: Ok(done()),
                wall: wall("2026-12-02T00:10:02Z"),
            },
            12.0,
        );
        assert_eq!(
            tags(&actions),
            [
                "AutomaticFailover",
                "Annotate LastFailoverRecord",
                "Annotate LastFailover",
                "Annotate CooldownUntil"
            ]
        );
        assert_eq!(
            notes(&actions),
            ["failed over from shop-0 to shop-1 in 1.50s (12.0s after the primary stopped answering); cooldown 300s"]
        );
        let Action::Annotate(_, record) = &actions[1] else {
            panic!()
        };
        let record = LastFailover::from_annotation(Some(record)).unwrap();
        assert_eq!(
            (record.promoted.as_str(), record.within_cooldown),
            ("shop-1", false)
        );
        assert!(
            matches!(&actions[2], Action::Annotate(_, v) if v == "2026-12-02T00:10:02Z shop-0 → shop-1 in 1.50s")
        );
        assert!(matches!(&actions[3], Action::Annotate(_, v) if v == "2026-12-02T00:15:02Z"));
        assert!(matches!(bed.state.phase, Phase::Watching));
    }

    #[test]
    fn a_failover_that_did_not_happen_is_said_once_and_the_replicas_asked_again() {
        let mut bed = Bed::new();
        bed.lost_at_ten();
        let failed = || Observation::FailedOver {
            outcome: Err("primary shop-0 answers again".into()),
            wall: wall("2026-12-02T00:10:02Z"),
        };
        let actions = bed.see(failed(), 12.5);
        assert_eq!(
            notes(&actions),
            ["automatic failover of shop-0 did not happen after 2.5s: primary shop-0 answers again"]
        );
        assert_eq!(bed.silent(13.0), ["AskReplicas"]);
        bed.see(agreeing(), 13.2);
        bed.lease(None, 13.3);
        assert!(bed.see(failed(), 14.0).is_empty(), "said once");
    }

    #[test]
    fn a_pod_that_no_longer_leads_does_not_fail_over() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        bed.see(agreeing(), 7.5);
        bed.silent(10.0);
        let actions = bed.see(
            Observation::Lease {
                last: None,
                wall: wall("2026-12-02T00:10:00Z"),
                leads: false,
            },
            10.0,
        );
        assert!(actions.is_empty());
        assert!(matches!(bed.state.phase, Phase::Silent { .. }));
    }

    // The false alarm.

    #[test]
    fn a_primary_that_answers_again_before_the_grace_ends_is_not_failed_over() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(1.0);
        let probe = bed.probe(Answer::Answered, Some("uid-1"), 6.0);
        let actions = bed.see(probe, 6.4);
        assert_eq!(tags(&actions), ["PrimaryAnswersAgain", "ReconnectReplicas"]);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 answers again after 6.4s: no failover"]
        );
        assert!(matches!(bed.state.phase, Phase::Watching));
    }

    #[test]
    fn a_primary_that_answers_again_after_the_replicas_agreed_drops_their_plan() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        bed.see(agreeing(), 7.5);
        assert_eq!(
            bed.answers(9.0),
            ["PrimaryAnswersAgain", "ReconnectReplicas"]
        );
        assert!(matches!(bed.state.phase, Phase::Watching));
        assert_eq!(bed.silent(10.0), ["PrimaryUnreachable"]);
    }

    #[test]
    fn after_reconnecting_an_answering_primary_is_looked_after_as_usual() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(1.0);
        bed.answers(6.0);
        assert_eq!(
            bed.tags(Observation::Reconnected, 6.5),
            ["LookForOutOfService", "LookForPeer", "CheckWritePath"]
        );
    }

    // The restart grace.

    #[test]
    fn a_refused_connection_adds_the_restart_grace() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.refused(1.0);
        assert!(bed.silent(10.0).is_empty(), "no asking at the plain grace");
        assert!(bed.silent(26.9).is_empty());
        assert_eq!(
            bed.silent(27.0),
            ["AskReplicas"],
            "restarting stays for the silence"
        );
    }

    #[test]
    fn a_killed_primary_restarting_in_place_is_not_failed_over() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        for secs in 1..=20 {
            assert!(bed
                .refused(secs as f64)
                .iter()
                .all(|t| t == "PrimaryUnreachable"));
        }
        assert_eq!(
            bed.answers(21.0),
            ["PrimaryAnswersAgain", "ReconnectReplicas"]
        );
    }

    #[test]
    fn a_restarting_primary_is_failed_over_after_both_graces() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.refused(1.0);
        assert_eq!(bed.refused(27.0), ["AskReplicas"]);
        assert!(bed.see(agreeing(), 27.5).is_empty());
        assert_eq!(bed.refused(30.0), ["ReadLease"]);
    }

    #[test]
    fn a_pod_remade_during_the_silence_gets_no_restart_grace() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.refused(1.0);
        let remade = bed.probe(Answer::Refused("refused".into()), Some("uid-2"), 7.0);
        assert_eq!(bed.tags(remade, 7.0), ["AskReplicas"]);
        assert!(matches!(
            bed.state.phase,
            Phase::Silent {
                restarting: false,
                ..
            }
        ));
    }

    #[test]
    fn a_pod_being_deleted_gone_or_on_a_dead_node_gets_no_restart_grace() {
        for pod in [
            Some(PodSeen {
                uid: Some("uid-1".into()),
                deleting: true,
                node_down: false,
            }),
            // Its node's kubelet unreachable: the refusal is a dead node's kernel.
            Some(PodSeen {
                uid: Some("uid-1".into()),
                deleting: false,
                node_down: true,
            }),
            None,
        ] {
            let mut bed = Bed::new();
            bed.answers(0.0);
            // (A switchover away from the pod being deleted was tried already.)
            bed.state.leaving_tried = Some("uid-1".into());
            let probe = Observation::Probe(Probe {
                asked: bed.at(7.0),
                answer: Answer::Refused("refused".into()),
                pod: pod.clone(),
            });
            assert_eq!(
                bed.tags(probe, 7.0),
                ["PrimaryUnreachable", "AskReplicas"],
                "{pod:?}"
            );
        }
    }

    // A primary whose pod is being deleted (a drain, an eviction, kubectl delete pod).

    fn deleting(bed: &Bed, uid: &str, answer: Answer, secs: f64) -> Observation {
        Observation::Probe(Probe {
            asked: bed.at(secs),
            answer,
            pod: Some(PodSeen {
                uid: Some(uid.into()),
                deleting: true,
                node_down: false,
            }),
        })
    }

    fn moved() -> Moved {
        Moved {
            old: "shop-0".into(),
            new: "shop-1".into(),
            window: Duration::from_millis(420),
        }
    }

    #[test]
    fn a_primary_whose_pod_is_deleted_is_switched_over_from_once() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        // Its address is gone from the probe (the pod is being deleted): no silence begins,
        // the switchover is asked for.
        let probe = deleting(&bed, "uid-1", Answer::Silent("pod has no IP".into()), 1.0);
        assert_eq!(bed.tags(probe, 1.0), ["SwitchOverLeaving"]);
        assert!(matches!(bed.state.phase, Phase::Watching));
        let done = bed.see(Observation::SwitchedOverLeaving(Ok(moved())), 1.5);
        assert_eq!(tags(&done), ["PrimaryLeaving"]);
        assert_eq!(
            notes(&done),
            ["primary shop-0's pod is being deleted: switched over to shop-1 (writes refused for 0.42s); shop-0 stops as a replica"]
        );
        // The same pod, still being deleted, before the record was read again: not twice.
        let probe = deleting(&bed, "uid-1", Answer::Silent("pod has no IP".into()), 2.0);
        assert_eq!(bed.tags(probe, 2.0), ["PrimaryUnreachable"]);
    }

    #[test]
    fn a_switchover_that_fails_leaves_the_failover_path() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        let probe = deleting(&bed, "uid-1", Answer::Silent("pod has no IP".into()), 1.0);
        assert_eq!(bed.tags(probe, 1.0), ["SwitchOverLeaving"]);
        let failed = bed.see(
            Observation::SwitchedOverLeaving(Err(
                "cluster shop has no healthy replica to switch over to".into(),
            )),
            1.5,
        );
        assert_eq!(tags(&failed), ["PrimaryLeaving"]);
        assert!(notes(&failed)[0].contains("not switched over from (cluster shop has no healthy replica to switch over to): once it stops, it is failed over as a lost primary"));
        // Its silence then counts from its last answer, with no restart grace (being replaced).
        let probe = deleting(&bed, "uid-1", Answer::Refused("refused".into()), 2.0);
        assert_eq!(bed.tags(probe, 2.0), ["PrimaryUnreachable"]);
        let probe = deleting(&bed, "uid-1", Answer::Refused("refused".into()), 7.0);
        assert_eq!(bed.tags(probe, 7.0), ["AskReplicas"]);
    }

    #[test]
    fn a_pod_deleted_during_a_silence_is_failed_over_not_switched_over() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(1.0);
        let probe = deleting(&bed, "uid-1", Answer::Silent("pod has no IP".into()), 2.0);
        assert!(bed.tags(probe, 2.0).is_empty(), "the silence goes on");
        assert!(bed.state.leaving_tried.is_none());
    }

    #[test]
    fn every_new_pod_of_the_primary_is_switched_over_from_when_deleted() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        let probe = deleting(&bed, "uid-1", Answer::Silent("pod has no IP".into()), 1.0);
        assert_eq!(bed.tags(probe, 1.0), ["SwitchOverLeaving"]);
        bed.see(
            Observation::SwitchedOverLeaving(Err("lock held".into())),
            1.2,
        );
        // Its pod came back (uid-2) and answered; deleted again later.
        let probe = bed.probe(Answer::Answered, Some("uid-2"), 60.0);
        bed.tags(probe, 60.0);
        let probe = deleting(&bed, "uid-2", Answer::Silent("pod has no IP".into()), 61.0);
        assert_eq!(bed.tags(probe, 61.0), ["SwitchOverLeaving"]);
    }

    #[test]
    fn a_pod_never_heard_from_may_restart_in_place() {
        let mut bed = Bed::new();
        bed.refused(0.0);
        assert!(matches!(
            bed.state.phase,
            Phase::Silent {
                restarting: true,
                ..
            }
        ));
    }

    #[test]
    fn a_silence_of_a_pod_with_no_address_is_no_restart() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        let probe = bed.probe(
            Answer::Silent("pod shop-0 has no IP".into()),
            Some("uid-1"),
            1.0,
        );
        bed.see(probe, 1.0);
        assert!(matches!(
            bed.state.phase,
            Phase::Silent {
                restarting: false,
                ..
            }
        ));
    }

    // The agent cut off.

    /// shop-1 still receives from the primary; `reaching`: it still reaches it itself.
    fn one_still_receiving(reaching: &[&str]) -> Observation {
        plan(
            vec![
                member("shop-1", Some(server("0-1-100", Some("Yes")))),
                member("shop-2", Some(server("0-1-99", Some("Connecting")))),
            ],
            reaching,
        )
    }

    #[test]
    fn a_replica_still_receiving_means_the_agent_is_cut_off_said_once() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        assert!(
            bed.see(one_still_receiving(&["shop-1"]), 7.5).is_empty(),
            "not said before the grace"
        );
        assert_eq!(bed.silent(10.0), ["AskReplicas"]);
        let actions = bed.see(one_still_receiving(&["shop-1"]), 10.4);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 does not answer the agent for 10s but replica(s) shop-1 still receive from it: no failover while they do (the agent is cut off, or they have not noticed yet)"]
        );
        assert_eq!(bed.silent(11.0), ["AskReplicas"]);
        assert!(bed.see(one_still_receiving(&["shop-1"]), 11.4).is_empty());
        assert!(matches!(bed.state.phase, Phase::Silent { .. }));
    }

    #[test]
    fn a_replica_connected_but_no_longer_reaching_the_primary_agrees() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        assert_eq!(bed.tags(one_still_receiving(&[]), 10.0), ["ReadLease"]);
    }

    #[test]
    fn a_partition_forgets_an_earlier_agreement() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(7.0);
        bed.see(agreeing(), 7.0);
        bed.silent(10.0);
        bed.see(one_still_receiving(&["shop-1"]), 10.0);
        assert!(matches!(bed.state.phase, Phase::Silent { .. }));
    }

    // Refusals.

    #[test]
    fn a_replica_that_cannot_be_reached_refuses_the_failover_said_once() {
        let mut bed = Bed::new();
        let with_one_unreachable = || {
            plan(
                vec![
                    member("shop-1", Some(server("0-1-100", Some("Connecting")))),
                    member("shop-2", None),
                ],
                &[],
            )
        };
        bed.answers(0.0);
        bed.silent(10.0);
        assert_eq!(bed.tags(with_one_unreachable(), 10.0), ["ReadLease"]);
        let actions = bed.lease(None, 10.0);
        assert_eq!(tags(&actions), ["FailoverRefused"]);
        assert!(notes(&actions)[0].starts_with(
            "primary shop-0 is lost (1 replica(s) agree) but no failover: replica(s) shop-2 cannot be reached"
        ));
        bed.silent(11.0);
        bed.see(with_one_unreachable(), 11.0);
        assert!(bed.lease(None, 11.0).is_empty(), "said once");
    }

    #[test]
    fn a_member_out_of_service_holding_more_refuses_the_failover() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        bed.see(
            plan(
                vec![
                    member("shop-1", Some(server("0-1-100", Some("Connecting")))),
                    member("shop-2", Some(server("0-1-105", None))),
                ],
                &[],
            ),
            10.0,
        );
        let actions = bed.lease(None, 10.0);
        assert_eq!(tags(&actions), ["FailoverRefused"]);
        assert!(
            notes(&actions)[0].contains(
                "shop-2 answers but does not replicate, and holds 5 transaction(s) shop-1 lacks"
            ),
            "{:?}",
            notes(&actions)
        );
    }

    #[test]
    fn a_refusal_is_said_again_after_the_primary_answered() {
        let mut bed = Bed::new();
        let refused = |bed: &mut Bed, secs: f64| {
            bed.see(plan(vec![member("shop-2", None)], &[]), secs);
            tags(&bed.lease(None, secs))
        };
        bed.answers(0.0);
        bed.silent(10.0);
        assert_eq!(refused(&mut bed, 10.0), ["FailoverRefused"]);
        bed.answers(11.0);
        bed.silent(21.0);
        assert_eq!(refused(&mut bed, 21.0), ["FailoverRefused"]);
    }

    // The cooldown and the second failover.

    fn last_failover(within_cooldown: bool) -> LastFailover {
        LastFailover {
            at: wall("2026-12-02T00:08:00Z"),
            promoted: "shop-0".into(),
            within_cooldown,
        }
    }

    #[test]
    fn one_more_failover_is_allowed_within_a_cooldown_and_says_so() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        bed.see(agreeing(), 10.0);
        let actions = bed.lease(Some(last_failover(false)), 10.0);
        assert_eq!(tags(&actions), ["PrimaryLost", "FailOver"]);
        assert!(matches!(
            bed.state.phase,
            Phase::FailingOver {
                within_cooldown: true,
                ..
            }
        ));
        let actions = bed.see(
            Observation::FailedOver {
                outcome: Ok(done()),
                wall: wall("2026-12-02T00:10:02Z"),
            },
            12.0,
        );
        assert!(notes(&actions)[0].ends_with(
            "; the second within a cooldown: a primary lost before 2026-12-02T00:15:02Z waits for a person"
        ));
        let Action::Annotate(_, record) = &actions[1] else {
            panic!()
        };
        assert!(
            LastFailover::from_annotation(Some(record))
                .unwrap()
                .within_cooldown
        );
    }

    #[test]
    fn a_third_lost_primary_within_the_cooldown_waits_for_a_person_said_once() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        bed.see(agreeing(), 10.0);
        let actions = bed.lease(Some(last_failover(true)), 10.0);
        assert_eq!(tags(&actions), ["FailoverCooldown"]);
        assert!(notes(&actions)[0].starts_with("primary shop-0 is lost, but the last automatic failover (to shop-0 at 2026-12-02T00:08:00Z) was already the second"));
        assert!(notes(&actions)[0]
            .ends_with(": no failover; run kubectl mysqlha failover shop to move it"));
        bed.silent(11.0);
        bed.see(agreeing(), 11.0);
        assert!(bed.lease(Some(last_failover(true)), 11.0).is_empty());
    }

    #[test]
    fn after_the_cooldown_a_lost_primary_is_failed_over_as_a_first() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        bed.see(agreeing(), 10.0);
        let mut old = last_failover(true);
        old.at = wall("2026-12-02T00:04:59Z");
        assert_eq!(
            tags(&bed.lease(Some(old), 10.0)),
            ["PrimaryLost", "FailOver"]
        );
        assert!(matches!(
            bed.state.phase,
            Phase::FailingOver {
                within_cooldown: false,
                ..
            }
        ));
    }

    // A primary cut off right after a failover.

    #[test]
    fn a_new_primary_cut_off_right_after_a_failover_gets_the_full_grace_from_its_first_probe() {
        let mut bed = Bed::new();
        bed.lost_at_ten();
        bed.see(
            Observation::FailedOver {
                outcome: Ok(done()),
                wall: wall("2026-12-02T00:10:02Z"),
            },
            12.0,
        );
        assert_eq!(
            bed.tags(Observation::Record("shop-1".into()), 13.0),
            ["Annotate Watching"]
        );
        assert_eq!(bed.silent(13.0), ["PrimaryUnreachable"]);
        assert!(bed.silent(19.9).is_empty());
        assert_eq!(bed.silent(20.0), ["AskReplicas"]);
        bed.see(agreeing(), 20.5);
        assert!(bed.silent(22.9).is_empty());
        assert_eq!(bed.silent(23.0), ["ReadLease"]);
        let record = LastFailover {
            at: wall("2026-12-02T00:10:02Z"),
            promoted: "shop-1".into(),
            within_cooldown: false,
        };
        assert_eq!(
            tags(&bed.lease(Some(record), 23.0)),
            ["PrimaryLost", "FailOver"]
        );
    }

    #[test]
    fn a_new_primary_of_record_begins_a_new_episode_of_sayings() {
        // A refusal said of the old primary may be said of the new one (it used to stay
        // unsaid until some primary answered).
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.silent(10.0);
        bed.see(plan(vec![member("shop-2", None)], &[]), 10.0);
        assert_eq!(tags(&bed.lease(None, 10.0)), ["FailoverRefused"]);
        bed.see(Observation::Record("shop-1".into()), 11.0);
        assert_eq!(bed.state.said, None);
    }

    // Members out of service: rejoin and rebuild.

    fn out_of_service(found: &[(&str, OutOfService)], rebuilding: bool) -> Observation {
        Observation::OutOfService {
            found: found
                .iter()
                .map(|(pod, why)| (pod.to_string(), why.clone()))
                .collect(),
            rebuilding,
        }
    }

    #[test]
    fn a_former_primary_back_idle_is_rejoined() {
        let mut bed = Bed::new();
        let found = out_of_service(&[("shop-0", OutOfService::Idle)], false);
        assert_eq!(bed.tags(found, 0.0), ["Rejoin shop-0"]);
    }

    #[test]
    fn nothing_out_of_service_is_nothing_to_do() {
        let mut bed = Bed::new();
        assert!(bed.tags(out_of_service(&[], false), 0.0).is_empty());
    }

    #[test]
    fn a_former_primary_holding_more_is_left_out_of_service_and_not_asked_again() {
        let mut bed = Bed::new();
        let found = || out_of_service(&[("shop-0", OutOfService::Idle)], false);
        bed.see(found(), 0.0);
        bed.see(Observation::Diverged(vec!["shop-0".into()]), 0.5);
        assert!(bed.tags(found(), 5.0).is_empty());
    }

    #[test]
    fn a_diverged_member_back_in_service_is_forgotten() {
        let mut bed = Bed::new();
        bed.see(Observation::Diverged(vec!["shop-0".into()]), 0.0);
        bed.see(out_of_service(&[], false), 5.0);
        assert!(bed.state.diverged.is_empty());
        let found = out_of_service(&[("shop-0", OutOfService::Idle)], false);
        assert_eq!(bed.tags(found, 10.0), ["Rejoin shop-0"]);
    }

    #[test]
    fn with_auto_rebuild_a_broken_replica_is_rebuilt() {
        let mut bed = Bed::with(setup(true));
        let found = out_of_service(
            &[("shop-2", OutOfService::Broken("Duplicate entry".into()))],
            false,
        );
        let actions = bed.see(found, 0.0);
        assert!(matches!(&actions[..], [Action::Rebuild { pod, why }]
            if pod == "shop-2" && why == "stopped replicating: Duplicate entry"));
    }

    #[test]
    fn without_auto_rebuild_a_broken_replica_is_left_alone() {
        let mut bed = Bed::new();
        let found = out_of_service(
            &[("shop-2", OutOfService::Broken("Duplicate entry".into()))],
            false,
        );
        assert!(bed.tags(found, 0.0).is_empty());
    }

    #[test]
    fn with_auto_rebuild_a_diverged_former_primary_is_rebuilt_not_rejoined() {
        let mut bed = Bed::with(setup(true));
        bed.see(Observation::Diverged(vec!["shop-0".into()]), 0.0);
        let found = out_of_service(&[("shop-0", OutOfService::Idle)], false);
        let actions = bed.see(found, 5.0);
        assert!(matches!(&actions[..], [Action::Rebuild { pod, why }]
            if pod == "shop-0" && why == "holds transactions the primary lacks"));
    }

    #[test]
    fn one_rebuild_at_a_time_while_idle_members_still_rejoin() {
        let mut bed = Bed::with(setup(true));
        let found = out_of_service(
            &[
                ("shop-2", OutOfService::Broken("Duplicate entry".into())),
                ("shop-0", OutOfService::Idle),
            ],
            true,
        );
        assert_eq!(bed.tags(found, 0.0), ["Rejoin shop-0"]);
    }

    // The hand-off.

    #[test]
    fn a_leader_on_the_primary_node_hands_the_lead_to_a_peer_elsewhere() {
        let mut bed = Bed::new();
        let actions = bed.see(Observation::Peer(Some("agent-b".into())), 0.0);
        assert_eq!(tags(&actions), ["AgentHandOff", "HandTo agent-b"]);
        assert_eq!(
            notes(&actions),
            ["this agent shares primary shop-0's node: the leadership goes to agent-b on another node, which does not fail with it"]
        );
    }

    #[test]
    fn with_no_peer_elsewhere_the_lead_is_kept() {
        let mut bed = Bed::new();
        assert!(bed.tags(Observation::Peer(None), 0.0).is_empty());
    }

    // The write path.

    #[test]
    fn a_primary_not_serving_is_asked_about_after_the_grace() {
        let mut bed = Bed::new();
        assert!(bed.tags(Observation::Serving(false), 0.0).is_empty());
        assert!(bed.tags(Observation::Serving(false), 9.9).is_empty());
        assert_eq!(bed.tags(Observation::Serving(false), 10.0), ["AskMembers"]);
    }

    #[test]
    fn a_primary_serving_again_starts_the_write_path_grace_afresh() {
        let mut bed = Bed::new();
        bed.see(Observation::Serving(false), 0.0);
        bed.see(Observation::Serving(true), 5.0);
        assert!(bed.tags(Observation::Serving(false), 10.0).is_empty());
    }

    #[test]
    fn a_read_only_rightful_primary_is_made_writable() {
        let mut bed = Bed::new();
        bed.see(Observation::Serving(false), 0.0);
        bed.see(Observation::Serving(false), 10.0);
        assert_eq!(
            bed.tags(Observation::Remedy(Remedy::MakeWritable), 11.0),
            ["MakeWritable"]
        );
        let actions = bed.see(Observation::MadeWritable(Ok(())), 12.0);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 answered but was read-only for 11s (no member writable, none holding a transaction it lacks): made writable"]
        );
        assert_eq!(bed.state.write_path, WritePath::Serving);
    }

    #[test]
    fn a_primary_not_made_writable_now_is_said_once_and_its_grace_goes_on() {
        let mut bed = Bed::new();
        bed.see(Observation::Serving(false), 0.0);
        for secs in [10.0, 11.0] {
            bed.see(Observation::Serving(false), secs);
            bed.see(Observation::Remedy(Remedy::MakeWritable), secs);
            let actions = bed.see(
                Observation::MadeWritable(Err("the lock is held".into())),
                secs,
            );
            let expected: &[&str] = if secs == 10.0 {
                &["primary shop-0 takes no write, not fixed now: the lock is held"]
            } else {
                &[]
            };
            assert_eq!(notes(&actions), expected);
        }
        assert_eq!(
            bed.state.write_path,
            WritePath::NotServing { since: bed.at(0.0) }
        );
    }

    #[test]
    fn a_primary_that_cannot_be_made_writable_is_failed_over() {
        let mut bed = Bed::new();
        bed.see(Observation::Serving(false), 0.0);
        bed.see(Observation::Serving(false), 10.0);
        let actions = bed.see(
            Observation::Remedy(Remedy::FailOver(
                "shop-1 holds transactions it lacks".into(),
            )),
            10.5,
        );
        assert_eq!(tags(&actions), ["PrimaryNotServing", "FailOverNotServing"]);
        assert_eq!(
            notes(&actions),
            ["primary shop-0 answers but has taken no write for 10s and cannot be made writable: shop-1 holds transactions it lacks: failing over"]
        );
        let actions = bed.see(Observation::NotServingFailedOver(Ok(done())), 12.0);
        assert_eq!(
            notes(&actions),
            ["failed over from shop-0 to shop-1 in 1.50s (its primary took no write)"]
        );
        assert_eq!(bed.state.write_path, WritePath::Serving);
    }

    #[test]
    fn what_a_person_must_decide_about_the_write_path_is_said_once() {
        let mut bed = Bed::new();
        bed.see(Observation::Serving(false), 0.0);
        bed.see(Observation::Serving(false), 10.0);
        let refuse = || Observation::Remedy(Remedy::Refuse("shop-1 writable beside it".into()));
        assert_eq!(
            notes(&bed.see(refuse(), 10.0)),
            ["primary shop-0 answers but has taken no write for 10s; nothing done: shop-1 writable beside it"]
        );
        bed.see(Observation::Serving(false), 11.0);
        assert!(bed.see(refuse(), 11.0).is_empty());
        let fine = Observation::Remedy(Remedy::NothingToDo("shop-0 is writable".into()));
        assert_eq!(bed.tags(fine, 12.0), ["PrimaryNotReady"]);
    }

    #[test]
    fn a_primary_serving_again_may_be_said_about_again() {
        let mut bed = Bed::new();
        let refuse = || Observation::Remedy(Remedy::Refuse("x".into()));
        bed.see(Observation::Serving(false), 0.0);
        bed.see(Observation::Serving(false), 10.0);
        assert_eq!(bed.tags(refuse(), 10.0), ["PrimaryNotServing"]);
        bed.see(Observation::Serving(true), 11.0);
        bed.see(Observation::Serving(false), 12.0);
        bed.see(Observation::Serving(false), 22.0);
        assert_eq!(bed.tags(refuse(), 22.0), ["PrimaryNotServing"]);
    }

    #[test]
    fn a_silence_does_not_restart_the_write_path_grace() {
        let mut bed = Bed::new();
        bed.answers(0.0);
        bed.see(Observation::Serving(false), 0.0);
        bed.silent(3.0);
        bed.answers(5.0);
        assert_eq!(bed.tags(Observation::Serving(false), 10.0), ["AskMembers"]);
    }

    // Pure sub-rules.

    #[test]
    fn a_pod_deleted_or_remade_is_replaced_not_restarting_in_place() {
        let pod = |uid: &str, deleting| PodSeen {
            uid: Some(uid.into()),
            deleting,
            node_down: false,
        };
        assert!(!replaced(Some(&pod("a", false)), Some("a")));
        let dead_node = PodSeen {
            node_down: true,
            ..pod("a", false)
        };
        assert!(replaced(Some(&dead_node), Some("a")));
        assert!(!replaced(Some(&pod("a", false)), None));
        assert!(replaced(Some(&pod("a", true)), Some("a")));
        assert!(replaced(None, Some("a")));
        assert!(replaced(Some(&pod("b", false)), Some("a")));
    }

    #[test]
    fn every_lease_note_has_its_annotation() {
        for note in [
            LeaseNote::Watching,
            LeaseNote::LastFailoverRecord,
            LeaseNote::LastFailover,
            LeaseNote::CooldownUntil,
        ] {
            assert!(note.key().contains('/'), "{note:?}");
        }
    }
}
