//! The history of a cluster in Kubernetes Events (core v1, the group the built-in `admin` and
//! `edit` roles may create in; the same objects as events.k8s.io/v1): every command that
//! changes a cluster records that it started, the steps that matter, and that it was done or
//! failed (with the reason), all regarding the cluster's ConfigMap (its record), so that
//! `kubectl get events` and `kubectl describe configmap NAME` tell what happened and when.
//! Events about one member name its Pod as the related object.
//!
//! Recording never fails a command and never holds it up: events are sent in the background,
//! the first one that cannot be recorded is reported once on stderr and the command goes on
//! without recording more.
use crate::manifests;
use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, PostParams};
use kube::Api;
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The reportingController of every event the plugin records.
pub const CONTROLLER: &str = "kubectl-mysqlha";
/// How many of the cluster's last events `status` shows.
pub const RECENT: usize = 5;
/// The longest an API call for an event may take before recording is given up.
const CALL_LIMIT: Duration = Duration::from_secs(3);
/// The API server refuses longer notes.
const NOTE_LIMIT: usize = 1024;
const INSTANCE_LIMIT: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Normal,
    Warning,
}

/// The reason of a step's Event (CamelCase, as `kubectl get events` shows it and the tests read
/// it). The outcomes of an operation (`SwitchoverStarted`, `SwitchoverDone`, ...) are made from
/// its name instead (Recorder::started, done, failed, interrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // A cluster made, changed, removed (the commands).
    ObjectsCreated,
    PrimaryReady,
    Restored,
    StatefulSetScaled,
    MembersRemoved,
    WorkloadsDeleted,
    DataDeleted,
    StorageGrown,
    SettingsApplied,
    SettingsRecorded,
    UpgradeStarted,
    Upgraded,
    CertificatesRotated,
    TlsEnabled,
    BackupTaken,
    ArchiveFollowing,
    ArchiveFailed,
    ScheduledBackupFailed,
    BackupPruned,
    AgentDeployed,
    AgentRemoved,
    // Members cloned, joined, restarted.
    Cloning,
    MemberJoined,
    MovedOffLostNode,
    Restarting,
    // A failover or switchover, step by step.
    CandidateChosen,
    Fenced,
    Promoted,
    ReplicasRepointed,
    OldPrimaryRestarted,
    // The agent's decisions (agent/machine.rs) and what it does about them.
    AgentLeader,
    PrimaryUnreachable,
    PrimaryAnswersAgain,
    AgentPartitioned,
    FailoverCooldown,
    FailoverRefused,
    PrimaryLost,
    AutomaticFailover,
    AgentHandOff,
    PrimaryLeaving,
    PrimaryNotReady,
    PrimaryNotServing,
    PrimaryMadeWritable,
    ReplicasReconnected,
    Rejoined,
    OutOfService,
    AutoRebuild,
    Rebuilt,
}

impl Reason {
    /// Every reason, for the tests.
    #[cfg(test)]
    const ALL: &'static [Reason] = &[
        Reason::ObjectsCreated,
        Reason::PrimaryReady,
        Reason::Restored,
        Reason::StatefulSetScaled,
        Reason::MembersRemoved,
        Reason::WorkloadsDeleted,
        Reason::DataDeleted,
        Reason::StorageGrown,
        Reason::SettingsApplied,
        Reason::SettingsRecorded,
        Reason::UpgradeStarted,
        Reason::Upgraded,
        Reason::CertificatesRotated,
        Reason::TlsEnabled,
        Reason::BackupTaken,
        Reason::ArchiveFollowing,
        Reason::ArchiveFailed,
        Reason::ScheduledBackupFailed,
        Reason::BackupPruned,
        Reason::AgentDeployed,
        Reason::AgentRemoved,
        Reason::Cloning,
        Reason::MemberJoined,
        Reason::MovedOffLostNode,
        Reason::Restarting,
        Reason::CandidateChosen,
        Reason::Fenced,
        Reason::Promoted,
        Reason::ReplicasRepointed,
        Reason::OldPrimaryRestarted,
        Reason::AgentLeader,
        Reason::PrimaryUnreachable,
        Reason::PrimaryAnswersAgain,
        Reason::AgentPartitioned,
        Reason::FailoverCooldown,
        Reason::FailoverRefused,
        Reason::PrimaryLost,
        Reason::AutomaticFailover,
        Reason::AgentHandOff,
        Reason::PrimaryLeaving,
        Reason::PrimaryNotReady,
        Reason::PrimaryNotServing,
        Reason::PrimaryMadeWritable,
        Reason::ReplicasReconnected,
        Reason::Rejoined,
        Reason::OutOfService,
        Reason::AutoRebuild,
        Reason::Rebuilt,
    ];

    /// Something failed that needs a person's eye (a Warning Event).
    pub fn is_warning(self) -> bool {
        matches!(self, Reason::ArchiveFailed | Reason::ScheduledBackupFailed)
    }

    /// As the Event (and the agent's log line) spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ObjectsCreated => "ObjectsCreated",
            Reason::PrimaryReady => "PrimaryReady",
            Reason::Restored => "Restored",
            Reason::StatefulSetScaled => "StatefulSetScaled",
            Reason::MembersRemoved => "MembersRemoved",
            Reason::WorkloadsDeleted => "WorkloadsDeleted",
            Reason::DataDeleted => "DataDeleted",
            Reason::StorageGrown => "StorageGrown",
            Reason::SettingsApplied => "SettingsApplied",
            Reason::SettingsRecorded => "SettingsRecorded",
            Reason::UpgradeStarted => "UpgradeStarted",
            Reason::Upgraded => "Upgraded",
            Reason::CertificatesRotated => "CertificatesRotated",
            Reason::TlsEnabled => "TlsEnabled",
            Reason::BackupTaken => "BackupTaken",
            Reason::ArchiveFollowing => "ArchiveFollowing",
            Reason::ArchiveFailed => "ArchiveFailed",
            Reason::ScheduledBackupFailed => "ScheduledBackupFailed",
            Reason::BackupPruned => "BackupPruned",
            Reason::AgentDeployed => "AgentDeployed",
            Reason::AgentRemoved => "AgentRemoved",
            Reason::Cloning => "Cloning",
            Reason::MemberJoined => "MemberJoined",
            Reason::MovedOffLostNode => "MovedOffLostNode",
            Reason::Restarting => "Restarting",
            Reason::CandidateChosen => "CandidateChosen",
            Reason::Fenced => "Fenced",
            Reason::Promoted => "Promoted",
            Reason::ReplicasRepointed => "ReplicasRepointed",
            Reason::OldPrimaryRestarted => "OldPrimaryRestarted",
            Reason::AgentLeader => "AgentLeader",
            Reason::PrimaryUnreachable => "PrimaryUnreachable",
            Reason::PrimaryAnswersAgain => "PrimaryAnswersAgain",
            Reason::AgentPartitioned => "AgentPartitioned",
            Reason::FailoverCooldown => "FailoverCooldown",
            Reason::FailoverRefused => "FailoverRefused",
            Reason::PrimaryLost => "PrimaryLost",
            Reason::AutomaticFailover => "AutomaticFailover",
            Reason::AgentHandOff => "AgentHandOff",
            Reason::PrimaryLeaving => "PrimaryLeaving",
            Reason::PrimaryNotReady => "PrimaryNotReady",
            Reason::PrimaryNotServing => "PrimaryNotServing",
            Reason::PrimaryMadeWritable => "PrimaryMadeWritable",
            Reason::ReplicasReconnected => "ReplicasReconnected",
            Reason::Rejoined => "Rejoined",
            Reason::OutOfService => "OutOfService",
            Reason::AutoRebuild => "AutoRebuild",
            Reason::Rebuilt => "Rebuilt",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records the events of one operation (one command) on one cluster. Recording takes no time
/// in the command: events are made when they happen and sent in order by a background task;
/// the last one (done, failed, interrupted) waits until they are all sent, within FLUSH_LIMIT.
pub struct Recorder {
    namespace: String,
    cluster: String,
    operation: &'static str,
    instance: String,
    started: Instant,
    sequence: AtomicU32,
    queue: mpsc::UnboundedSender<Event>,
    sender: tokio::task::JoinHandle<()>,
}

/// The longest the end of a command waits for its events to be sent.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);

impl Recorder {
    /// Starts the background task that sends the events.
    pub fn new(
        client: &kube::Client,
        namespace: &str,
        cluster: &str,
        operation: &'static str,
    ) -> Self {
        let (queue, events) = mpsc::unbounded_channel();
        let sender = Sender {
            events: Api::namespaced(client.clone(), namespace),
            configs: Api::namespaced(client.clone(), namespace),
            cluster: cluster.into(),
            operation,
            cluster_uid: None,
        };
        Self {
            namespace: namespace.into(),
            cluster: cluster.into(),
            operation,
            instance: crate::base::truncate(&crate::k8s::lock::identity(), INSTANCE_LIMIT),
            started: Instant::now(),
            sequence: AtomicU32::new(0),
            queue,
            sender: tokio::spawn(sender.run(events)),
        }
    }

    /// `SwitchoverStarted`, with the command line (it never holds a secret).
    pub fn started(&self) {
        let command: Vec<String> = std::env::args().skip(1).collect();
        let note = format!(
            "{} of cluster {} started: kubectl mysqlha {}",
            self.operation,
            self.cluster,
            command.join(" ")
        );
        self.record(Type::Normal, &self.reason("Started"), &note, None);
    }

    /// `SwitchoverDone`, with how long it took.
    pub async fn done(self) {
        let note = format!(
            "{} of cluster {} done in {}",
            self.operation,
            self.cluster,
            self.took()
        );
        self.record(Type::Normal, &self.reason("Done"), &note, None);
        self.flush().await;
    }

    /// `SwitchoverFailed`, with the error's one line.
    pub async fn failed(self, error: &str) {
        let note = format!(
            "{} of cluster {} failed after {}: {error}",
            self.operation,
            self.cluster,
            self.took()
        );
        self.record(Type::Warning, &self.reason("Failed"), &note, None);
        self.flush().await;
    }

    /// `SwitchoverInterrupted`: Ctrl-C or SIGTERM (`how`) stopped the command half way.
    pub async fn interrupted(self, how: &str) {
        let note = format!(
            "{} of cluster {} {how} after {}; run the command again to finish it",
            self.operation,
            self.cluster,
            self.took()
        );
        self.record(Type::Warning, &self.reason("Interrupted"), &note, None);
        self.flush().await;
    }

    /// A step of the operation, about member `pod` when given (a Warning when the reason is
    /// one).
    pub fn step(&self, reason: Reason, note: &str, pod: Option<&str>) {
        let kind = if reason.is_warning() {
            Type::Warning
        } else {
            Type::Normal
        };
        self.record(kind, reason.as_str(), note, pod);
    }

    /// `Switchover` + `Started`.
    fn reason(&self, outcome: &str) -> String {
        format!("{}{outcome}", camel(self.operation))
    }

    fn took(&self) -> String {
        format!("{:.1}s", self.started.elapsed().as_secs_f64())
    }

    fn record(&self, kind: Type, reason: &str, note: &str, pod: Option<&str>) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        // A closed queue means the sender gave up (and said so once).
        let _ = self
            .queue
            .send(self.event(kind, reason, note, pod, sequence));
    }

    /// Waits until every event is sent (or given up), at most FLUSH_LIMIT.
    async fn flush(self) {
        drop(self.queue);
        if tokio::time::timeout(FLUSH_LIMIT, self.sender)
            .await
            .is_err()
        {
            eprintln!(
                "warning: the last events of the {} of cluster {} could not be recorded within {}s",
                self.operation,
                self.cluster,
                FLUSH_LIMIT.as_secs()
            );
        }
    }

    fn event(&self, kind: Type, reason: &str, note: &str, pod: Option<&str>, seq: u32) -> Event {
        let now = Timestamp::now();
        let reference = |kind: &str, name: &str| ObjectReference {
            api_version: Some("v1".into()),
            kind: Some(kind.into()),
            name: Some(name.into()),
            namespace: Some(self.namespace.clone()),
            ..Default::default()
        };
        Event {
            metadata: ObjectMeta {
                // Unique like client-go's: the object's name and the time in nanoseconds.
                name: Some(format!(
                    "{}.{:x}{seq:02x}",
                    self.cluster,
                    now.as_nanosecond()
                )),
                namespace: Some(self.namespace.clone()),
                labels: Some(manifests::selector_labels(&self.cluster)),
                ..Default::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(format!("{kind:?}")),
            reason: Some(reason.into()),
            action: Some(camel(self.operation)),
            message: Some(crate::base::truncate(note, NOTE_LIMIT)),
            involved_object: reference("ConfigMap", &self.cluster),
            related: pod.map(|p| reference("Pod", p)),
            reporting_component: Some(CONTROLLER.into()),
            reporting_instance: Some(self.instance.clone()),
            source: Some(EventSource {
                component: Some(CONTROLLER.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// The background task that creates the events, in the order they were made.
struct Sender {
    events: Api<Event>,
    configs: Api<ConfigMap>,
    cluster: String,
    operation: &'static str,
    /// The ConfigMap's uid once it exists (kubectl describe matches events by uid).
    cluster_uid: Option<String>,
}

impl Sender {
    /// Events made before the ConfigMap exists (the first ones of a create) wait for it; once
    /// the queue is closed, whatever waits is sent as it is. The first failure ends recording.
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Event>) {
        let mut waiting: Vec<Event> = Vec::new();
        loop {
            let next = queue.recv().await;
            let closed = next.is_none();
            waiting.extend(next);
            if self.cluster_uid.is_none() {
                self.cluster_uid = self.cluster_uid().await;
            }
            if self.cluster_uid.is_some() || closed {
                for mut event in waiting.drain(..) {
                    event.involved_object.uid = self.cluster_uid.clone();
                    if let Err(e) = self.post(&event).await {
                        eprintln!(
                            "warning: cannot record the {} of cluster {} in Kubernetes Events: {e:#}; the command goes on without its history",
                            self.operation, self.cluster
                        );
                        return;
                    }
                }
            }
            if closed {
                return;
            }
        }
    }

    async fn post(&self, event: &Event) -> Result<()> {
        let name = event.metadata.name.as_deref().unwrap_or_default();
        match tokio::time::timeout(
            CALL_LIMIT,
            self.events.create(&PostParams::default(), event),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(status))) => {
                anyhow::bail!("cannot create Event {name}: {}", status.message)
            }
            Ok(Err(e)) => Err(e).with_context(|| format!("cannot create Event {name}")),
            Err(_) => anyhow::bail!(
                "cannot create Event {name}: no answer within {}s",
                CALL_LIMIT.as_secs()
            ),
        }
    }

    /// The uid of the cluster's ConfigMap, None while it does not exist (or cannot be read).
    async fn cluster_uid(&self) -> Option<String> {
        let config = tokio::time::timeout(CALL_LIMIT, self.configs.get_opt(&self.cluster))
            .await
            .ok()?
            .ok()??;
        config.metadata.uid
    }
}

/// `rebuild-replica` → `RebuildReplica`.
fn camel(operation: &str) -> String {
    operation
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// One event of a cluster's history, as `status` shows it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it happened (RFC 3339, UTC).
    pub time: String,
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub kind: String,
    pub reason: String,
    pub note: String,
    /// Who ran the command (user@host (pid N)).
    pub by: String,
}

/// The last `count` events the plugin recorded on cluster `cluster`, oldest first.
pub async fn recent(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    count: usize,
) -> Result<Vec<Entry>> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let listed = events
        .list(&ListParams::default().labels(&manifests::selector_string(cluster)))
        .await
        .with_context(|| format!("cannot list the Events of cluster {cluster}"))?;
    Ok(last_entries(listed.items, cluster, count))
}

fn last_entries(events: Vec<Event>, cluster: &str, count: usize) -> Vec<Entry> {
    let mut ours: Vec<(Timestamp, Event)> = events
        .into_iter()
        .filter(|e| e.reporting_component.as_deref() == Some(CONTROLLER))
        .filter(|e| e.involved_object.name.as_deref() == Some(cluster))
        .map(|e| (when(&e), e))
        .collect();
    ours.sort_by_key(|(t, _)| *t);
    let skip = ours.len().saturating_sub(count);
    ours.into_iter()
        .skip(skip)
        .map(|(time, e)| Entry {
            time: time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            kind: e.type_.unwrap_or_default(),
            reason: e.reason.unwrap_or_default(),
            note: e.message.unwrap_or_default(),
            by: e.reporting_instance.unwrap_or_default(),
        })
        .collect()
}

fn when(event: &Event) -> Timestamp {
    event
        .event_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_camel_case() {
        assert_eq!(camel("rebuild-replica"), "RebuildReplica");
        assert_eq!(camel("switchover"), "Switchover");
    }

    #[test]
    fn step_reasons_are_camel_case_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for reason in Reason::ALL {
            let text = reason.as_str();
            assert!(
                text.starts_with(|c: char| c.is_ascii_uppercase())
                    && text.chars().all(|c| c.is_ascii_alphanumeric()),
                "{text} is not CamelCase"
            );
            assert_eq!(text, format!("{reason:?}"), "{reason:?} is spelt {text}");
            assert_eq!(reason.to_string(), text);
            assert!(seen.insert(text), "{text} twice");
        }
    }

    #[test]
    fn long_notes_are_cut_on_a_character() {
        let note = "é".repeat(600);
        let cut = crate::base::truncate(&note, NOTE_LIMIT);
        assert!(cut.len() <= NOTE_LIMIT);
        assert!(cut.ends_with("..."));
        assert_eq!(crate::base::truncate("short", NOTE_LIMIT), "short");
    }

    fn event(cluster: &str, at: i64, reason: &str, controller: &str) -> Event {
        Event {
            event_time: Some(MicroTime(Timestamp::from_second(at).unwrap())),
            reason: Some(reason.into()),
            reporting_component: Some(controller.into()),
            involved_object: ObjectReference {
                name: Some(cluster.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn the_last_events_of_the_cluster_oldest_first() {
        let events = vec![
            event("shop", 30, "SwitchoverDone", CONTROLLER),
            event("shop", 10, "SwitchoverStarted", CONTROLLER),
            event("shop", 20, "Promoted", CONTROLLER),
            event("shop", 25, "Other", "someone-else"),
            event("shop-0", 26, "Killing", CONTROLLER),
        ];
        let last = last_entries(events, "shop", 2);
        let reasons: Vec<&str> = last.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["Promoted", "SwitchoverDone"]);
        assert_eq!(last[0].time, "1970-01-01T00:00:20Z");
    }
}

/// The recorder's API traffic, against a scripted API server.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{
        core, echo, forbidden, list, managed, not_found, ok, Call, Reply, Script, NS,
    };
    use serde_json::{json, Value};

    fn config_map() -> String {
        core("configmaps", "shop")
    }

    fn events() -> String {
        core("events", "")
    }

    fn the_record() -> Reply {
        ok(managed("v1", "ConfigMap", "shop", "shop"))
    }

    fn reasons(calls: &[Call]) -> Vec<String> {
        calls
            .iter()
            .filter(|c| c.method == "POST")
            .map(|c| c.body["reason"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[tokio::test]
    async fn an_operation_records_started_and_done_on_the_clusters_configmap() {
        let (client, server) = Script::new()
            .get(config_map(), the_record())
            .post(events(), echo())
            .post(events(), echo())
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "switchover");
        recorder.started();
        recorder.done().await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["SwitchoverStarted", "SwitchoverDone"]);
        let started = &calls[1].body;
        assert_eq!(
            started["involvedObject"],
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "name": "shop",
                    "namespace": NS, "uid": "uid-shop" })
        );
        assert_eq!(started["type"], "Normal");
        assert_eq!(started["action"], "Switchover");
        assert_eq!(started["reportingComponent"], CONTROLLER);
        assert_eq!(started["source"]["component"], CONTROLLER);
        assert_eq!(
            started["metadata"]["labels"],
            serde_json::to_value(manifests::selector_labels("shop")).unwrap()
        );
        assert!(calls[2].body["message"]
            .as_str()
            .unwrap()
            .starts_with("switchover of cluster shop done in "));
    }

    #[tokio::test]
    async fn a_step_about_a_member_names_its_pod_as_the_related_object() {
        let (client, server) = Script::new()
            .get(config_map(), the_record())
            .post(events(), echo())
            .post(events(), echo())
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "failover");
        recorder.step(Reason::Promoted, "shop-1 promoted", Some("shop-1"));
        recorder.done().await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["Promoted", "FailoverDone"]);
        assert_eq!(calls[1].body["message"], "shop-1 promoted");
        assert_eq!(
            calls[1].body["related"],
            json!({ "apiVersion": "v1", "kind": "Pod", "name": "shop-1", "namespace": NS })
        );
        assert_eq!(calls[2].body["related"], Value::Null);
    }

    #[tokio::test]
    async fn a_failed_operation_is_a_warning_with_its_error() {
        let (client, server) = Script::new()
            .get(config_map(), the_record())
            .post(events(), echo())
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "rebuild-replica");
        recorder.failed("shop-2 cannot be reached").await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["RebuildReplicaFailed"]);
        assert_eq!(calls[1].body["type"], "Warning");
        let note = calls[1].body["message"].as_str().unwrap().to_string();
        assert!(note.starts_with("rebuild-replica of cluster shop failed after "));
        assert!(note.ends_with(": shop-2 cannot be reached"));
    }

    #[tokio::test]
    async fn an_interrupted_operation_is_a_warning_that_says_how() {
        let (client, server) = Script::new()
            .get(config_map(), the_record())
            .post(events(), echo())
            .start();
        Recorder::new(&client, NS, "shop", "scale")
            .interrupted("terminated")
            .await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["ScaleInterrupted"]);
        assert_eq!(calls[1].body["type"], "Warning");
        assert!(calls[1].body["message"]
            .as_str()
            .unwrap()
            .contains("scale of cluster shop terminated after "));
    }

    #[tokio::test]
    async fn events_made_before_the_configmap_exists_wait_for_it_and_then_carry_its_uid() {
        let (client, server) = Script::new()
            .get(config_map(), not_found("configmaps", "shop"))
            .get(config_map(), the_record())
            .post(events(), echo())
            .post(events(), echo())
            .post(events(), echo())
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "create");
        recorder.started();
        recorder.step(Reason::ObjectsCreated, "made", None);
        recorder.done().await;
        let calls = server.finish();
        assert_eq!(
            reasons(&calls),
            ["CreateStarted", "ObjectsCreated", "CreateDone"]
        );
        for posted in calls.iter().filter(|c| c.method == "POST") {
            assert_eq!(posted.body["involvedObject"]["uid"], "uid-shop");
        }
    }

    #[tokio::test]
    async fn events_of_a_cluster_that_never_got_its_configmap_are_sent_at_the_end_without_uid() {
        let (client, server) = Script::new()
            .get(config_map(), not_found("configmaps", "shop"))
            .get(config_map(), not_found("configmaps", "shop"))
            .get(config_map(), not_found("configmaps", "shop"))
            .post(events(), echo())
            .post(events(), echo())
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "create");
        recorder.started();
        recorder.failed("namespace ns not found").await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["CreateStarted", "CreateFailed"]);
        assert_eq!(calls[3].body["involvedObject"]["uid"], Value::Null);
    }

    #[tokio::test]
    async fn the_first_event_refused_ends_recording_and_the_command_goes_on() {
        let (client, server) = Script::new()
            .get(config_map(), the_record())
            .post(events(), forbidden("events is forbidden"))
            .start();
        let recorder = Recorder::new(&client, NS, "shop", "switchover");
        recorder.started();
        recorder.step(Reason::Promoted, "shop-1 promoted", Some("shop-1"));
        recorder.done().await;
        let calls = server.finish();
        assert_eq!(reasons(&calls), ["SwitchoverStarted"]);
    }

    #[tokio::test]
    async fn a_context_without_a_recorder_records_nothing() {
        let (ctx, server) = Script::new().start_context();
        ctx.event(Reason::Promoted, "nothing to record");
        ctx.member_event("shop-1", Reason::Promoted, "nothing to record");
        assert!(server.finish().is_empty());
    }

    #[tokio::test]
    async fn the_recent_history_lists_the_clusters_events_by_its_labels() {
        let event = |reason: &str, at: &str| {
            json!({
                "metadata": { "name": format!("shop.{reason}"), "namespace": NS },
                "involvedObject": { "kind": "ConfigMap", "name": "shop" },
                "reason": reason, "type": "Normal", "message": reason,
                "eventTime": at, "reportingComponent": CONTROLLER,
                "reportingInstance": "ann@desk (pid 7)",
            })
        };
        let (client, server) = Script::new()
            .get(
                format!(
                    "{}?labelSelector={}",
                    events(),
                    manifests::selector_string("shop")
                ),
                list(vec![
                    event("SwitchoverDone", "2026-01-01T10:00:05.000000Z"),
                    event("SwitchoverStarted", "2026-01-01T10:00:01.000000Z"),
                ]),
            )
            .start();
        let entries = recent(&client, NS, "shop", RECENT).await.unwrap();
        let reasons: Vec<&str> = entries.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["SwitchoverStarted", "SwitchoverDone"]);
        assert_eq!(entries[0].by, "ann@desk (pid 7)");
        server.finish();
    }
}
