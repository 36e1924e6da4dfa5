use super::{labels, metadata, selector_labels, ClusterSpec, DATA_DIR, MYSQL_PORT, SCRIPTS_DIR};
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, ExecAction, Lifecycle, LifecycleHandler, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SecretVolumeSource, SecurityContext, Volume,
    VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// Init container that writes the pod's my.cnf for its role.
pub const CONFIG_CONTAINER: &str = "config";
/// Init container in which a pod waits for its data; the plugin execs the clone into it.
pub const DATA_CONTAINER: &str = "data";
/// The database server container (mariadbd or mysqld).
pub const SERVER_CONTAINER: &str = "mysql";
const MYSQL_UID: i64 = 999;

pub fn statefulset(spec: &ClusterSpec) -> StatefulSet {
    StatefulSet {
        metadata: metadata(spec, spec.name.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(spec.replicas),
            service_name: Some(spec.name.clone()),
            pod_management_policy: Some("Parallel".into()),
            // The plugin restarts members itself, in an order that never surprises the primary.
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                ..Default::default()
            }),
            // Scaling down drops the removed members' data (they are re-cloned on scale-up);
            // deleting the StatefulSet keeps it: `kubectl mysqlha delete` decides.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_scaled: Some("Delete".into()),
                    when_deleted: Some("Retain".into()),
                },
            ),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&spec.name)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&spec.name)),
                    ..Default::default()
                }),
                spec: Some(pod_spec(spec)),
            },
            volume_claim_templates: Some(vec![data_claim(spec)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_spec(spec: &ClusterSpec) -> PodSpec {
    PodSpec {
        // The restricted Pod Security Standard; the volumes belong to the mysql group.
        security_context: Some(super::security::restricted_pod(MYSQL_UID, Some(MYSQL_UID))),
        termination_grace_period_seconds: Some(60),
        // The servers never call the Kubernetes API: no token to read through the server.
        automount_service_account_token: Some(false),
        affinity: Some(spread_over_nodes(spec)),
        init_containers: Some(vec![config_container(spec), data_container(spec)]),
        containers: vec![server_container(spec)],
        volumes: Some(vec![
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: spec.name.clone(),
                    default_mode: Some(0o755),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Volume {
                name: "secret".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(spec.secret_name()),
                    default_mode: Some(0o440),
                    ..Default::default()
                }),
                ..Default::default()
            },
            empty_dir("run"),
            empty_dir("socket"),
        ]),
        ..Default::default()
    }
}

/// The scheduler puts members on different nodes when it can (a lost node then takes one
/// member); preferred, not required, so a cluster larger than the node count still runs.
fn spread_over_nodes(spec: &ClusterSpec) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".into(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector_labels(&spec.name)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What every container of a member shares: the image, a script from the ConfigMap as its
/// command, and the config, run, data and socket mounts; the credentials Secret too where the
/// container needs it: the data container always (bootstrap and clones), the others when the
/// cluster speaks TLS (the Secret holds the member's certificate, which write-config.sh copies
/// for the server).
fn member_container(spec: &ClusterSpec, name: &str, script: &str) -> Container {
    let mut mounts = vec![
        mount("config", SCRIPTS_DIR),
        mount("run", "/etc/mysqlha/run"),
        mount("data", DATA_DIR),
        mount("socket", "/run/mysqld"),
    ];
    if name == DATA_CONTAINER || spec.tls.on() {
        mounts.push(credentials_mount());
    }
    Container {
        name: name.into(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sh".into(), format!("{SCRIPTS_DIR}/{script}")]),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// The credentials Secret's mount (passwords, and with TLS the members' certificates).
pub fn credentials_mount() -> VolumeMount {
    mount("secret", super::tls::SECRET_DIR)
}

fn config_container(spec: &ClusterSpec) -> Container {
    Container {
        env: Some(pod_env(spec)),
        security_context: Some(non_root()),
        ..member_container(spec, CONFIG_CONTAINER, "init.sh")
    }
}

fn data_container(spec: &ClusterSpec) -> Container {
    Container {
        security_context: Some(non_root()),
        resources: resources(spec),
        ..member_container(spec, DATA_CONTAINER, "wait-for-data.sh")
    }
}

fn server_container(spec: &ClusterSpec) -> Container {
    Container {
        env: Some(pod_env(spec)),
        ports: Some(vec![ContainerPort {
            name: Some("mysql".into()),
            container_port: MYSQL_PORT,
            ..Default::default()
        }]),
        readiness_probe: Some(Probe {
            exec: Some(ExecAction {
                command: Some(vec!["sh".into(), format!("{SCRIPTS_DIR}/probe.sh")]),
            }),
            period_seconds: Some(2),
            timeout_seconds: Some(5),
            failure_threshold: Some(2),
            ..Default::default()
        }),
        // A primary being deleted serves until the agent has switched over (pre-stop.sh).
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec!["sh".into(), format!("{SCRIPTS_DIR}/pre-stop.sh")]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        security_context: Some(non_root()),
        resources: resources(spec),
        ..member_container(spec, SERVER_CONTAINER, "start.sh")
    }
}

/// What write-config.sh (and whoever inspects the processes) needs to know about its pod.
fn pod_env(spec: &ClusterSpec) -> Vec<EnvVar> {
    vec![
        from_pod_field("POD_NAME", "metadata.name"),
        from_pod_field("POD_NAMESPACE", "metadata.namespace"),
        // New with every pod: write-config.sh makes the server id from it and the ordinal.
        from_pod_field("POD_UID", "metadata.uid"),
        EnvVar {
            name: "HEADLESS_SERVICE".into(),
            value: Some(spec.name.clone()),
            ..Default::default()
        },
    ]
}

/// An environment variable holding a field of the pod (downward API).
pub(super) fn from_pod_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn data_claim(spec: &ClusterSpec) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(selector_labels(&spec.name)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: spec.storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(spec.storage.clone()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn resources(spec: &ClusterSpec) -> Option<ResourceRequirements> {
    let mut requests = BTreeMap::new();
    if let Some(cpu) = &spec.cpu {
        requests.insert("cpu".to_string(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &spec.memory {
        requests.insert("memory".to_string(), Quantity(memory.clone()));
    }
    (!requests.is_empty()).then(|| ResourceRequirements {
        requests: Some(requests),
        ..Default::default()
    })
}

fn non_root() -> SecurityContext {
    super::security::restricted_container(MYSQL_UID)
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The containers of `spec`'s pod that mount the credentials Secret.
    fn mounting_credentials(spec: &ClusterSpec) -> Vec<String> {
        let pod = statefulset(spec).spec.unwrap().template.spec.unwrap();
        let all = pod
            .init_containers
            .unwrap()
            .into_iter()
            .chain(pod.containers);
        all.filter(|c| {
            c.volume_mounts
                .as_ref()
                .is_some_and(|m| m.iter().any(|m| m.name == "secret"))
        })
        .map(|c| c.name)
        .collect()
    }

    #[test]
    fn only_a_cluster_with_tls_mounts_the_credentials_beside_its_data_container() {
        let mut spec = crate::manifests::test_spec();
        assert_eq!(mounting_credentials(&spec), ["config", "data", "mysql"]);
        spec.tls = crate::manifests::tls::Tls::Off;
        assert_eq!(mounting_credentials(&spec), ["data"]);
    }

    #[test]
    fn server_never_runs_as_root_and_waits_for_data() {
        let sts = statefulset(&crate::manifests::test_spec());
        let pod = sts.spec.as_ref().unwrap().template.spec.clone().unwrap();
        let server = &pod.containers[0];
        assert_eq!(server.name, SERVER_CONTAINER);
        assert_eq!(
            server.security_context.as_ref().unwrap().run_as_user,
            Some(999)
        );
        let inits: Vec<_> = pod
            .init_containers
            .unwrap()
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(inits, [CONFIG_CONTAINER, DATA_CONTAINER]);
        let s = sts.spec.unwrap();
        assert_eq!(s.pod_management_policy.as_deref(), Some("Parallel"));
        assert_eq!(s.replicas, Some(3));
        assert_eq!(
            server
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()["memory"]
                .0,
            "512Mi"
        );
    }

    #[test]
    fn members_pass_the_restricted_pod_security_standard() {
        let sts = statefulset(&crate::manifests::test_spec());
        let pod = sts.spec.unwrap().template.spec.unwrap();
        assert_eq!(
            crate::manifests::security::restricted_violations(&pod),
            Vec::<String>::new()
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
        // No container runs as root, the config container included.
        for c in pod
            .containers
            .iter()
            .chain(pod.init_containers.iter().flatten())
        {
            assert_eq!(
                c.security_context.as_ref().unwrap().run_as_user,
                Some(999),
                "{}",
                c.name
            );
        }
        // The checker catches what it names (a root container, no drop, escalation).
        let mut bad = pod.clone();
        bad.init_containers.as_mut().unwrap()[0].security_context = None;
        bad.security_context = None;
        let found = crate::manifests::security::restricted_violations(&bad);
        assert!(
            found
                .iter()
                .any(|f| f == "config: allowPrivilegeEscalation != false"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f == "config: capabilities.drop != [ALL]"),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f == "config: runAsNonRoot != true"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f == "config: seccompProfile not RuntimeDefault"),
            "{found:?}"
        );
    }

    #[test]
    fn members_prefer_different_nodes() {
        let sts = statefulset(&crate::manifests::test_spec());
        let pod = sts.spec.unwrap().template.spec.unwrap();
        let anti = pod.affinity.unwrap().pod_anti_affinity.unwrap();
        assert!(anti
            .required_during_scheduling_ignored_during_execution
            .is_none());
        let preferred = anti
            .preferred_during_scheduling_ignored_during_execution
            .unwrap();
        let term = &preferred[0].pod_affinity_term;
        assert_eq!(term.topology_key, "kubernetes.io/hostname");
        assert_eq!(
            term.label_selector.clone().unwrap().match_labels.unwrap(),
            selector_labels("shop")
        );
    }
}
