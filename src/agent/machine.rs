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
//! (handoff.rs); a primary that answers but takes no write follows write_path.rs.
use super::cooldown::{self, LastFailover};
use super::rejoin::OutOfService;
use super::write_path::Remedy;
use super::{leader, rebuild, Settings};
use crate::cluster::ServerState;
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

/// Where the watch of the primary stands.
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
pub struct Agreement(pub FailoverPlan);

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

/// The reason of a decision: its Event's reason and its log line's first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    AgentLeader,
    PrimaryUnreachable,
    PrimaryAnswersAgain,
    AgentPartitioned,
    FailoverCooldown,
    FailoverRefused,
    PrimaryLost,
    AutomaticFailover,
    AgentHandOff,
    PrimaryNotReady,
    PrimaryNotServing,
    PrimaryMadeWritable,
}

impl Reason {
    /// As Events and log lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AgentLeader => "AgentLeader",
            Reason::PrimaryUnreachable => "PrimaryUnreachable",
            Reason::PrimaryAnswersAgain => "PrimaryAnswersAgain",
            Reason::AgentPartitioned => "AgentPartitioned",
            Reason::FailoverCooldown => "FailoverCooldown",
            Reason::FailoverRefused => "FailoverRefused",
            Reason::PrimaryLost => "PrimaryLost",
            Reason::AutomaticFailover => "AutomaticFailover",
            Reason::AgentHandOff => "AgentHandOff",
            Reason::PrimaryNotReady => "PrimaryNotReady",
            Reason::PrimaryNotServing => "PrimaryNotServing",
            Reason::PrimaryMadeWritable => "PrimaryMadeWritable",
        }
    }
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
}

/// A failover that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub old: String,
    pub candidate: String,
    /// How long until the new primary took writes.
    pub writable_after: Duration,
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
        self.actions
            .push(Action::Annotate(LeaseNote::Watching, primary));
    }

    fn probe(&mut self, probe: Probe) {
        match &probe.answer {
            Answer::Answered => self.answered(probe),
            Answer::Refused(why) | Answer::Silent(why) => {
                let (why, refused) = (why.clone(), matches!(probe.answer, Answer::Refused(_)));
                self.silent(&probe, &why, refused)
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
/// the server's start), and one evicted from a drained node may not come back at all.
fn replaced(pod: Option<&PodSeen>, answered_as: Option<&str>) -> bool {
    let Some(pod) = pod else { return true };
    pod.deleting || answered_as.is_some_and(|uid| pod.uid.as_deref() != Some(uid))
}

/// The replicas whose IO thread is connected (to the primary: they replicate from it).
fn receiving_from_primary(replicas: &[(String, ServerState)]) -> Vec<String> {
    replicas
        .iter()
        .filter(|(_, s)| {
            s.replication
                .as_ref()
                .is_some_and(|r| r.io_running == "Yes")
        })
        .map(|(p, _)| p.clone())
        .collect()
}
