//! Discovery: what a cluster is made of right now (StatefulSet, ConfigMap record, pods), and what
//! each member's server says about itself.
pub mod diagnostics;
pub mod health;
pub mod sql;
pub mod survey;
use crate::db::engine::Engine;
use crate::k8s::context::Context;
use crate::k8s::exec::Target;
use crate::manifests::{self, Passwords, DATA_CONTAINER, PRIMARY_KEY, SERVER_CONTAINER};
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::ListParams;
use kube::Api;

pub struct Cluster {
    pub name: String,
    pub namespace: String,
    pub statefulset: StatefulSet,
    /// Pod name of the primary of record.
    pub primary: String,
    /// The record's generation when loaded (see manifests::ClusterSpec::generation).
    pub generation: u64,
    /// Semi-synchronous replication is the cluster's durability mode.
    pub semi_sync: bool,
    /// MariaDB or MySQL, as recorded in the ConfigMap.
    pub engine: Engine,
    /// Whether members speak TLS, as recorded in the ConfigMap.
    pub tls: manifests::tls::Tls,
    /// The user's CA Secret (`create --tls-ca`), or None: the cluster's own, NAME-ca.
    pub tls_ca: Option<String>,
    pub pods: Api<Pod>,
    pub client: kube::Client,
    /// How clones made by this invocation travel.
    pub transfer: Transfer,
    /// Members by ordinal, 0..replicas; `pod` is None while the pod does not exist.
    pub members: Vec<Member>,
}

/// Whether ConfigMap `config` holds a StatefulSet that `set --storage` is remaking.
fn being_remade(config: &ConfigMap) -> bool {
    config
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(manifests::STATEFULSET_BEING_REMADE))
}

/// The record of the primary in ConfigMap NAME: who, and how many moves it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub primary: String,
    pub generation: u64,
}

impl Record {
    /// The record in `config`; None without a primary key. A generation that is missing (a
    /// cluster made before generations) or unreadable counts as 0.
    pub fn of(config: &ConfigMap) -> Option<Record> {
        let data = config.data.as_ref()?;
        Some(Record {
            primary: data.get(PRIMARY_KEY)?.clone(),
            generation: data
                .get(manifests::PRIMARY_GENERATION_KEY)
                .and_then(|g| g.trim().parse().ok())
                .unwrap_or(0),
        })
    }

    /// As a member keeps it in its run directory (write-config.sh reads it): `POD GENERATION`,
    /// `-` for no primary.
    pub fn as_member_copy(&self) -> String {
        let primary = if self.primary.is_empty() {
            "-"
        } else {
            &self.primary
        };
        format!("{primary} {}\n", self.generation)
    }
}

pub struct Member {
    pub name: String,
    pub pod: Option<Pod>,
}

impl Cluster {
    /// Loads cluster `name`; an error says plainly when it does not exist.
    pub async fn load(ctx: &Context, name: &str) -> Result<Self> {
        let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let statefulset = statefulsets
            .get_opt(name)
            .await
            .with_context(|| format!("cannot read StatefulSet {name}"))?
            .filter(|s| manifests::is_managed(&s.metadata));
        let config = configs
            .get_opt(name)
            .await
            .with_context(|| format!("cannot read ConfigMap {name}"))?;
        let Some(statefulset) = statefulset else {
            if config.as_ref().is_some_and(being_remade) {
                bail!("cluster {name} is being changed: an interrupted `set --storage` deleted StatefulSet {name} to remake it (its pods run on); run `kubectl mysqlha set {name} --storage SIZE` again to finish");
            }
            bail!("cluster {name} not found in namespace {}", ctx.namespace);
        };
        let config = config.with_context(|| {
            format!("cluster {name} is incomplete: ConfigMap {name} is missing")
        })?;
        let Record {
            primary,
            generation,
        } = Record::of(&config)
            .with_context(|| format!("ConfigMap {name} holds no record of the primary"))?;
        let semi_sync = config
            .data
            .as_ref()
            .and_then(|d| d.get(manifests::DURABILITY_KEY))
            .is_none_or(|v| v == "semi-sync");
        let engine = Engine::from_record(
            config
                .data
                .as_ref()
                .and_then(|d| d.get(manifests::ENGINE_KEY))
                .map(String::as_str),
        )
        .with_context(|| format!("ConfigMap {name}"))?;
        let tls = manifests::tls::Tls::from_record(
            config
                .data
                .as_ref()
                .and_then(|d| d.get(manifests::tls::TLS_KEY))
                .map(String::as_str),
        )
        .with_context(|| format!("ConfigMap {name}"))?;
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let mut cluster = Cluster {
            name: name.into(),
            namespace: ctx.namespace.clone(),
            statefulset,
            primary,
            generation,
            semi_sync,
            engine,
            tls,
            tls_ca: config
                .data
                .as_ref()
                .and_then(|d| d.get(manifests::tls::CA_SECRET_KEY))
                .cloned(),
            pods,
            client: ctx.client.clone(),
            transfer: Default::default(),
            members: vec![],
        };
        cluster.refresh().await?;
        Ok(cluster)
    }

    /// Re-reads the pods.
    pub async fn refresh(&mut self) -> Result<()> {
        let list = self
            .pods
            .list(&ListParams::default().labels(&manifests::selector_string(&self.name)))
            .await
            .context("cannot list the cluster's pods")?;
        let replicas = self
            .statefulset
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(0);
        self.members = (0..replicas)
            .map(|ordinal| {
                let name = format!("{}-{ordinal}", self.name);
                let pod = list
                    .items
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(&name))
                    .cloned();
                Member { name, pod }
            })
            .collect();
        Ok(())
    }

    pub fn replicas(&self) -> i32 {
        self.members.len() as i32
    }

    pub fn member(&self, pod: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == pod)
    }

    /// Member `pod`, or an error that names the members there are.
    pub fn require_member(&self, pod: &str) -> Result<&Member> {
        self.member(pod).with_context(|| {
            let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
            format!(
                "pod {pod} is not a member of cluster {} (members: {})",
                self.name,
                names.join(", ")
            )
        })
    }

    /// The server container of `pod`, where SQL runs.
    pub fn server<'a>(&'a self, pod: &'a str) -> Target<'a> {
        Target {
            pods: &self.pods,
            pod,
            container: SERVER_CONTAINER,
            engine: self.engine,
        }
    }

    /// The init container of `pod` that waits for data, where clones are extracted.
    pub fn data_init<'a>(&'a self, pod: &'a str) -> Target<'a> {
        Target {
            pods: &self.pods,
            pod,
            container: DATA_CONTAINER,
            engine: self.engine,
        }
    }

    /// The spec that renders this cluster's ConfigMap, with `replicas` members and `primary`.
    pub fn config_spec(&self, replicas: i32, primary: &str) -> manifests::ClusterSpec {
        manifests::ClusterSpec {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            replicas,
            image: String::new(),
            storage: String::new(),
            storage_class: None,
            cpu: None,
            memory: None,
            primary: primary.to_string(),
            generation: self.generation,
            semi_sync: self.semi_sync,
            engine: self.engine,
            tls: self.tls,
            tls_ca: self.tls_ca.clone(),
        }
    }

    pub fn write_endpoint(&self) -> String {
        format!(
            "{}-primary.{}.svc:{}",
            self.name,
            self.namespace,
            manifests::MYSQL_PORT
        )
    }

    pub fn read_endpoint(&self) -> String {
        format!(
            "{}-read.{}.svc:{}",
            self.name,
            self.namespace,
            manifests::MYSQL_PORT
        )
    }

    /// The cluster's passwords, from its credentials Secret.
    pub async fn passwords(&self) -> Result<Passwords> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let name = format!("{}-credentials", self.name);
        let secret = secrets
            .get(&name)
            .await
            .with_context(|| format!("cannot read Secret {name}"))?;
        Passwords::from_secret(&secret).with_context(|| format!("Secret {name} cannot be used"))
    }

    /// The DNS name replicas (and clones) reach pod `pod` at: its member Service.
    pub fn host_of(&self, pod: &str) -> String {
        format!(
            "{}.{}.svc.cluster.local",
            crate::manifests::member_service_name(pod),
            self.namespace
        )
    }

    /// The TLS files every member reads (in its run directory), when the cluster speaks TLS.
    pub fn tls_files(&self) -> Option<crate::db::engine::TlsFiles> {
        self.tls.files()
    }

    /// The server image of the StatefulSet's pod template: what a new or restarted member runs.
    pub fn template_image(&self) -> Option<String> {
        server_image(self.statefulset.spec.as_ref()?.template.spec.as_ref()?)
    }
}

pub use crate::db::engine::ServerState;
pub use crate::k8s::pods::{pod_phase, stuck_reason, PodPhase};

/// Asks a member's server for its role, GTID positions and replication threads.
pub async fn observe(target: Target<'_>) -> Result<ServerState> {
    observe_after(target, &[]).await
}

/// `observe`, failing fast (sql::PROBE_CONNECT_TIMEOUT) when the server does not greet.
pub async fn probe(target: Target<'_>) -> Result<ServerState> {
    read_state(target, &[], sql::PROBE_CONNECT_TIMEOUT).await
}

/// Runs `statements`, then reads the server's state, all in one exec.
pub async fn observe_after(target: Target<'_>, statements: &[&str]) -> Result<ServerState> {
    read_state(target, statements, sql::WORK_CONNECT_TIMEOUT).await
}

async fn read_state(
    target: Target<'_>,
    statements: &[&str],
    connect_timeout: u32,
) -> Result<ServerState> {
    let mut all = statements.to_vec();
    all.extend(target.engine.state_statements());
    let mut sets = sql::query_sets(target, &all, connect_timeout).await?;
    let replica = sets.pop().unwrap_or_default();
    let variables = sets.pop().unwrap_or_default();
    target
        .engine
        .parse_state(&variables, &replica)
        .with_context(|| format!("{}: cannot read its state", target.pod))
}

/// `observe`, and in the same exec (one round trip) the result sets of `extra` statements run
/// after the state is read, one per statement.
pub async fn observe_with(
    target: Target<'_>,
    extra: &[&str],
) -> Result<(ServerState, Vec<Vec<sql::Row>>)> {
    let mut all = target.engine.state_statements().to_vec();
    all.extend(extra);
    // Bounded: an exec whose container goes away under it (a pod being deleted) may never end.
    let sets = tokio::time::timeout(
        OBSERVE_LIMIT,
        sql::query_sets(target, &all, sql::WORK_CONNECT_TIMEOUT),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "{}: no answer within {}s",
            target.pod,
            OBSERVE_LIMIT.as_secs()
        )
    })??;
    state_and_extras(target.engine, target.pod, sets)
}

/// The longest `observe_with` waits for a member's answer: its client's connect timeout and
/// the statements' time.
const OBSERVE_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The answer to `engine.state_statements()` followed by extra statements (as `observe_with`
/// asks them of member `pod`): its state, and the extra result sets, one per statement.
pub fn state_and_extras(
    engine: Engine,
    pod: &str,
    mut sets: Vec<Vec<sql::Row>>,
) -> Result<(ServerState, Vec<Vec<sql::Row>>)> {
    let extra_sets = sets.split_off(engine.state_statements().len().min(sets.len()));
    let replica = sets.pop().unwrap_or_default();
    let variables = sets.pop().unwrap_or_default();
    let state = engine
        .parse_state(&variables, &replica)
        .with_context(|| format!("{pod}: cannot read its state"))?;
    Ok((state, extra_sets))
}

/// The image of the server container in a pod spec (a member's, or the pod template's).
pub fn server_image(spec: &k8s_openapi::api::core::v1::PodSpec) -> Option<String> {
    spec.containers
        .iter()
        .find(|c| c.name == SERVER_CONTAINER)?
        .image
        .clone()
}

/// How a clone's backup stream travels from the donor pod to the new pod.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transfer {
    /// Pod to pod over the pod network, on a one-time port that admits only the holder of a
    /// one-time token (about the speed of the disk)
    #[default]
    Direct,
    /// Through the plugin over the API server's exec streams (works wherever exec works, slower)
    Api,
}

/// `Cluster::load` against a scripted API server: what it reads, and its refusals.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{
        apis, cluster_spec, core, foreign, list, member_pod, not_found, ok, Reply, Script,
    };

    fn statefulset() -> String {
        apis("apps/v1", "statefulsets", "shop")
    }

    fn config_map() -> String {
        core("configmaps", "shop")
    }

    fn pods() -> String {
        format!(
            "{}?labelSelector={}",
            core("pods", ""),
            manifests::selector_string("shop")
        )
    }

    fn the_statefulset(replicas: i32) -> Reply {
        ok(manifests::statefulset(&cluster_spec("shop", replicas)))
    }

    fn the_record(edit: impl FnOnce(&mut ConfigMap)) -> Reply {
        let mut config = manifests::config_map(&cluster_spec("shop", 3));
        edit(&mut config);
        ok(config)
    }

    async fn load_error(script: Script) -> String {
        let (ctx, server) = script.start_context();
        let error = Cluster::load(&ctx, "shop").await.err().expect("refused");
        server.finish();
        format!("{error:#}")
    }

    #[tokio::test]
    async fn a_cluster_is_its_statefulset_its_record_and_its_pods_by_ordinal() {
        let (ctx, server) = Script::new()
            .get(statefulset(), the_statefulset(3))
            .get(config_map(), the_record(|_| {}))
            .get(
                pods(),
                list(vec![
                    member_pod("shop", "shop-2"),
                    member_pod("shop", "shop-0"),
                ]),
            )
            .start_context();
        let cluster = Cluster::load(&ctx, "shop").await.unwrap();
        server.finish();
        assert_eq!(cluster.primary, "shop-0");
        assert_eq!(cluster.generation, 3);
        assert!(cluster.semi_sync);
        assert_eq!(cluster.engine, Engine::Mariadb);
        let members: Vec<(&str, bool)> = cluster
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.pod.is_some()))
            .collect();
        assert_eq!(
            members,
            [("shop-0", true), ("shop-1", false), ("shop-2", true)]
        );
    }

    #[tokio::test]
    async fn a_cluster_with_nothing_left_is_not_found_in_its_namespace() {
        let error = load_error(
            Script::new()
                .get(statefulset(), not_found("statefulsets", "shop"))
                .get(config_map(), not_found("configmaps", "shop")),
        )
        .await;
        assert_eq!(error, "cluster shop not found in namespace ns");
    }

    #[tokio::test]
    async fn a_users_statefulset_of_the_same_name_is_not_a_cluster() {
        let error = load_error(
            Script::new()
                .get(statefulset(), ok(foreign("apps/v1", "StatefulSet", "shop")))
                .get(config_map(), not_found("configmaps", "shop")),
        )
        .await;
        assert_eq!(error, "cluster shop not found in namespace ns");
    }

    #[tokio::test]
    async fn a_statefulset_being_remade_by_set_storage_says_the_cluster_is_being_changed() {
        let record = the_record(|c| {
            c.metadata.annotations =
                Some([(manifests::STATEFULSET_BEING_REMADE.to_string(), "{}".into())].into())
        });
        let error = load_error(
            Script::new()
                .get(statefulset(), not_found("statefulsets", "shop"))
                .get(config_map(), record),
        )
        .await;
        assert!(error.starts_with("cluster shop is being changed: an interrupted `set --storage`"));
        assert!(error.ends_with("run `kubectl mysqlha set shop --storage SIZE` again to finish"));
    }

    #[tokio::test]
    async fn a_statefulset_without_its_configmap_is_an_incomplete_cluster() {
        let error = load_error(
            Script::new()
                .get(statefulset(), the_statefulset(3))
                .get(config_map(), not_found("configmaps", "shop")),
        )
        .await;
        assert_eq!(
            error,
            "cluster shop is incomplete: ConfigMap shop is missing"
        );
    }

    #[tokio::test]
    async fn a_configmap_without_a_primary_of_record_is_refused() {
        let record = the_record(|c| {
            c.data.as_mut().unwrap().remove(PRIMARY_KEY);
        });
        let error = load_error(
            Script::new()
                .get(statefulset(), the_statefulset(3))
                .get(config_map(), record),
        )
        .await;
        assert_eq!(error, "ConfigMap shop holds no record of the primary");
    }

    #[tokio::test]
    async fn an_unknown_engine_of_record_is_refused() {
        let record = the_record(|c| {
            c.data
                .as_mut()
                .unwrap()
                .insert(manifests::ENGINE_KEY.into(), "postgres".into());
        });
        let error = load_error(
            Script::new()
                .get(statefulset(), the_statefulset(3))
                .get(config_map(), record),
        )
        .await;
        assert_eq!(
            error,
            "ConfigMap shop: unknown engine 'postgres' in the cluster's record"
        );
    }

    #[tokio::test]
    async fn an_api_server_that_cannot_be_read_is_named_with_the_object() {
        let error = load_error(Script::new().get(
            statefulset(),
            crate::k8s::mock::forbidden("statefulsets is forbidden"),
        ))
        .await;
        assert!(error.starts_with("cannot read StatefulSet shop: "));
    }
}
