//! The automatic-failover agent (`kubectl-mysqlha agent run NAME`, in the cluster): its two
//! pods elect a leader (leader.rs); every PROBE_EVERY the leader probes the primary of record
//! over the pod network (probe.rs). The primary is lost only when it has not answered for the
//! grace time AND its replicas agree (none has an IO thread connected to it, asked by exec).
//! Then the leader takes the cluster's operation lock and runs crate::ops::failover, the same
//! failover as `kubectl mysqlha failover`; after one, a cooldown (cooldown.rs: one more failover
//! at most within it). A primary that answers again after a silence gets its waiting replicas
//! reconnected at once (reconnect.rs). Old primaries rejoin (rejoin.rs); with --auto-rebuild,
//! members that cannot serve are re-cloned (rebuild.rs). A leader on the primary's node hands
//! its leadership to the other agent pod when that one runs elsewhere (handoff.rs). Every
//! decision is an Event and one log line. Also: deploying and removing the agent's objects.
mod cooldown;
mod handoff;
pub mod leader;
mod probe;
mod rebuild;
mod reconnect;
mod rejoin;
mod write_path;

use crate::cluster::{Cluster, ServerState};
use crate::k8s::apply::{apply, delete_if_present};
use crate::k8s::context::Context;
use crate::k8s::events::Recorder;
use crate::k8s::lock::OperationLock;
use crate::manifests::agent::{self as objects, AgentSpec};
use crate::{ops::failover, ops::plan};
use anyhow::{bail, Context as _, Result};
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How often the leader probes the primary (and renews its leadership).
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long before the end of the grace time the replicas are asked, and how long their
/// answer stays good.
const ASK_AHEAD: Duration = Duration::from_secs(3);
/// How long the primary's handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(800);
/// How often the leader looks for an old primary to bring back as a replica.
const REJOIN_EVERY: Duration = Duration::from_secs(5);
/// The longest an automatic failover may take.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(120);

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
    ctx.event(
        "AgentDeployed",
        format!(
            "Deployment {} (2 pods, image {}) watches the primary; {}",
            objects::agent_name(&spec.cluster),
            spec.image,
            spec.tuning.describe()
        ),
    );
    Ok(())
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
    let rights = async {
        delete_if_present::<RoleBinding>(&Api::namespaced(client.clone(), ns), &name).await?;
        delete_if_present::<Role>(&Api::namespaced(client.clone(), ns), &name).await
    };
    match rights.await {
        Err(e) if !deployed && forbidden(&e) => {}
        other => other?,
    }
    delete_if_present::<ServiceAccount>(&Api::namespaced(client.clone(), ns), &name).await?;
    delete_if_present::<Lease>(&Api::namespaced(client, ns), &name).await?;
    Ok(())
}

/// The API server refused the call for want of rights (403).
fn forbidden(e: &anyhow::Error) -> bool {
    e.chain().any(
        |c| matches!(c.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == 403),
    )
}

/// How the agent decides (its flags).
pub use objects::Tuning as Settings;

/// What the leader knows between probes.
#[derive(Default)]
struct Watch {
    /// The primary watched, when it last answered, and since when it does not answer (its
    /// last answer before the silence: the grace counts from there).
    primary: String,
    last_answer: Option<Instant>,
    unreachable_since: Option<Instant>,
    /// Its port refused (or reset) a connection during this silence: its server restarts in
    /// place (a restarting server may then be slow to greet; it still restarts).
    restarting: bool,
    /// The uid of the primary's pod when it last answered.
    answered_as: Option<String>,
    /// This pod has just taken the lead: a silence of the primary may have begun and ended
    /// before it watched (its replicas are looked at once, at the first answer).
    new_leader: bool,
    /// Said once per episode: an agent partition, a refusal, the cooldown.
    said: Option<&'static str>,
    /// When the replicas last agreed that the primary is lost, and the plan made then.
    agreed: Option<(Instant, plan::failover::FailoverPlan)>,
    /// When members out of service were last looked for.
    rejoin_checked: Option<Instant>,
    /// Members out of service that hold what the primary lacks (said once).
    diverged: std::collections::BTreeSet<String>,
    /// Since when the primary answers but is not Ready (takes no write), and what was said
    /// about it (write_path.rs).
    not_serving_since: Option<Instant>,
    not_serving_said: Option<&'static str>,
    /// The rebuild the agent runs (--auto-rebuild), one at a time, beside the watch.
    rebuilding: Option<tokio::task::JoinHandle<()>>,
}

impl Watch {
    /// The primary's silence is over (it answered, it changed, or it was failed over).
    fn end_silence(&mut self) {
        self.unreachable_since = None;
        self.restarting = false;
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
    let mut watch = Watch::default();
    let mut leading = false;
    let mut ticks = tokio::time::interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_leading = leadership.leads();
        if now_leading != leading {
            leading = now_leading;
            let note = if leading {
                format!(
                    "{identity} leads the agent of cluster {cluster} (Lease {})",
                    objects::agent_name(&cluster)
                )
            } else {
                format!("{identity} stands by")
            };
            decision(&ctx, "AgentLeader", &note, None);
            // Watched afresh (and said again in the Lease) by whoever leads now.
            watch.primary.clear();
            watch.last_answer = None;
            watch.answered_as = None;
            watch.end_silence();
            watch.not_serving_since = None;
            watch.new_leader = leading;
        }
        if !leading {
            continue;
        }
        if let Err(e) = watch_once(&ctx, &cluster, &settings, &mut watch, &leadership).await {
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
fn decision(ctx: &Context, reason: &str, note: &str, pod: Option<&str>) {
    say(&format!("{reason}: {note}"));
    if let Some(events) = &ctx.events {
        events.step(reason, note, pod);
    }
}

/// One probe of the primary and what follows from it.
async fn watch_once(
    ctx: &Context,
    name: &str,
    settings: &Settings,
    watch: &mut Watch,
    leadership: &leader::Leadership,
) -> Result<()> {
    let cluster = Cluster::load(ctx, name).await?;
    if cluster.primary.is_empty() {
        return Ok(());
    }
    if watch.primary != cluster.primary {
        watch.primary = cluster.primary.clone();
        watch.last_answer = None;
        watch.answered_as = None;
        watch.end_silence();
        watch.agreed = None;
        watch.not_serving_since = None;
        watch.not_serving_said = None;
        leadership.annotate(leader::WATCHING_ANNOTATION, cluster.primary.clone());
    }
    let primary = cluster.primary.clone();
    let asked = Instant::now();
    let answer = match primary_address(&cluster) {
        Some(addr) => probe::handshake(addr, HANDSHAKE_TIMEOUT).await,
        None => Err(anyhow::anyhow!("pod {primary} has no IP")),
    };
    let pod = cluster.member(&primary).and_then(|m| m.pod.as_ref());
    let Err(silence) = answer else {
        let new_leader = std::mem::take(&mut watch.new_leader);
        watch.last_answer = Some(asked);
        watch.restarting = false;
        watch.answered_as = pod.and_then(|p| p.metadata.uid.clone());
        if let Some(since) = watch.unreachable_since.take() {
            decision(
                ctx,
                "PrimaryAnswersAgain",
                &format!(
                    "primary {primary} answers again after {:.1}s: no failover",
                    since.elapsed().as_secs_f64()
                ),
                Some(&primary),
            );
            reconnect_replicas(ctx, name, &cluster).await;
        } else if new_leader {
            reconnect_replicas(ctx, name, &cluster).await;
        }
        watch.said = None;
        watch.agreed = None;
        if watch
            .rejoin_checked
            .is_none_or(|at| at.elapsed() >= REJOIN_EVERY)
        {
            watch.rejoin_checked = Some(Instant::now());
            rejoin_members(ctx, name, &cluster, settings, watch).await;
            if let Some(peer) = handoff::peer_off_primary_node(&cluster).await {
                decision(
                    ctx,
                    "AgentHandOff",
                    &format!("this agent shares primary {primary}'s node: the leadership goes to {peer} on another node, which does not fail with it"),
                    None,
                );
                leadership.hand_to(&peer);
            }
        }
        write_path::watch(ctx, name, &cluster, settings, watch).await;
        return Ok(());
    };
    let since = match watch.unreachable_since {
        Some(since) => since,
        None => {
            decision(
                ctx,
                "PrimaryUnreachable",
                &format!(
                    "primary {primary} does not answer the agent ({}); failover if it stays so for {}s ({}s once its port refuses or resets a connection and its pod stays: a restart in place) and its replicas agree",
                    crate::base::one_line(&silence),
                    settings.grace.as_secs(),
                    (settings.grace + settings.restart_grace).as_secs()
                ),
                Some(&primary),
            );
            *watch
                .unreachable_since
                .insert(watch.last_answer.unwrap_or(asked))
        }
    };
    // A server restarting in place (its port refused or reset a connection) gets the restart
    // grace more; a pod being replaced does not restart in place.
    watch.restarting = if replaced(pod, watch.answered_as.as_deref()) {
        false
    } else {
        watch.restarting || probe::restarting(&silence)
    };
    let grace = if watch.restarting {
        settings.grace + settings.restart_grace
    } else {
        settings.grace
    };
    // The replicas are asked from ASK_AHEAD before the grace ends, so that their answer is
    // there when it ends (it takes an exec each, and a second for their own connection attempt).
    if since.elapsed() + ASK_AHEAD < grace {
        return Ok(());
    }
    let fresh = watch
        .agreed
        .as_ref()
        .is_some_and(|(at, _)| at.elapsed() < ASK_AHEAD);
    if !fresh {
        // The replicas' word: a replica still receiving from it means the agent is cut off.
        // Their state and their own attempt to reach the primary, asked at once.
        let (plan, reaching) = plan::failover::plan_knowing_reach(
            &cluster,
            still_reaching(&cluster, replicas_of(&cluster)),
        )
        .await;
        let connected: Vec<String> = receiving_from_primary(&plan.replicas)
            .into_iter()
            .filter(|p| reaching.contains(p))
            .collect();
        if !connected.is_empty() {
            watch.agreed = None;
            if since.elapsed() >= grace {
                once(ctx, watch, "AgentPartitioned", &format!(
                    "primary {primary} does not answer the agent for {:.0}s but replica(s) {} still receive from it: no failover while they do (the agent is cut off, or they have not noticed yet)",
                    since.elapsed().as_secs_f64(), connected.join(", ")), &primary);
            }
            return Ok(());
        }
        watch.agreed = Some((Instant::now(), plan));
    }
    if since.elapsed() < grace {
        return Ok(());
    }
    let Some((_, plan)) = watch.agreed.take() else {
        return Ok(());
    };
    let last = cooldown::LastFailover::from_annotation(
        leadership
            .annotation(leader::LAST_FAILOVER_RECORD_ANNOTATION)
            .as_deref(),
    );
    let within_cooldown = match cooldown::decide(last.as_ref(), settings.cooldown, Timestamp::now())
    {
        cooldown::Verdict::Free => false,
        cooldown::Verdict::Second => true,
        cooldown::Verdict::Wait(why) => {
            once(ctx, watch, "FailoverCooldown", &format!(
                "primary {primary} is lost, but {why}: no failover; run kubectl mysqlha failover {name} to move it"), &primary);
            return Ok(());
        }
    };
    if let Some(refusal) = plan.plan.go_ahead().err() {
        once(
            ctx,
            watch,
            "FailoverRefused",
            &format!(
                "primary {primary} is lost ({} replica(s) agree) but no failover: {}",
                plan.replicas.len(),
                crate::base::one_line(&refusal)
            ),
            &primary,
        );
        return Ok(());
    }
    if !leadership.leads() {
        return Ok(());
    }
    decision(
        ctx,
        "PrimaryLost",
        &format!(
            "primary {primary} has not answered for {:.1}s and none of its {} replica(s) receives from it: failing over",
            since.elapsed().as_secs_f64(),
            plan.replicas.len()
        ),
        Some(&primary),
    );
    let started = Instant::now();
    match locked_failover(ctx, name, &primary, plan).await {
        Ok(done) => {
            let now = Timestamp::now();
            let record = cooldown::LastFailover {
                at: now,
                promoted: done.candidate.clone(),
                within_cooldown,
            };
            let until = record.cooldown_until(settings.cooldown);
            let cooling = if within_cooldown {
                format!("the second within a cooldown: a primary lost before {until} waits for a person")
            } else {
                format!("cooldown {}s", settings.cooldown.as_secs())
            };
            decision(
                ctx,
                "AutomaticFailover",
                &format!(
                    "failed over from {} to {} in {:.2}s ({:.1}s after the primary stopped answering); {cooling}",
                    done.old,
                    done.candidate,
                    done.writable_after.as_secs_f64(),
                    since.elapsed().as_secs_f64(),
                ),
                Some(&done.candidate),
            );
            watch.end_silence();
            leadership.annotate(
                leader::LAST_FAILOVER_RECORD_ANNOTATION,
                record.to_annotation(),
            );
            leadership.annotate(
                leader::LAST_FAILOVER_ANNOTATION,
                format!(
                    "{now} {} → {} in {:.2}s",
                    done.old,
                    done.candidate,
                    done.writable_after.as_secs_f64()
                ),
            );
            leadership.annotate(leader::COOLDOWN_UNTIL_ANNOTATION, until.to_string());
        }
        Err(e) => once(
            ctx,
            watch,
            "FailoverRefused",
            &format!(
                "automatic failover of {primary} did not happen after {:.1}s: {}",
                started.elapsed().as_secs_f64(),
                crate::base::one_line(&e)
            ),
            &primary,
        ),
    }
    Ok(())
}

/// The primary's pod is gone, going, or not the pod that last answered: it is being replaced,
/// not restarting in place. A new pod takes longer than a restart (scheduling, init containers,
/// the server's start), and one evicted from a drained node may not come back at all.
fn replaced(pod: Option<&Pod>, answered_as: Option<&str>) -> bool {
    let Some(pod) = pod else { return true };
    pod.metadata.deletion_timestamp.is_some()
        || answered_as.is_some_and(|uid| pod.metadata.uid.as_deref() != Some(uid))
}

/// A decision said once per episode (until the primary answers again).
fn once(ctx: &Context, watch: &mut Watch, reason: &'static str, note: &str, pod: &str) {
    if watch.said != Some(reason) {
        watch.said = Some(reason);
        decision(ctx, reason, note, Some(pod));
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
            "ReplicasReconnected",
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

/// Brings members found out of service (an old primary back after a failover) back as
/// replicas when they hold nothing the primary lacks, under the operation lock (when a command
/// holds it, next time); says once of each other one why it stays out.
async fn rejoin_members(
    ctx: &Context,
    name: &str,
    cluster: &Cluster,
    settings: &Settings,
    watch: &mut Watch,
) {
    let found = rejoin::out_of_service(cluster).await;
    watch
        .diverged
        .retain(|p| found.iter().any(|(pod, _)| pod == p));
    if settings.auto_rebuild {
        rebuild::rebuild_one(ctx, name, &found, &mut watch.rebuilding, &watch.diverged);
    }
    let idle: Vec<String> = found
        .into_iter()
        .filter(|(pod, why)| *why == rejoin::OutOfService::Idle && !watch.diverged.contains(pod))
        .map(|(pod, _)| pod)
        .collect();
    if idle.is_empty() {
        return;
    }
    let Ok(op) = begin(ctx, name, "rejoin").await else {
        return;
    };
    let result = async {
        let cluster = Cluster::load(&op, name).await?;
        for pod in &idle {
            match rejoin::rejoin(&op, &cluster, pod).await? {
                Some(rejoin::Outcome::Rejoined { pod, position }) => decision(
                    &op,
                    "Rejoined",
                    &format!(
                        "{pod} (GTID {position}) holds nothing primary {} lacks: it replicates from it again",
                        cluster.primary
                    ),
                    Some(&pod),
                ),
                Some(rejoin::Outcome::Diverged { pod, errant }) => {
                    decision(
                        &op,
                        "OutOfService",
                        &format!(
                            "{pod} holds transactions primary {} lacks ({}): it stays read-only and out of service; kubectl mysqlha rebuild-replica {name} {pod} clones it again (discarding them)",
                            cluster.primary,
                            errant.join(",")
                        ),
                        Some(&pod),
                    );
                    watch.diverged.insert(pod);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    fn pod(uid: &str, deleting: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                deletion_timestamp: deleting.then(|| {
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now())
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_pod_deleted_or_remade_is_replaced_not_restarting_in_place() {
        // The pod that answered, still there: its server may restart in place.
        assert!(!replaced(Some(&pod("a", false)), Some("a")));
        assert!(!replaced(Some(&pod("a", false)), None));
        // Deleted, gone, or another pod by the same name: replaced.
        assert!(replaced(Some(&pod("a", true)), Some("a")));
        assert!(replaced(None, Some("a")));
        assert!(replaced(Some(&pod("b", false)), Some("a")));
    }
}
