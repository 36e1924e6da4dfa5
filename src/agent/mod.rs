//! The automatic-failover agent (`kubectl-mysqlha agent run NAME`, in the cluster): its two
//! pods elect a leader (leader.rs); every PROBE_EVERY the leader probes the primary of record
//! over the pod network (probe.rs). The primary is lost only when it has not answered for the
//! grace time AND its replicas agree (none has an IO thread connected to it, asked by exec).
//! Then the leader takes the cluster's operation lock and runs crate::ops::failover, the same
//! failover as `kubectl mysqlha failover`; after one, a cooldown (cooldown.rs: one more failover
//! at most within it). A primary that answers again after a silence gets its waiting replicas
//! reconnected at once (reconnect.rs). Old primaries rejoin (rejoin.rs); with --auto-rebuild,
//! members that cannot serve are re-cloned (rebuild.rs). A leader on the primary's node hands
//! its leadership to the other agent pod when that one runs elsewhere (handoff.rs). A primary
//! whose pod is being deleted (a drain) is switched over from before it stops (leaving.rs). Every
//! decision is an Event and one log line. The rules are a pure state machine (machine.rs): the
//! loop here only observes, steps it, and performs its actions. Also: deploying and removing
//! the agent's objects.
mod archiving;
mod cooldown;
mod handoff;
pub mod leader;
mod leaving;
mod machine;
mod metrics;
mod probe;
mod rebuild;
mod reconnect;
mod rejoin;
mod write_path;

use crate::cluster::Cluster;
use crate::k8s::apply::{apply, delete_if_present};
use crate::k8s::context::Context;
use crate::k8s::events::{Reason, Recorder};
use crate::k8s::lock::OperationLock;
use crate::manifests::agent::{self as objects, AgentSpec};
use crate::manifests::monitoring::PodMonitor;
use crate::{ops::failover, ops::plan};
use anyhow::{bail, Context as _, Result};
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use machine::{Action, Answer, Observation};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How often the leader probes the primary (and renews its leadership).
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long the primary's handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(800);
/// The longest an automatic failover may take.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(120);

/// The longest the agent waits for one member's answer: an exec into a pod being deleted may
/// never end, and a leader stuck in one watches nothing any more.
const ASK_LIMIT: Duration = Duration::from_secs(5);

/// `cluster::observe`, within ASK_LIMIT.
async fn observe(target: crate::k8s::exec::Target<'_>) -> Result<crate::cluster::ServerState> {
    tokio::time::timeout(ASK_LIMIT, crate::cluster::observe(target))
        .await
        .map_err(|_| anyhow::anyhow!("{}: no answer within {}s", target.pod, ASK_LIMIT.as_secs()))?
}

/// The agent's image: --agent-image, else $MYSQLHA_AGENT_IMAGE, else the release image.
pub fn image(asked: Option<&str>) -> String {
    asked
        .map(str::to_string)
        .or_else(|| std::env::var("MYSQLHA_AGENT_IMAGE").ok())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| objects::DEFAULT_AGENT_IMAGE.to_string())
}

/// Applies the agent's ServiceAccount, Role, RoleBinding and Deployment.
pub async fn deploy(ctx: &Context, spec: &AgentSpec) -> Result<()> {
    let api = |_: ()| ctx.client.clone();
    apply::<ServiceAccount>(
        &Api::namespaced(api(()), &ctx.namespace),
        &objects::service_account(spec),
    )
    .await?;
    apply::<Role>(
        &Api::namespaced(api(()), &ctx.namespace),
        &objects::role(spec),
    )
    .await?;
    apply::<RoleBinding>(
        &Api::namespaced(api(()), &ctx.namespace),
        &objects::role_binding(spec),
    )
    .await?;
    apply::<Deployment>(
        &Api::namespaced(api(()), &ctx.namespace),
        &objects::deployment(spec),
    )
    .await?;
    let monitored = match monitor(ctx, spec).await {
        Ok(true) => format!(
            "; PodMonitor {} scrapes it",
            objects::agent_name(&spec.cluster)
        ),
        Ok(false) => String::new(),
        Err(e) => {
            eprintln!(
                "warning: {e:#}; Prometheus can still find the agent by its pods' prometheus.io annotations"
            );
            String::new()
        }
    };
    ctx.event(
        Reason::AgentDeployed,
        format!(
            "Deployment {} (2 pods, image {}) watches the primary; {}{monitored}",
            objects::agent_name(&spec.cluster),
            spec.image,
            spec.tuning.describe()
        ),
    );
    Ok(())
}

/// Applies the agent's PodMonitor where the prometheus-operator's CRDs are installed (true);
/// elsewhere makes nothing (false). Not being allowed to is an error for a warning: the
/// built-in admin and edit roles name no custom resources.
async fn monitor(ctx: &Context, spec: &AgentSpec) -> Result<bool> {
    if !crate::k8s::monitoring::pod_monitors_served(&ctx.client).await? {
        return Ok(false);
    }
    let monitors: Api<PodMonitor> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    apply(&monitors, &objects::pod_monitor(spec)).await?;
    Ok(true)
}

/// Names `members` member pods in the agent's Role, when the cluster has an agent (`scale`:
/// before adding members, after removing them).
pub async fn name_members(ctx: &Context, cluster: &str, members: i32) -> Result<()> {
    let roles: Api<Role> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let name = objects::agent_name(cluster);
    let exists = roles
        .get_opt(&name)
        .await
        .with_context(|| format!("cannot read Role {name}"))?
        .is_some();
    if exists {
        apply(&roles, &objects::role_for(cluster, &ctx.namespace, members)).await?;
    }
    Ok(())
}

/// Lets the agent read where cluster `cluster`'s backups go and the key (Secret `secret`), so
/// that it archives binary logs (`backup enable`).
pub async fn grant_archiving(ctx: &Context, cluster: &str, secret: &str) -> Result<()> {
    let ns = ctx.namespace.as_str();
    apply::<Role>(
        &Api::namespaced(ctx.client.clone(), ns),
        &objects::archive_role(cluster, ns, secret),
    )
    .await?;
    apply::<RoleBinding>(
        &Api::namespaced(ctx.client.clone(), ns),
        &objects::archive_role_binding(cluster, ns),
    )
    .await?;
    Ok(())
}

/// Takes back `grant_archiving` (`backup disable`, the agent's removal).
pub async fn revoke_archiving(ctx: &Context, cluster: &str) -> Result<()> {
    let name = objects::archive_role_name(cluster);
    let ns = ctx.namespace.as_str();
    let revoked = async {
        delete_if_present::<RoleBinding>(&Api::namespaced(ctx.client.clone(), ns), &name).await?;
        delete_if_present::<Role>(&Api::namespaced(ctx.client.clone(), ns), &name).await
    };
    match revoked.await {
        // A user who may not touch Roles could not have granted it either.
        Err(e) if forbidden(&e) => Ok(()),
        other => other,
    }
}

/// Deletes the agent's Deployment first (it stops acting), then its rights and its Lease.
pub async fn remove(ctx: &Context, cluster: &str) -> Result<()> {
    let name = objects::agent_name(cluster);
    let (client, ns) = (ctx.client.clone(), ctx.namespace.as_str());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let deployed = deployments
        .get_opt(&name)
        .await
        .with_context(|| format!("cannot read Deployment {name}"))?
        .is_some();
    delete_if_present::<Deployment>(&deployments, &name).await?;
    // A user who may not touch Roles (the built-in edit role) made a cluster without an agent:
    // there are none to remove then, and the refusal says nothing.
    let archive = objects::archive_role_name(cluster);
    let rights = async {
        delete_if_present::<RoleBinding>(&Api::namespaced(client.clone(), ns), &name).await?;
        delete_if_present::<Role>(&Api::namespaced(client.clone(), ns), &name).await?;
        // Its rights to archive (backup enable), if given.
        delete_if_present::<RoleBinding>(&Api::namespaced(client.clone(), ns), &archive).await?;
        delete_if_present::<Role>(&Api::namespaced(client.clone(), ns), &archive).await
    };
    match rights.await {
        Err(e) if !deployed && forbidden(&e) => {}
        other => other?,
    }
    delete_if_present::<ServiceAccount>(&Api::namespaced(client.clone(), ns), &name).await?;
    delete_if_present::<Lease>(&Api::namespaced(client.clone(), ns), &name).await?;
    // Its PodMonitor, if one was made: where the CRDs are not installed the API server answers
    // 404 (as for a PodMonitor that is not there); one the user may not delete was not theirs
    // to make either (the create said so), and it selects no pod any more.
    match delete_if_present::<PodMonitor>(&Api::namespaced(client, ns), &name).await {
        Err(e) if forbidden(&e) => {}
        other => other?,
    }
    Ok(())
}

/// The API server refused the call for want of rights (403).
pub fn forbidden(e: &anyhow::Error) -> bool {
    e.chain().any(
        |c| matches!(c.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == 403),
    )
}

/// How the agent decides (its flags).
pub use objects::Tuning as Settings;

/// What the leader keeps between probes: the rules' state (machine.rs) and the rebuild it
/// runs (--auto-rebuild), one at a time, beside the watch.
#[derive(Default)]
struct Watch {
    state: machine::State,
    rebuilding: Option<tokio::task::JoinHandle<()>>,
}

/// A context for one of the agent's tasks: its own Event recorder, no lock, no colour.
fn agent_context(client: &kube::Client, namespace: &str, cluster: &str) -> Context {
    Context {
        client: client.clone(),
        namespace: namespace.to_string(),
        lock: None,
        color: crate::base::style::ColorChoice::Never,
        events: Some(Recorder::new(client, namespace, cluster, "agent")),
    }
}

/// The agent's loop: runs until the process is stopped.
pub async fn run(
    client: kube::Client,
    namespace: String,
    cluster: String,
    settings: Settings,
) -> Result<()> {
    let identity = crate::k8s::lock::identity();
    let leadership = leader::Election::new(&client, &namespace, &cluster, identity.clone())
        .keep_renewing(PROBE_EVERY);
    let events = Recorder::new(&client, &namespace, &cluster, "agent");
    let ctx = Context {
        client: client.clone(),
        namespace: namespace.clone(),
        lock: None,
        color: crate::base::style::ColorChoice::Never,
        events: Some(events),
    };
    say(&format!(
        "agent {identity} for cluster {cluster} in {namespace}: {}",
        settings.describe()
    ));
    let setup = machine::Setup {
        identity,
        cluster: cluster.clone(),
        tuning: settings,
    };
    tokio::spawn(archiving::keep_archiving(
        agent_context(&client, &namespace, &cluster),
        cluster.clone(),
        leadership.clone(),
    ));
    tokio::spawn(archiving::keep_schedule(
        agent_context(&client, &namespace, &cluster),
        cluster.clone(),
        leadership.clone(),
    ));
    tokio::spawn(metrics::keep_reporting(
        agent_context(&client, &namespace, &cluster),
        cluster.clone(),
        leadership.clone(),
    ));
    {
        let (cluster, namespace) = (cluster.clone(), namespace.clone());
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(objects::METRICS_PORT, cluster, namespace).await {
                say(&format!("no metrics: {}", crate::base::one_line(&e)));
            }
        });
    }
    let mut watch = Watch::default();
    let mut leading = false;
    let mut ticks = tokio::time::interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_leading = leadership.leads();
        if now_leading != leading {
            leading = now_leading;
            metrics::leading(leading);
            // Watched afresh (and said again in the Lease) by whoever leads now.
            let (state, actions) = machine::step(
                std::mem::take(&mut watch.state),
                Observation::Leadership(leading),
                Instant::now(),
                &setup,
            );
            watch.state = state;
            // Taking or losing the lead is only said (machine.rs, `leadership`).
            for action in actions {
                if let Action::Decide(d) = action {
                    decision(&ctx, d.reason, &d.note, d.pod.as_deref());
                }
            }
        }
        if !leading {
            continue;
        }
        if let Err(e) = watch_once(&ctx, &cluster, &setup, &mut watch, &leadership).await {
            say(&format!(
                "cannot watch cluster {cluster}: {}",
                crate::base::one_line(&e)
            ));
        }
    }
}

/// One log line (stderr: the pod's log).
fn say(line: &str) {
    eprintln!(
        "{} {line}",
        Timestamp::now()
            .round(k8s_openapi::jiff::Unit::Millisecond)
            .unwrap_or(Timestamp::now())
    );
}

/// A decision: one log line and an Event.
fn decision(ctx: &Context, reason: Reason, note: &str, pod: Option<&str>) {
    say(&format!("{reason}: {note}"));
    metrics::decided(reason);
    if let Some(events) = &ctx.events {
        events.step(reason, note, pod);
    }
}

/// One probe of the primary and what follows from it: the loop observes, the rules
/// (machine::step) decide, the loop performs.
async fn watch_once(
    ctx: &Context,
    name: &str,
    setup: &machine::Setup,
    watch: &mut Watch,
    leadership: &leader::Leadership,
) -> Result<()> {
    let cluster = Cluster::load(ctx, name).await?;
    if cluster.primary.is_empty() {
        return Ok(());
    }
    let agent = Agent {
        ctx,
        name,
        setup,
        leadership,
        cluster: &cluster,
    };
    agent
        .follow(watch, Observation::Record(cluster.primary.clone()))
        .await;
    let probe = probe_primary(&cluster).await;
    metrics::probed(
        &cluster.primary,
        matches!(probe.answer, Answer::Answered),
        probe.asked,
    );
    agent.follow(watch, Observation::Probe(probe)).await;
    Ok(())
}

/// The handshake of the primary of record, and what is seen of its pod.
async fn probe_primary(cluster: &Cluster) -> machine::Probe {
    let primary = &cluster.primary;
    let asked = Instant::now();
    let answer = match primary_address(cluster) {
        Some(addr) => probe::handshake(addr, HANDSHAKE_TIMEOUT).await,
        None => Err(anyhow::anyhow!("pod {primary} has no IP")),
    };
    let answer = match answer {
        Ok(()) => Answer::Answered,
        Err(e) if probe::restarting(&e) => Answer::Refused(crate::base::one_line(&e)),
        Err(e) => Answer::Silent(crate::base::one_line(&e)),
    };
    let pod = cluster.member(primary).and_then(|m| m.pod.as_ref());
    // A refusal is a server restarting in place, unless nothing on its node runs any more.
    let node_down = matches!(answer, Answer::Refused(_)) && kubelet_down(cluster, primary).await;
    machine::Probe {
        asked,
        answer,
        pod: pod.map(|p| machine::PodSeen {
            uid: p.metadata.uid.clone(),
            deleting: p.metadata.deletion_timestamp.is_some(),
            node_down,
        }),
    }
}

/// Whether an exec into `pod` says its node's kubelet cannot be reached (within 2 s).
async fn kubelet_down(cluster: &Cluster, pod: &str) -> bool {
    let exec = crate::k8s::exec::run(cluster.server(pod), &["true"], None);
    match tokio::time::timeout(Duration::from_secs(2), exec).await {
        Ok(Err(e)) => crate::k8s::exec::kubelet_unreachable(&e),
        _ => false,
    }
}

/// What the loop performs the rules' actions with, at one probe.
struct Agent<'a> {
    ctx: &'a Context,
    name: &'a str,
    setup: &'a machine::Setup,
    leadership: &'a leader::Leadership,
    cluster: &'a Cluster,
}

impl Agent<'_> {
    /// Steps the rules on `first`, performs their actions in order, and steps them again on
    /// what each action observed (its actions performed before the rest), until none is left.
    async fn follow(&self, watch: &mut Watch, first: Observation) {
        let mut queue: std::collections::VecDeque<Action> = Default::default();
        let mut next = Some(first);
        loop {
            if let Some(observation) = next.take() {
                let (state, actions) = machine::step(
                    std::mem::take(&mut watch.state),
                    observation,
                    Instant::now(),
                    self.setup,
                );
                watch.state = state;
                for action in actions.into_iter().rev() {
                    queue.push_front(action);
                }
            }
            let Some(action) = queue.pop_front() else {
                return;
            };
            next = self.perform(action, watch).await;
        }
    }

    /// Does what the rules ask; returns what it observed, for those that observe.
    async fn perform(&self, action: Action, watch: &mut Watch) -> Option<Observation> {
        let (ctx, name, cluster) = (self.ctx, self.name, self.cluster);
        let primary = cluster.primary.as_str();
        let one_line = |e: anyhow::Error| crate::base::one_line(&e);
        Some(match action {
            Action::Decide(d) => {
                decision(ctx, d.reason, &d.note, d.pod.as_deref());
                return None;
            }
            Action::Annotate(note, value) => {
                self.leadership.annotate(note.key(), value);
                return None;
            }
            Action::ReconnectReplicas => {
                reconnect_replicas(ctx, name, cluster).await;
                Observation::Reconnected
            }
            Action::AskReplicas => {
                // Their state and their own attempt to reach the primary, asked at once.
                let (plan, reaching) = plan::failover::plan_knowing_reach(
                    cluster,
                    still_reaching(cluster, replicas_of(cluster)),
                )
                .await;
                Observation::Replicas {
                    plan: machine::Agreement(Box::new(plan)),
                    reaching,
                }
            }
            Action::ReadLease => Observation::Lease {
                last: cooldown::LastFailover::from_annotation(
                    self.leadership
                        .annotation(leader::LAST_FAILOVER_RECORD_ANNOTATION)
                        .as_deref(),
                ),
                wall: Timestamp::now(),
                leads: self.leadership.leads(),
            },
            Action::FailOver(plan) => {
                let started = Instant::now();
                let outcome = locked_failover(ctx, name, primary, *plan.0).await;
                metrics::failed_over(outcome.is_ok(), started.elapsed());
                Observation::FailedOver {
                    outcome: outcome.map(done).map_err(one_line),
                    wall: Timestamp::now(),
                }
            }
            Action::LookForOutOfService => Observation::OutOfService {
                found: rejoin::out_of_service(cluster).await,
                rebuilding: watch.rebuilding.as_ref().is_some_and(|r| !r.is_finished()),
            },
            Action::Rebuild { pod, why } => {
                watch.rebuilding = Some(rebuild::spawn(ctx, name, &pod, why));
                return None;
            }
            Action::Rejoin(idle) => Observation::Diverged(rejoin_members(ctx, name, &idle).await),
            Action::LookForPeer => Observation::Peer(handoff::peer_off_primary_node(cluster).await),
            Action::HandTo(peer) => {
                self.leadership.hand_to(&peer);
                return None;
            }
            Action::CheckWritePath => Observation::Serving(write_path::serving(cluster)),
            Action::AskMembers => Observation::Remedy(write_path::decide(
                &plan::observe_members(cluster, plan::Asking::Quick).await,
            )),
            Action::MakeWritable => Observation::MadeWritable(
                write_path::locked_make_writable(ctx, name, primary)
                    .await
                    .map_err(one_line),
            ),
            Action::SwitchOverLeaving => Observation::SwitchedOverLeaving(
                leaving::switch_over(ctx, name, cluster)
                    .await
                    .map_err(one_line),
            ),
            Action::FailOverNotServing => {
                let started = Instant::now();
                let outcome = write_path::locked_failover(ctx, name, primary).await;
                metrics::failed_over(outcome.is_ok(), started.elapsed());
                Observation::NotServingFailedOver(outcome.map(done).map_err(one_line))
            }
        })
    }
}

/// A failover's outcome, as the rules see it.
fn done(outcome: failover::Outcome) -> machine::Done {
    machine::Done {
        old: outcome.old,
        candidate: outcome.candidate,
        writable_after: outcome.writable_after,
    }
}

fn primary_address(cluster: &Cluster) -> Option<SocketAddr> {
    let pod = cluster.member(&cluster.primary)?.pod.as_ref()?;
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let ip: IpAddr = pod.status.as_ref()?.pod_ip.as_ref()?.parse().ok()?;
    Some(SocketAddr::new(ip, crate::manifests::MYSQL_PORT as u16))
}

/// The members of record other than the primary.
fn replicas_of(cluster: &Cluster) -> Vec<String> {
    cluster
        .members
        .iter()
        .filter(|m| m.name != cluster.primary && m.pod.is_some())
        .map(|m| m.name.clone())
        .collect()
}

/// Of the replicas whose IO thread still says it is connected, those that can still reach the
/// primary themselves. An IO thread learns that a frozen primary is gone only after
/// slave_net_timeout (no heartbeat); the replica's own attempt to connect to the primary (its
/// handshake within 2 s, from the replica's pod) answers at once. A replica that cannot be asked
/// counts as still reaching it.
async fn still_reaching(cluster: &Cluster, connected: Vec<String>) -> Vec<String> {
    let Some(addr) = primary_address(cluster) else {
        return connected;
    };
    let ip = addr.ip().to_string();
    let asks = connected.into_iter().map(|pod| {
        let ip = ip.clone();
        async move {
            let reaches = replica_reaches(cluster, &pod, &ip).await.unwrap_or(true);
            reaches.then_some(pod)
        }
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Whether `pod`'s server can open a connection to `ip`: the engine's client tries, as a user
/// that does not exist and without a password; a refusal of the login (1045 or a host error)
/// means the server answered; client errors 2002, 2003 and 2013 mean it did not.
async fn replica_reaches(cluster: &Cluster, pod: &str, ip: &str) -> Result<bool> {
    let script = format!(
        "{} --no-defaults -h {ip} -P {} --connect-timeout=1 -u mysqlha-agent-probe -e '' 2>&1; true",
        cluster.engine.client(),
        crate::manifests::MYSQL_PORT
    );
    let out = tokio::time::timeout(
        Duration::from_secs(5),
        crate::k8s::exec::run(cluster.server(pod), &["sh", "-c", &script], None),
    )
    .await
    .context("no answer")??;
    let unreachable = ["ERROR 2002", "ERROR 2003", "ERROR 2013"]
        .iter()
        .any(|code| out.stdout.contains(code));
    Ok(!unreachable)
}

/// Takes the cluster's operation lock for `operation` (a command running holds it: an error,
/// nothing is done now) and starts its Events.
async fn begin(ctx: &Context, name: &str, operation: &'static str) -> Result<Context> {
    let lock = OperationLock::acquire(&ctx.client, &ctx.namespace, name, operation, None).await?;
    let events = Recorder::new(&ctx.client, &ctx.namespace, name, operation);
    events.started();
    Ok(Context {
        client: ctx.client.clone(),
        namespace: ctx.namespace.clone(),
        lock: Some(lock),
        color: crate::base::style::ColorChoice::Never,
        events: Some(events),
    })
}

/// Ends an operation begun with `begin`: its Events say done or failed; the lock is released.
async fn end<T>(mut op: Context, result: &Result<T>) {
    if let Some(events) = op.events.take() {
        match result {
            Ok(_) => events.done().await,
            Err(e) => events.failed(&crate::base::one_line(e)).await,
        }
    }
    if let Some(lock) = op.lock.take() {
        lock.release().await.ok();
    }
}

/// Runs `work` as `operation` under the cluster's operation lock (a command running holds it:
/// an error, nothing is done now), on the cluster read afresh under the lock, whose record must
/// still name `primary` (no switchover or failover moved it since the decision); its steps are
/// Events of that operation, which say done or failed.
async fn with_primary_locked<T>(
    ctx: &Context,
    name: &str,
    primary: &str,
    operation: &'static str,
    work: impl for<'a> FnOnce(&'a Context, &'a Cluster) -> BoxFuture<'a, Result<T>>,
) -> Result<T> {
    let op = begin(ctx, name, operation).await?;
    let result = async {
        let cluster = Cluster::load(&op, name).await?;
        if cluster.primary != primary {
            bail!(
                "the primary of record is now {}, not {primary}",
                cluster.primary
            );
        }
        work(&op, &cluster).await
    }
    .await;
    end(op, &result).await;
    result
}

/// Under the cluster's operation lock, decides again on a fresh reading and runs the shared
/// failover; its steps are Events of an `auto-failover` operation.
async fn locked_failover(
    ctx: &Context,
    name: &str,
    lost: &str,
    plan: plan::failover::FailoverPlan,
) -> Result<failover::Outcome> {
    // The plan was made just before the lock was taken; under the lock the primary must still
    // be silent. The failover itself stops every replica receiving and chooses again on what
    // each received by then.
    with_primary_locked(ctx, name, lost, "auto-failover", |op, cluster| {
        Box::pin(async move {
            if let Some(addr) = primary_address(cluster) {
                if probe::handshake(addr, HANDSHAKE_TIMEOUT).await.is_ok() {
                    bail!("primary {} answers again", cluster.primary);
                }
            }
            failover::candidate(op, cluster, &plan)?;
            failover::execute(op, cluster, plan, None, FAILOVER_TIMEOUT, Instant::now()).await
        })
    })
    .await
    .context("automatic failover")
}

/// After a silence of the primary (or at the first answer a new leader sees): restarts the
/// receiving thread of its replicas that are not
/// connected to it (reconnect.rs), under the operation lock (when a command holds it, not).
async fn reconnect_replicas(ctx: &Context, name: &str, cluster: &Cluster) {
    let waiting = reconnect::not_connected(cluster).await;
    if waiting.is_empty() {
        return;
    }
    let Ok(op) = begin(ctx, name, "reconnect").await else {
        return;
    };
    let result = async {
        let now = Cluster::load(&op, name).await?;
        if now.primary != cluster.primary {
            return Ok(());
        }
        let restarted = reconnect::restart_receiving(&now, &waiting).await;
        decision(
            &op,
            Reason::ReplicasReconnected,
            &format!(
                "primary {} answers; {} still tried to reach it where it was: their receiving thread restarted, to connect at once",
                now.primary,
                restarted.join(", ")
            ),
            Some(&now.primary),
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    end(op, &result).await;
}

/// Brings `idle` members (found out of service: an old primary back after a failover) back as
/// replicas when they hold nothing the primary lacks, under the operation lock (when a command
/// holds it, next time); says of each other one why it stays out, and returns them.
async fn rejoin_members(ctx: &Context, name: &str, idle: &[String]) -> Vec<String> {
    let mut diverged = Vec::new();
    let Ok(op) = begin(ctx, name, "rejoin").await else {
        return diverged;
    };
    let result = async {
        let cluster = Cluster::load(&op, name).await?;
        for pod in idle {
            match rejoin::rejoin(&op, &cluster, pod).await? {
                Some(rejoin::Outcome::Rejoined { pod, position }) => decision(
                    &op,
                    Reason::Rejoined,
                    &format!(
                        "{pod} (GTID {position}) holds nothing primary {} lacks: it replicates from it again",
                        cluster.primary
                    ),
                    Some(&pod),
                ),
                Some(rejoin::Outcome::Diverged { pod, errant }) => {
                    decision(
                        &op,
                        Reason::OutOfService,
                        &format!(
                            "{pod} holds transactions primary {} lacks ({}): it stays read-only and out of service; kubectl mysqlha rebuild-replica {name} {pod} clones it again (discarding them)",
                            cluster.primary,
                            errant.join(",")
                        ),
                        Some(&pod),
                    );
                    diverged.push(pod);
                }
                None => {}
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        say(&format!(
            "cannot rejoin {}: {}",
            idle.join(", "),
            crate::base::one_line(e)
        ));
    }
    end(op, &result).await;
    diverged
}

#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{apis, echo, forbidden, not_found, ok, Script};
    use serde_json::json;

    fn spec() -> AgentSpec {
        AgentSpec {
            cluster: "shop".into(),
            namespace: crate::k8s::mock::NS.into(),
            image: "agent:1".into(),
            members: 3,
            tuning: objects::Tuning {
                grace: Duration::from_secs(6),
                restart_grace: Duration::from_secs(15),
                cooldown: Duration::from_secs(300),
                auto_rebuild: false,
            },
        }
    }

    const DISCOVERY: &str = "/apis/monitoring.coreos.com/v1";

    fn served(resources: &[&str]) -> serde_json::Value {
        let resources: Vec<_> = resources
            .iter()
            .map(|r| json!({"name": r, "singularName": "", "namespaced": true, "kind": "X", "verbs": ["get"]}))
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "monitoring.coreos.com/v1", "resources": resources})
    }

    fn pod_monitor() -> String {
        apis("monitoring.coreos.com/v1", "podmonitors", "shop-agent")
    }

    #[tokio::test]
    async fn a_pod_monitor_is_made_where_the_operators_crds_are_installed() {
        let script = Script::new()
            .get(DISCOVERY, ok(served(&["prometheusrules", "podmonitors"])))
            .patch(pod_monitor(), echo());
        let (ctx, server) = script.start_context();
        assert!(monitor(&ctx, &spec()).await.unwrap());
        let calls = server.finish();
        let body = calls.last().unwrap().body.clone();
        assert_eq!(body["kind"], "PodMonitor");
        assert_eq!(body["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
    }

    #[tokio::test]
    async fn nothing_is_made_where_they_are_not() {
        for reply in [
            not_found("monitoring.coreos.com", "v1"),
            ok(served(&["servicemonitors"])),
        ] {
            let (ctx, server) = Script::new().get(DISCOVERY, reply).start_context();
            assert!(!monitor(&ctx, &spec()).await.unwrap());
            assert_eq!(server.finish().len(), 1, "only the discovery call");
        }
    }

    #[tokio::test]
    async fn a_user_who_may_not_make_one_is_told_why() {
        let script = Script::new()
            .get(DISCOVERY, ok(served(&["podmonitors"])))
            .patch(
                pod_monitor(),
                forbidden("podmonitors.monitoring.coreos.com \"shop-agent\" is forbidden: User \"alice\" cannot patch resource \"podmonitors\""),
            );
        let (ctx, _server) = script.start_context();
        let error = format!("{:#}", monitor(&ctx, &spec()).await.unwrap_err());
        assert!(
            error.starts_with("cannot apply PodMonitor shop-agent: "),
            "{error}"
        );
        assert!(
            error.contains("cannot patch resource \"podmonitors\""),
            "{error}"
        );
    }
}
