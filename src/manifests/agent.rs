//! The automatic-failover agent of a cluster: a Deployment of 2 pods running
//! `kubectl-mysqlha agent run NAME` (leader election through a Lease of its own), its
//! ServiceAccount, and a namespaced Role, with exactly the rights the agent uses, bound to it.
use super::labels;
use super::monitoring::{PodMetricsEndpoint, PodMonitor, PodMonitorSpec};
use super::statefulset::from_pod_field;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
    ResourceRequirements, ServiceAccount, Toleration, WeightedPodAffinityTerm,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;
use std::time::Duration;

/// The agent's image when --agent-image is not given ($MYSQLHA_AGENT_IMAGE overrides it).
pub const DEFAULT_AGENT_IMAGE: &str = concat!(
    "ghcr.io/mysqlha/kubectl-mysqlha:",
    env!("CARGO_PKG_VERSION")
);
/// The port on which each agent pod serves `/metrics` (Prometheus text format).
pub const METRICS_PORT: u16 = 9560;
/// That port's name in the pod spec (what a PodMonitor names).
pub const METRICS_PORT_NAME: &str = "metrics";
/// The path the agent serves its metrics on (and the only one it answers).
pub const METRICS_PATH: &str = "/metrics";

/// The annotations by which a plain Prometheus (`kubernetes_sd_configs`, role pod, the usual
/// relabelling) finds a pod's metrics.
pub fn scrape_annotations(port: u16) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("prometheus.io/scrape".to_string(), "true".to_string()),
        ("prometheus.io/port".to_string(), port.to_string()),
        ("prometheus.io/path".to_string(), METRICS_PATH.to_string()),
    ])
}

/// How long a pod on a lost node stays bound to it before Kubernetes evicts it (the standby
/// leads meanwhile; this only brings the Deployment back to two pods sooner).
const NODE_LOSS_TOLERATION_SECONDS: i64 = 5;

/// What the agent is deployed with.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub cluster: String,
    pub namespace: String,
    pub image: String,
    pub tuning: Tuning,
    /// How many members the cluster has: the agent may exec into and delete these pods only.
    pub members: i32,
}

/// How the agent decides: the flags of `kubectl-mysqlha agent run` in its pods.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// How long the primary must be unreachable before it counts as lost.
    pub grace: Duration,
    /// How much longer a primary restarting in place (its port refused) is waited for.
    pub restart_grace: Duration,
    /// After an automatic failover, one more at most for this long (crate::agent::cooldown).
    pub cooldown: Duration,
    /// Re-clone members that cannot serve by themselves (a diverged old primary, a replica
    /// whose replication stopped on an error).
    pub auto_rebuild: bool,
}

impl Tuning {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--grace={}s", self.grace.as_secs()),
            format!("--restart-grace={}s", self.restart_grace.as_secs()),
            format!("--cooldown={}s", self.cooldown.as_secs()),
        ];
        if self.auto_rebuild {
            args.push("--auto-rebuild".into());
        }
        args
    }

    /// For Events and messages.
    pub fn describe(&self) -> String {
        format!(
            "grace {}s ({}s more for a restart in place), cooldown {}s{}",
            self.grace.as_secs(),
            self.restart_grace.as_secs(),
            self.cooldown.as_secs(),
            if self.auto_rebuild {
                ", rebuilds members that cannot serve"
            } else {
                ""
            }
        )
    }
}

/// NAME-agent: the Deployment, ServiceAccount, Role, RoleBinding and the leader Lease.
pub fn agent_name(cluster: &str) -> String {
    format!("{cluster}-agent")
}

/// The labels of the agent's pods (not the members' selector: they are no database member).
pub fn agent_selector(cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "mysqlha-agent".to_string(),
        ),
        (
            "app.kubernetes.io/instance".to_string(),
            cluster.to_string(),
        ),
    ])
}

fn agent_metadata(spec: &AgentSpec) -> ObjectMeta {
    let mut labels = labels(&spec.cluster);
    labels.insert("app.kubernetes.io/component".into(), "agent".into());
    ObjectMeta {
        name: Some(agent_name(&spec.cluster)),
        namespace: Some(spec.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

pub fn service_account(spec: &AgentSpec) -> ServiceAccount {
    ServiceAccount {
        metadata: agent_metadata(spec),
        ..Default::default()
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str], names: &[String]) -> PolicyRule {
    let strings = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(vec![group.to_string()]),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        resource_names: (!names.is_empty()).then(|| names.to_vec()),
        ..Default::default()
    }
}

/// The member pods of cluster `name` with `members` members, by name.
pub fn member_pods(name: &str, members: i32) -> Vec<String> {
    (0..members.max(0)).map(|i| format!("{name}-{i}")).collect()
}

/// What the agent reads and changes: the cluster's record, Secret and write Service by name,
/// its member pods by name (exec, restart the old primary; reading pods is unnamed: a list
/// cannot be narrowed by name), its two Leases, and Events. Nothing of another application in
/// the namespace: no exec into, delete of or Secret of anything else (`scale` keeps the member
/// names current).
pub fn role(spec: &AgentSpec) -> Role {
    role_for(&spec.cluster, &spec.namespace, spec.members)
}

/// The agent's Role for cluster `name` in `namespace` with `members` members.
pub fn role_for(name: &str, namespace: &str, members: i32) -> Role {
    let name = &name.to_string();
    let members = member_pods(name, members);
    let leases = [super::lock_lease_name(name), agent_name(name)];
    let mut labels = labels(name);
    labels.insert("app.kubernetes.io/component".into(), "agent".into());
    Role {
        metadata: ObjectMeta {
            name: Some(agent_name(name)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        rules: Some(vec![
            rule(
                "apps",
                &["statefulsets"],
                &["get"],
                std::slice::from_ref(name),
            ),
            rule(
                "",
                &["configmaps"],
                &["get", "patch"],
                std::slice::from_ref(name),
            ),
            rule("", &["secrets"], &["get"], &[format!("{name}-credentials")]),
            rule(
                "",
                &["services"],
                &["get", "patch"],
                &[format!("{name}-primary")],
            ),
            rule("", &["pods"], &["get", "list"], &[]),
            rule("", &["pods"], &["delete"], &members),
            rule("", &["pods/exec"], &["get", "create"], &members),
            rule("coordination.k8s.io", &["leases"], &["create"], &[]),
            rule(
                "coordination.k8s.io",
                &["leases"],
                &["get", "update", "delete"],
                &leases,
            ),
            // Core Events: the built-in `admin` role may grant that (not events.k8s.io).
            rule("", &["events"], &["create"], &[]),
        ]),
    }
}

/// The name of the agent's Role (and RoleBinding) for archiving: reading where backups go and
/// the key that opens the store.
pub fn archive_role_name(cluster: &str) -> String {
    format!("{}-backup", agent_name(cluster))
}

/// The agent's rights to archive cluster `name`'s binary logs and keep its schedule (`backup
/// enable`): read (and record the last scheduled backup in) ConfigMap NAME-backup, read Secret
/// `secret`; nothing else.
pub fn archive_role(name: &str, namespace: &str, secret: &str) -> Role {
    let mut labels = labels(name);
    labels.insert("app.kubernetes.io/component".into(), "agent".into());
    Role {
        metadata: ObjectMeta {
            name: Some(archive_role_name(name)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        rules: Some(vec![
            rule(
                "",
                &["configmaps"],
                &["get", "patch"],
                &[super::backup::config_name(name)],
            ),
            rule("", &["secrets"], &["get"], &[secret.to_string()]),
        ]),
    }
}

/// Binds `archive_role` to the agent's ServiceAccount.
pub fn archive_role_binding(name: &str, namespace: &str) -> RoleBinding {
    let mut labels = labels(name);
    labels.insert("app.kubernetes.io/component".into(), "agent".into());
    RoleBinding {
        metadata: ObjectMeta {
            name: Some(archive_role_name(name)),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: archive_role_name(name),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: agent_name(name),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        }]),
    }
}

pub fn role_binding(spec: &AgentSpec) -> RoleBinding {
    let name = agent_name(&spec.cluster);
    RoleBinding {
        metadata: agent_metadata(spec),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name,
            namespace: Some(spec.namespace.clone()),
            ..Default::default()
        }]),
    }
}

fn toleration(key: &str) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        toleration_seconds: Some(NODE_LOSS_TOLERATION_SECONDS),
        ..Default::default()
    }
}

/// The agent's user (nobody): it needs no file of its own.
const AGENT_UID: i64 = 65534;

/// How often a Prometheus run by the prometheus-operator scrapes the agent: with the shipped
/// rules evaluated every 2 s, a lost primary pages within ~10 s.
pub const SCRAPE_INTERVAL: &str = "5s";

/// NAME-agent: the `PodMonitor` for the agent's `metrics` port (both pods; only the leader's
/// page has the cluster's figures, each has its own).
pub fn pod_monitor(spec: &AgentSpec) -> PodMonitor {
    PodMonitor::new(
        agent_metadata(spec),
        PodMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(agent_selector(&spec.cluster)),
                ..Default::default()
            },
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: METRICS_PORT_NAME.into(),
                path: METRICS_PATH.into(),
                interval: SCRAPE_INTERVAL.into(),
            }],
        },
    )
}

/// Two pods, preferably on different nodes; one leads (Lease NAME-agent), the other stands by.
pub fn deployment(spec: &AgentSpec) -> Deployment {
    let selector = agent_selector(&spec.cluster);
    let mut pod_labels = agent_metadata(spec).labels.unwrap_or_default();
    pod_labels.extend(selector.clone());
    let mut args = vec!["agent".to_string(), "run".to_string(), spec.cluster.clone()];
    args.extend(spec.tuning.args());
    let container = Container {
        name: "agent".into(),
        image: Some(spec.image.clone()),
        args: Some(args),
        env: Some(vec![
            from_pod_field("POD_NAME", "metadata.name"),
            from_pod_field("POD_NAMESPACE", "metadata.namespace"),
            from_pod_field("NODE_NAME", "spec.nodeName"),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some(METRICS_PORT_NAME.into()),
            container_port: i32::from(METRICS_PORT),
            ..Default::default()
        }]),
        security_context: Some(super::security::restricted_container(AGENT_UID)),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("10m".into())),
                ("memory".to_string(), Quantity("32Mi".into())),
            ])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let spread = PodAntiAffinity {
        preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
            weight: 100,
            pod_affinity_term: PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_labels: Some(selector.clone()),
                    ..Default::default()
                }),
                topology_key: "kubernetes.io/hostname".into(),
                ..Default::default()
            },
        }]),
        ..Default::default()
    };
    Deployment {
        metadata: agent_metadata(spec),
        spec: Some(DeploymentSpec {
            replicas: Some(2),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(scrape_annotations(METRICS_PORT)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(agent_name(&spec.cluster)),
                    containers: vec![container],
                    affinity: Some(Affinity {
                        pod_anti_affinity: Some(spread),
                        ..Default::default()
                    }),
                    tolerations: Some(vec![
                        toleration("node.kubernetes.io/not-ready"),
                        toleration("node.kubernetes.io/unreachable"),
                    ]),
                    security_context: Some(super::security::restricted_pod(AGENT_UID, None)),
                    termination_grace_period_seconds: Some(5),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AgentSpec {
        AgentSpec {
            cluster: "shop".into(),
            namespace: "db".into(),
            image: "agent:1".into(),
            members: 3,
            tuning: Tuning {
                grace: Duration::from_secs(6),
                restart_grace: Duration::from_secs(15),
                cooldown: Duration::from_secs(300),
                auto_rebuild: true,
            },
        }
    }

    #[test]
    fn the_pod_monitor_selects_the_agents_pods_by_their_metrics_port() {
        let monitor = pod_monitor(&spec());
        let pods = deployment(&spec()).spec.unwrap().template;
        let pod_labels = pods.metadata.unwrap().labels.unwrap();
        let selected = monitor.spec.selector.match_labels.clone().unwrap();
        assert!(selected.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
        // Not the members: they carry the cluster's labels, not the agent's name label.
        assert!(!selected
            .iter()
            .all(|(k, v)| crate::manifests::labels("shop").get(k) == Some(v)));
        let ports = pods.spec.unwrap().containers[0].ports.clone().unwrap();
        let endpoint = &monitor.spec.pod_metrics_endpoints[0];
        assert!(ports
            .iter()
            .any(|p| p.name.as_deref() == Some(endpoint.port.as_str())
                && p.container_port == i32::from(METRICS_PORT)));
        assert_eq!(
            (endpoint.path.as_str(), endpoint.interval.as_str()),
            ("/metrics", "5s")
        );
        assert_eq!(monitor.metadata.name.as_deref(), Some("shop-agent"));
        let json = serde_json::to_value(&monitor).unwrap();
        assert_eq!(json["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(json["kind"], "PodMonitor");
        assert_eq!(json["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
    }

    #[test]
    fn the_agent_may_exec_into_and_delete_its_members_only() {
        let rules = role(&spec()).rules.unwrap();
        let names_for = |resource: &str, verb: &str| -> Option<Vec<String>> {
            rules
                .iter()
                .filter(|r| r.resources.as_ref().unwrap().iter().any(|x| x == resource))
                .find(|r| r.verbs.iter().any(|v| v == verb))
                .map(|r| r.resource_names.clone().unwrap_or_default())
        };
        let members = vec!["shop-0".to_string(), "shop-1".into(), "shop-2".into()];
        assert_eq!(names_for("pods", "delete"), Some(members.clone()));
        assert_eq!(names_for("pods/exec", "create"), Some(members));
        assert_eq!(
            names_for("secrets", "get"),
            Some(vec!["shop-credentials".to_string()])
        );
        assert_eq!(names_for("secrets", "list"), None);
        assert_eq!(
            names_for("services", "patch"),
            Some(vec!["shop-primary".to_string()])
        );
        // Every rule that may change or run something names what it may touch, but Lease
        // creation (a create cannot be narrowed by name) and Events.
        for r in &rules {
            let writes = r.verbs.iter().any(|v| v != "get" && v != "list");
            let named = r.resource_names.as_ref().is_some_and(|n| !n.is_empty());
            let exempt = r.verbs == ["create"]
                && matches!(
                    r.resources.as_ref().unwrap()[0].as_str(),
                    "leases" | "events"
                );
            assert!(!writes || named || exempt, "{r:?}");
        }
    }

    #[test]
    fn agent_pods_pass_the_restricted_pod_security_standard() {
        let pod = deployment(&spec()).spec.unwrap().template.spec.unwrap();
        assert_eq!(
            crate::manifests::security::restricted_violations(&pod),
            Vec::<String>::new()
        );
    }

    #[test]
    fn two_pods_spread_that_tolerate_node_loss_briefly() {
        let d = deployment(&spec());
        let s = d.spec.unwrap();
        assert_eq!(s.replicas, Some(2));
        let pod = s.template.spec.unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("shop-agent"));
        let tolerations = pod.tolerations.unwrap();
        assert!(tolerations
            .iter()
            .all(|t| t.toleration_seconds == Some(NODE_LOSS_TOLERATION_SECONDS)));
        let args = pod.containers[0].args.clone().unwrap();
        assert_eq!(
            args,
            [
                "agent",
                "run",
                "shop",
                "--grace=6s",
                "--restart-grace=15s",
                "--cooldown=300s",
                "--auto-rebuild"
            ]
        );
        // Not selected as a member of the cluster.
        let labels = s.template.metadata.unwrap().labels.unwrap();
        assert_eq!(labels["app.kubernetes.io/name"], "mysqlha-agent");
    }

    #[test]
    fn the_archive_role_reads_the_backup_config_and_its_secret_only() {
        let role = archive_role("shop", "ns", "s3-key");
        let rules = role.rules.unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].verbs, ["get", "patch"]);
        assert_eq!(rules[1].verbs, ["get"]);
        assert_eq!(
            rules[0].resource_names.as_deref(),
            Some(&["shop-backup".to_string()][..])
        );
        assert_eq!(
            rules[1].resource_names.as_deref(),
            Some(&["s3-key".to_string()][..])
        );
        let binding = archive_role_binding("shop", "ns");
        assert_eq!(binding.role_ref.name, "shop-agent-backup");
        assert_eq!(binding.subjects.unwrap()[0].name, "shop-agent");
    }

    #[test]
    fn the_role_names_the_cluster_objects() {
        let r = role(&spec());
        let rules = r.rules.unwrap();
        let secrets = rules
            .iter()
            .find(|r| r.resources.as_ref().unwrap()[0] == "secrets")
            .unwrap();
        assert_eq!(
            secrets.resource_names.as_deref(),
            Some(&["shop-credentials".to_string()][..])
        );
        assert!(rules.iter().all(|r| !r.verbs.contains(&"*".to_string())));
    }
}
