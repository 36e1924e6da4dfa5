//! Pure functions from a ClusterSpec to typed Kubernetes objects. Nothing here talks to a cluster.
pub mod agent;
pub mod alerts;
pub mod backup;
mod config;
mod disruption;
pub mod monitoring;
mod secret;
pub mod security;
mod services;
mod statefulset;
pub mod tls;

pub use config::{config_map, DURABILITY_KEY, ENGINE_KEY, PRIMARY_GENERATION_KEY, PRIMARY_KEY};
pub use disruption::pod_disruption_budget;
pub use secret::{one_time_token, secret, Passwords};
pub use services::{member_of_host, member_service, member_service_name, services, POD_NAME_LABEL};
pub use statefulset::{
    credentials_mount, statefulset, CONFIG_CONTAINER, DATA_CONTAINER, SERVER_CONTAINER,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const FIELD_MANAGER: &str = "kubectl-mysqlha";

/// NAME-operation: the Lease that is the cluster's operation lock (k8s::lock).
pub fn lock_lease_name(cluster: &str) -> String {
    format!("{cluster}-operation")
}
pub const MYSQL_PORT: i32 = crate::db::engine::PORT;
pub const DATA_DIR: &str = "/var/lib/mysql";
pub const SCRIPTS_DIR: &str = "/etc/mysqlha/config";
pub const RUN_CNF: &str = "/etc/mysqlha/run/my.cnf";
/// The longest name whose derived objects (NAME-primary, NAME-credentials, pod NAME-123 and the
/// StatefulSet's controller-revision-hash label) all stay within Kubernetes' limits.
pub const MAX_NAME_LEN: usize = 45;

/// What the user asked for; every object is derived from it.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub image: String,
    pub storage: String,
    pub storage_class: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    /// The pod that is the primary of record.
    pub primary: String,
    /// The record's generation: one more with every move of the primary, so that a member
    /// choosing its role at a restart takes the newest of the records it can read (the mounted
    /// ConfigMap, which the kubelet refreshes late, and its own copy in its run directory).
    pub generation: u64,
    /// Semi-synchronous replication (no acknowledged write lost) or asynchronous.
    pub semi_sync: bool,
    pub engine: crate::db::engine::Engine,
    /// Whether members speak TLS, verified against the cluster's CA.
    pub tls: tls::Tls,
    /// The user's CA Secret that signs the members' certificates (`create --tls-ca`); None:
    /// the cluster's own, Secret NAME-ca.
    pub tls_ca: Option<String>,
}

impl ClusterSpec {
    /// The Secret of the CA that signs the members' certificates.
    pub fn ca_secret(&self) -> String {
        self.tls_ca
            .clone()
            .unwrap_or_else(|| tls::ca_secret_name(&self.name))
    }
}

impl ClusterSpec {
    pub fn secret_name(&self) -> String {
        format!("{}-credentials", self.name)
    }
    pub fn primary_service(&self) -> String {
        format!("{}-primary", self.name)
    }
    pub fn read_service(&self) -> String {
        format!("{}-read", self.name)
    }
}

/// The labels that select every member of cluster `name`.
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "mysqlha".to_string()),
        ("app.kubernetes.io/instance".to_string(), name.to_string()),
    ])
}

/// The label selector string for `name`'s pods and PVCs.
pub fn selector_string(name: &str) -> String {
    selector_labels(name)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn labels(name: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(name);
    labels.insert("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into());
    labels.insert("app.kubernetes.io/component".into(), "database".into());
    labels
}

/// An object this plugin made (its managed-by label), as opposed to a user's of the same name.
pub fn is_managed(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/managed-by"))
        .is_some_and(|v| v == FIELD_MANAGER)
}

/// On the cluster's ConfigMap while `set --storage` remakes the StatefulSet (deleted leaving its
/// pods, then created anew): the StatefulSet to create, as JSON, so that a run interrupted in
/// between is finished by the next (src/storage.rs).
pub const STATEFULSET_BEING_REMADE: &str = "mysqlha.io/statefulset-being-remade";

/// The label that names a cluster's engine on its objects (the ConfigMap key `engine` is the
/// record every command reads).
pub const ENGINE_LABEL: &str = "mysqlha.io/engine";

fn metadata(spec: &ClusterSpec, name: String) -> ObjectMeta {
    let mut labels = labels(&spec.name);
    labels.insert(ENGINE_LABEL.into(), spec.engine.name().into());
    ObjectMeta {
        name: Some(name),
        namespace: Some(spec.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

/// The most members a cluster can have: each member's server id ends in its ordinal + 1, three
/// digits (write-config.sh).
pub const MAX_MEMBERS: i32 = 999;

/// Checks a member count asked with `--replicas`.
pub fn validate_members(replicas: i32) -> Result<(), String> {
    if replicas < 1 {
        return Err(format!(
            "--replicas must be at least 1 (the primary), got {replicas}"
        ));
    }
    if replicas > MAX_MEMBERS {
        return Err(format!(
            "--replicas must be at most {MAX_MEMBERS} (a member's server id ends in its ordinal), got {replicas}"
        ));
    }
    Ok(())
}

/// Checks that `name` can name a cluster: a DNS-1035 label short enough for every derived object.
pub fn validate_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts_ok = name.starts_with(|c: char| c.is_ascii_lowercase());
    let ends_ok = name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || !valid_chars || !starts_ok || !ends_ok {
        return Err(format!(
            "invalid cluster name '{name}': use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "invalid cluster name '{name}': at most {MAX_NAME_LEN} characters ({} given)",
            name.len()
        ));
    }
    Ok(())
}

/// Every object of a cluster, in the order they are applied, as one YAML stream.
pub fn to_yaml(
    spec: &ClusterSpec,
    passwords: &Passwords,
    tls: Option<&tls::Material>,
) -> anyhow::Result<String> {
    let mut docs = vec![];
    if let Some(key) = tls.and_then(|t| t.new_ca_key.as_deref()) {
        let ca = tls.map(|t| t.ca_cert.as_str()).unwrap_or_default();
        docs.push(serde_yaml::to_string(&tls::ca_secret(spec, ca, key))?);
    }
    docs.push(serde_yaml::to_string(&secret(spec, passwords, tls))?);
    docs.push(serde_yaml::to_string(&config_map(spec))?);
    if let Some(tls) = tls {
        docs.push(serde_yaml::to_string(&tls::ca_config_map(
            spec,
            &tls.ca_cert,
        ))?);
    }
    for svc in services(spec) {
        docs.push(serde_yaml::to_string(&svc)?);
    }
    docs.push(serde_yaml::to_string(&pod_disruption_budget(spec))?);
    docs.push(serde_yaml::to_string(&statefulset(spec))?);
    Ok(docs.iter().map(|d| format!("---\n{d}")).collect())
}

#[cfg(test)]
pub(crate) fn test_spec() -> ClusterSpec {
    ClusterSpec {
        name: "shop".into(),
        namespace: "db".into(),
        replicas: 3,
        image: "mariadb:10.11".into(),
        storage: "10Gi".into(),
        storage_class: None,
        cpu: None,
        memory: Some("512Mi".into()),
        primary: "shop-0".into(),
        generation: 1,
        semi_sync: true,
        engine: crate::db::engine::Engine::Mariadb,
        tls: tls::Tls::Verified,
        tls_ca: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("shop").is_ok());
        assert!(validate_name("a1-b2").is_ok());
        for bad in ["", "Shop", "1shop", "shop-", "sh_op", "shop.db"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
        assert!(validate_name(&"a".repeat(MAX_NAME_LEN + 1))
            .unwrap_err()
            .contains("at most"));
    }

    #[test]
    fn yaml_stream_has_every_object_in_order() {
        let spec = test_spec();
        let tls = tls::Material::not_shown(&spec);
        let yaml = to_yaml(&spec, &Passwords::fixed("r", "p"), Some(&tls)).unwrap();
        let kinds: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.strip_prefix("kind: "))
            .collect();
        assert_eq!(
            kinds,
            [
                "Secret",
                "Secret",
                "ConfigMap",
                "ConfigMap",
                "Service",
                "Service",
                "Service",
                // one member Service per member (3)
                "Service",
                "Service",
                "Service",
                "PodDisruptionBudget",
                "StatefulSet"
            ]
        );
    }
}
