//! `kubectl mysqlha create NAME`: apply the typed manifests, bootstrap the primary, clone every
//! replica from a healthy donor and start replication by GTID. On kept data (after `delete
//! --keep-data`) the primary is the member whose history includes every other's.
use crate::base::input;
use crate::base::progress::Progress;
use crate::cli::CreateArgs;
use crate::cluster::health;
use crate::cluster::{observe, Cluster, PodPhase};
use crate::db::engine::Engine;
use crate::k8s::apply::{apply, delete_workloads};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::manifests::tls::{self, Tls};
use crate::manifests::{self, ClusterSpec, Passwords, PRIMARY_KEY};
use crate::ops::backup;
use crate::ops::clone;
use crate::ops::fanout;
use crate::ops::restore::{self, KeptMember};
use crate::ops::topology;
use crate::store::catalog::Manifest;
use crate::store::Store;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::Api;
use std::time::Duration;

/// ConfigMap key that remembers the last primary of record while kept data is being restored
/// (the key `primary` is then empty: no member writes, none replicates).
const LAST_PRIMARY_KEY: &str = "last-primary";

/// Checks the arguments before anything is contacted.
pub fn validate(args: &CreateArgs) -> Result<()> {
    manifests::validate_name(&args.name).map_err(anyhow::Error::msg)?;
    crate::manifests::validate_members(args.replicas).map_err(anyhow::Error::msg)?;
    input::quantity("--storage", &args.storage).map_err(anyhow::Error::msg)?;
    if let Some(cpu) = &args.cpu {
        input::quantity("--cpu", cpu).map_err(anyhow::Error::msg)?;
    }
    if let Some(memory) = &args.memory {
        input::quantity("--memory", memory).map_err(anyhow::Error::msg)?;
    }
    if let Some(class) = &args.storage_class {
        input::object_name("--storage-class", class).map_err(anyhow::Error::msg)?;
    }
    input::image(&image(args, args.engine.unwrap_or_default())).map_err(anyhow::Error::msg)?;
    if let Some(primary) = &args.primary {
        let ordinal = primary
            .strip_prefix(&format!("{}-", args.name))
            .and_then(|o| o.parse::<i32>().ok());
        if !ordinal.is_some_and(|o| (0..args.replicas).contains(&o)) {
            bail!(
                "--primary {primary} is not a member of cluster {} with {} member(s) ({}-0 … {}-{})",
                args.name,
                args.replicas,
                args.name,
                args.name,
                args.replicas - 1
            );
        }
    }
    Ok(())
}

/// The image asked for, or the engine's default.
fn image(args: &CreateArgs, engine: Engine) -> String {
    args.image.clone().unwrap_or_else(|| engine.default_image())
}

pub fn spec(args: &CreateArgs, namespace: &str, engine: Engine) -> ClusterSpec {
    ClusterSpec {
        name: args.name.clone(),
        namespace: namespace.to_string(),
        replicas: args.replicas,
        image: image(args, engine),
        engine,
        storage: args.storage.clone(),
        storage_class: args.storage_class.clone(),
        cpu: args.cpu.clone(),
        memory: args.memory.clone(),
        primary: format!("{}-0", args.name),
        generation: 0,
        semi_sync: args.durability == crate::cli::Durability::SemiSync,
        tls: tls_mode(args),
        tls_ca: args.tls_ca.clone(),
    }
}

/// What the cluster does with TLS, by --no-tls and --require-tls.
fn tls_mode(args: &CreateArgs) -> Tls {
    match (args.no_tls, args.require_tls) {
        (true, _) => Tls::Off,
        (false, true) => Tls::Required,
        (false, false) => Tls::Verified,
    }
}

/// The objects `create` would make, as YAML; the passwords are not shown (create generates
/// them, into the Secret only).
pub fn dry_run(args: &CreateArgs, namespace: &str) -> Result<()> {
    let passwords = Passwords::not_shown();
    let spec = spec(args, namespace, args.engine.unwrap_or_default());
    let tls = spec.tls.on().then(|| tls::Material::not_shown(&spec));
    print!("{}", manifests::to_yaml(&spec, &passwords, tls.as_ref())?);
    Ok(())
}

/// What `delete --keep-data` (or an interrupted create) left of a cluster.
struct Kept {
    secret: Option<Secret>,
    /// The cluster's own CA (Secret NAME-ca): a cluster made again keeps it, so clients that
    /// trust it still do.
    ca: Option<Secret>,
    /// The primary of record, from the kept ConfigMap.
    record: Option<String>,
    config_map: bool,
    /// The engine of record, from the kept ConfigMap.
    engine: Option<Engine>,
    claims: Vec<String>,
}

pub async fn run(ctx: &Context, args: &CreateArgs) -> Result<()> {
    let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let existing = statefulsets
        .get_opt(&args.name)
        .await
        .with_context(|| format!("cannot read StatefulSet {}", args.name))?;
    let kept = find_kept(ctx, &args.name).await?;
    let passwords = match &kept.secret {
        Some(secret) => Passwords::from_secret(secret).with_context(|| {
            format!(
                "Secret {}-credentials cannot be used as the cluster's credentials",
                args.name
            )
        })?,
        None => Passwords::generate().context("cannot generate passwords")?,
    };
    let resuming = existing.is_some();
    if let Some(sts) = &existing {
        if !manifests::is_managed(&sts.metadata) {
            bail!("a StatefulSet named {} already exists in namespace {} and is not a mysqlha cluster", args.name, ctx.namespace);
        }
        let cluster = Cluster::load(ctx, &args.name).await?;
        if let Some(asked) = args.engine.filter(|e| *e != cluster.engine) {
            bail!(
                "cluster {} runs {}; --engine {asked} does not match it",
                args.name,
                cluster.engine
            );
        }
        if !cluster.primary.is_empty() && health::report(&cluster).await.healthy {
            println!(
                "cluster {} already exists and is healthy; nothing changed",
                args.name
            );
            return Ok(());
        }
    } else {
        create_objects(ctx, args, &kept, &passwords).await?;
    }
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    cluster.transfer = args.transfer;
    let what = format!("bringing up cluster {}", args.name);
    let restored = cluster.primary.is_empty();
    wait::with_timeout(args.timeout, &what, async {
        if restored {
            restore_kept(ctx, &mut cluster, args, kept.record.as_deref(), &passwords).await?;
        }
        bring_up(ctx, &mut cluster, &passwords).await
    })
    .await?;
    deploy_agent(ctx, args).await?;
    let replicas = cluster.replicas() - 1;
    println!(
        "cluster {} {}: primary {}, {replicas} replica{} (write: {}, read: {})",
        args.name,
        if restored {
            "brought back on its kept data"
        } else if resuming {
            "completed"
        } else {
            "created"
        },
        cluster.primary,
        if replicas == 1 { "" } else { "s" },
        cluster.write_endpoint(),
        cluster.read_endpoint()
    );
    Ok(())
}

/// `restore`: a new cluster whose primary is restored from `seed` (of engine `engine`), then
/// completed as by `create`. A name in use (a cluster, or kept data) is refused before anything
/// is made.
pub async fn run_from_backup(
    ctx: &Context,
    args: &CreateArgs,
    engine: Engine,
    seed: &Seed<'_>,
) -> Result<()> {
    let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let existing = statefulsets
        .get_opt(&args.name)
        .await
        .with_context(|| format!("cannot read StatefulSet {}", args.name))?;
    let mut kept = find_kept(ctx, &args.name).await?;
    if existing.is_some() || kept.config_map || kept.secret.is_some() || !kept.claims.is_empty() {
        bail!(
            "{} is in use in namespace {} (a cluster, or the data a deleted one kept); restore makes a new cluster: choose another name",
            args.name,
            ctx.namespace
        );
    }
    kept.engine = Some(engine);
    let passwords = Passwords::generate().context("cannot generate passwords")?;
    create_objects(ctx, args, &kept, &passwords).await?;
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    cluster.transfer = args.transfer;
    let what = format!("restoring cluster {}", args.name);
    wait::with_timeout(
        args.timeout,
        &what,
        bring_up_from(ctx, &mut cluster, &passwords, Some(seed)),
    )
    .await
    .with_context(|| {
        format!(
            "cluster {} is not restored (its objects remain: kubectl mysqlha delete {} --yes removes them)",
            args.name, args.name
        )
    })?;
    deploy_agent(ctx, args).await?;
    let replicas = cluster.replicas() - 1;
    println!(
        "cluster {} restored from backup {} of {} (GTID {}): primary {}, {replicas} replica{} (write: {}, read: {})",
        args.name,
        seed.manifest.id,
        seed.manifest.cluster,
        seed.manifest.gtid,
        cluster.primary,
        if replicas == 1 { "" } else { "s" },
        cluster.write_endpoint(),
        cluster.read_endpoint()
    );
    Ok(())
}

/// The API part of creating a new cluster (no StatefulSet yet): checks the StorageClass and the
/// engine of kept data, asks the API server by dry run whether it would take every object and
/// the agent's, then applies them in order (undoing what it made when that fails part-way).
async fn create_objects(
    ctx: &Context,
    args: &CreateArgs,
    kept: &Kept,
    passwords: &Passwords,
) -> Result<()> {
    check_storage_class(ctx, args).await?;
    let engine = match (args.engine, kept.engine) {
        (Some(asked), Some(kept)) if asked != kept => bail!(
            "the kept data of cluster {} is {kept}'s (ConfigMap {}); --engine {asked} cannot run it",
            args.name,
            args.name
        ),
        (asked, kept) => asked.or(kept).unwrap_or_default(),
    };
    let mut spec = spec(args, &ctx.namespace, engine);
    let restoring = !kept.claims.is_empty();
    if restoring {
        // No member writes and none replicates until the primary is chosen.
        spec.primary = String::new();
    }
    let last = kept.record.clone().filter(|r| !r.is_empty());
    let tls = tls_material(ctx, &spec, kept).await?;
    let objects = Objects::new(&spec, passwords, last.as_deref(), tls.as_ref());
    objects.apply(ctx, true).await?;
    check_agent_allowed(ctx, args).await?;
    objects.apply_new(ctx, kept).await?;
    ctx.event(
        Reason::ObjectsCreated,
        format!(
            "StatefulSet {}, its Services, ConfigMap and Secret created ({engine})",
            args.name
        ),
    );
    Ok(())
}

/// The certificates of a new cluster: signed by the user's CA (--tls-ca), the kept CA of a
/// cluster of this name, or a new CA of its own.
async fn tls_material(
    ctx: &Context,
    spec: &ClusterSpec,
    kept: &Kept,
) -> Result<Option<tls::Material>> {
    if !spec.tls.on() {
        return Ok(None);
    }
    let now = time::OffsetDateTime::now_utc();
    let (ca, new_key) = match (&spec.tls_ca, &kept.ca) {
        (Some(user), _) => {
            let secret = Api::<Secret>::namespaced(ctx.client.clone(), &ctx.namespace)
                .get_opt(user)
                .await
                .with_context(|| format!("cannot read Secret {user} (--tls-ca)"))?
                .with_context(|| {
                    format!(
                        "--tls-ca {user}: no such Secret in namespace {}",
                        ctx.namespace
                    )
                })?;
            (tls::Authority::from_secret(&secret)?, None)
        }
        (None, Some(kept)) => (tls::Authority::from_secret(kept)?, None),
        (None, None) => {
            let (ca, key) = tls::Authority::generate(&spec.name, &spec.namespace, now)?;
            (ca, Some(key))
        }
    };
    Ok(Some(tls::Material::issue(spec, &ca, new_key, now)?))
}

async fn find_kept(ctx: &Context, name: &str) -> Result<Kept> {
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), &ctx.namespace)
        .get_opt(&format!("{name}-credentials"))
        .await
        .with_context(|| format!("cannot read Secret {name}-credentials"))?;
    let config = Api::<ConfigMap>::namespaced(ctx.client.clone(), &ctx.namespace)
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read ConfigMap {name}"))?;
    let record = config.as_ref().and_then(|c| {
        let data = c.data.as_ref()?;
        data.get(LAST_PRIMARY_KEY)
            .or_else(|| data.get(PRIMARY_KEY))
            .cloned()
    });
    let claims = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), &ctx.namespace)
        .list(&ListParams::default().labels(&manifests::selector_string(name)))
        .await
        .with_context(|| format!("cannot list the PersistentVolumeClaims of cluster {name}"))?
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let ca_name = tls::ca_secret_name(name);
    let ca = Api::<Secret>::namespaced(ctx.client.clone(), &ctx.namespace)
        .get_opt(&ca_name)
        .await
        .with_context(|| format!("cannot read Secret {ca_name}"))?
        .filter(|s| manifests::is_managed(&s.metadata));
    Ok(Kept {
        secret,
        ca,
        record,
        config_map: config.is_some(),
        engine: config
            .as_ref()
            .and_then(|c| c.data.as_ref()?.get(manifests::ENGINE_KEY).cloned())
            .map(|e| Engine::from_record(Some(&e)))
            .transpose()?,
        claims,
    })
}

/// A named StorageClass must exist. Reading StorageClasses is a cluster-scoped right that a
/// namespaced Role does not give: when refused, the check is left to the volume's provisioning.
async fn check_storage_class(ctx: &Context, args: &CreateArgs) -> Result<()> {
    let Some(class) = &args.storage_class else {
        return Ok(());
    };
    match Api::<StorageClass>::all(ctx.client.clone())
        .get_opt(class)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => bail!("storage class {class} not found (see kubectl get storageclass)"),
        Err(kube::Error::Api(e)) if e.code == 403 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read StorageClass {class}")),
    }
}

/// Every object of a new cluster, in the order they are applied.
struct Objects {
    /// The cluster's new CA (Secret NAME-ca), when one was made for it.
    ca_secret: Option<Secret>,
    secret: Secret,
    config_map: ConfigMap,
    /// The CA certificate for clients (ConfigMap NAME-ca).
    ca_config_map: Option<ConfigMap>,
    services: Vec<Service>,
    disruption_budget: PodDisruptionBudget,
    statefulset: StatefulSet,
    namespace: String,
}

impl Objects {
    fn new(
        spec: &ClusterSpec,
        passwords: &Passwords,
        last_primary: Option<&str>,
        tls: Option<&tls::Material>,
    ) -> Self {
        let mut config_map = manifests::config_map(spec);
        if let (Some(last), Some(data)) = (last_primary, config_map.data.as_mut()) {
            data.insert(LAST_PRIMARY_KEY.into(), last.to_string());
        }
        Objects {
            ca_secret: tls.and_then(|t| {
                let key = t.new_ca_key.as_deref()?;
                Some(tls::ca_secret(spec, &t.ca_cert, key))
            }),
            secret: manifests::secret(spec, passwords, tls),
            config_map,
            ca_config_map: tls.map(|t| tls::ca_config_map(spec, &t.ca_cert)),
            services: manifests::services(spec),
            disruption_budget: manifests::pod_disruption_budget(spec),
            statefulset: manifests::statefulset(spec),
            namespace: spec.namespace.clone(),
        }
    }

    /// Applies every object (server-side), or with `dry_run` only asks the API server whether
    /// it would accept them all: a refusal then changes nothing.
    async fn apply(&self, ctx: &Context, dry_run: bool) -> Result<()> {
        let client = &ctx.client;
        let ns = &self.namespace;
        let check = |r: Result<()>| -> Result<()> {
            r.map_err(|e| {
                let missing_namespace = e.chain().any(|c| {
                    matches!(c.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s))
                        if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces"))
                });
                if missing_namespace {
                    anyhow::anyhow!("namespace {ns} not found")
                } else if dry_run {
                    e.context("the API server refused the cluster's objects; nothing was created")
                } else {
                    e
                }
            })
        };
        if let Some(ca) = &self.ca_secret {
            check(apply_one(client, ns, ca, dry_run).await)?;
        }
        check(apply_one(client, ns, &self.secret, dry_run).await)?;
        check(apply_one(client, ns, &self.config_map, dry_run).await)?;
        if let Some(ca) = &self.ca_config_map {
            check(apply_one(client, ns, ca, dry_run).await)?;
        }
        for svc in &self.services {
            check(apply_one(client, ns, svc, dry_run).await)?;
        }
        check(apply_one(client, ns, &self.disruption_budget, dry_run).await)?;
        check(apply_one(client, ns, &self.statefulset, dry_run).await)
    }

    /// Applies for real; when that fails part-way, removes what this run created (kept objects
    /// stay) and says so.
    async fn apply_new(&self, ctx: &Context, kept: &Kept) -> Result<()> {
        let Err(error) = self.apply(ctx, false).await else {
            return Ok(());
        };
        let name = self.statefulset.metadata.name.clone().unwrap_or_default();
        let params = DeleteParams::background();
        let ns = &self.namespace;
        let mut undone = vec![];
        let _ = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
            .delete(&name, &params)
            .await;
        let services: Api<Service> = Api::namespaced(ctx.client.clone(), ns);
        for svc in &self.services {
            let svc_name = svc.metadata.name.clone().unwrap_or_default();
            if services.delete(&svc_name, &params).await.is_ok() {
                undone.push(format!("Service {svc_name}"));
            }
        }
        if Api::<PodDisruptionBudget>::namespaced(ctx.client.clone(), ns)
            .delete(&name, &params)
            .await
            .is_ok()
        {
            undone.push(format!("PodDisruptionBudget {name}"));
        }
        if !kept.config_map
            && Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .delete(&name, &params)
                .await
                .is_ok()
        {
            undone.push(format!("ConfigMap {name}"));
        }
        if self.ca_secret.is_some()
            && Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .delete(&tls::ca_secret_name(&name), &params)
                .await
                .is_ok()
        {
            undone.push(format!("ConfigMap {}", tls::ca_secret_name(&name)));
        }
        if kept.secret.is_none()
            && Api::<Secret>::namespaced(ctx.client.clone(), ns)
                .delete(&format!("{name}-credentials"), &params)
                .await
                .is_ok()
        {
            undone.push(format!("Secret {name}-credentials"));
        }
        if self.ca_secret.is_some()
            && Api::<Secret>::namespaced(ctx.client.clone(), ns)
                .delete(&tls::ca_secret_name(&name), &params)
                .await
                .is_ok()
        {
            undone.push(format!("Secret {}", tls::ca_secret_name(&name)));
        }
        Err(error.context(format!(
            "creating cluster {name} failed part-way; removed what this run created ({})",
            if undone.is_empty() {
                "nothing had been created".to_string()
            } else {
                undone.join(", ")
            }
        )))
    }
}

async fn apply_one<K>(
    client: &kube::Client,
    namespace: &str,
    object: &K,
    dry_run: bool,
) -> Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    if !dry_run {
        return apply(&api, object).await.map(|_| ());
    }
    let name = object.meta().name.clone().unwrap_or_default();
    let mut params = PatchParams::apply(manifests::FIELD_MANAGER).force();
    params.dry_run = true;
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .map(|_| ())
        .with_context(|| format!("{} {name}", K::kind(&())))
}

/// Whether `member`'s pod starts on kept data: it runs its server, or its data init container
/// finds none (that container also runs, for a moment, in a pod that has data: seen waiting
/// for data, it is asked, and the pod is watched again if it has ended meanwhile).
async fn holds_kept_data(cluster: &Cluster, member: &str) -> Result<bool> {
    const ASK: &str = "D=/var/lib/mysql; if [ -d $D/mysql ] && [ ! -e $D/.mysqlha-incomplete ]; then echo kept; else echo none; fi";
    for _ in 0..30 {
        let phase = wait::pod_until(&cluster.pods, member, "starts", |p| {
            matches!(p, PodPhase::WaitingForData | PodPhase::Running { .. })
        })
        .await?;
        if phase != PodPhase::WaitingForData {
            return Ok(true);
        }
        let asked =
            crate::k8s::exec::run(cluster.data_init(member), &["sh", "-c", ASK], None).await;
        if asked.is_ok_and(|out| out.stdout.trim() == "none") {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bail!("pod {member} neither waits for data nor runs its server")
}

/// Kept data (`record`: the last primary of record, as delete left it): every member with data
/// starts read-only with replication held; the member whose history includes every other's
/// becomes the primary, the others follow it. When the histories diverge, the cluster is put
/// back as delete --keep-data left it.
async fn restore_kept(
    ctx: &Context,
    cluster: &mut Cluster,
    args: &CreateArgs,
    record: Option<&str>,
    passwords: &Passwords,
) -> Result<()> {
    let progress = Progress::new();
    let mut kept = vec![];
    for member in cluster
        .members
        .iter()
        .map(|m| m.name.clone())
        .collect::<Vec<_>>()
    {
        let task = progress.task(&member);
        task.set("waiting for the pod");
        if !holds_kept_data(cluster, &member).await? {
            task.finish("no kept data: will be cloned");
            continue;
        }
        task.set("reading its GTID state");
        let state = wait::retry(
            Duration::from_secs(300),
            &format!("asking the server in {member} for its kept GTID state"),
            || observe(cluster.server(&member)),
        )
        .await?;
        task.finish(&format!("kept data at {}", state.history));
        kept.push(KeptMember {
            name: member,
            history: state.history,
        });
    }
    let choice =
        match restore::choose_primary(&cluster.name, &kept, record, args.primary.as_deref()) {
            Ok(choice) => choice,
            Err(refusal) => {
                put_back(cluster, record).await?;
                bail!("{refusal}");
            }
        };
    ctx.ensure_lock_held()?;
    let primary = choice.primary.clone();
    for (pod, extra) in &choice.discard {
        eprintln!(
            "{pod} holds {} that {primary} lacks: its data is discarded and re-cloned from {primary}",
            extra
        );
        clone::take_out_of_service(cluster, pod).await?;
    }
    cluster.primary = primary.clone();
    topology::promote(cluster, &primary, "", Duration::from_secs(30)).await?;
    topology::record_primary(cluster, &primary).await?;
    for member in kept
        .iter()
        .filter(|m| m.name != primary && !choice.discard.iter().any(|(d, _)| *d == m.name))
    {
        topology::follow(cluster, &member.name, &primary, passwords, true).await?;
    }
    cluster.refresh().await
}

/// Undoes a refused restore: removes the StatefulSet and Services and puts the record back,
/// leaving the Secret, the ConfigMap and the data as delete --keep-data left them.
async fn put_back(cluster: &Cluster, record: Option<&str>) -> Result<()> {
    delete_workloads(&cluster.client, &cluster.namespace, &cluster.name).await?;
    if let Some(record) = record {
        let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        apply(
            &configs,
            &manifests::config_map(&cluster.config_spec(cluster.replicas(), record)),
        )
        .await?;
    }
    let labels = manifests::selector_string(&cluster.name);
    wait::with_timeout(
        Duration::from_secs(120),
        "waiting for the pods to stop",
        wait::until_none_left(&cluster.pods, &labels, |_| {}),
    )
    .await
}

/// The primary first, then every replica at once, each cloned from the primary (see
/// fanout::CREATE), replicating and catching up on its own.
pub async fn bring_up(ctx: &Context, cluster: &mut Cluster, passwords: &Passwords) -> Result<()> {
    bring_up_from(ctx, cluster, passwords, None).await
}

/// A base backup a new cluster's primary is restored from.
pub struct Seed<'a> {
    pub store: &'a Store,
    pub manifest: &'a Manifest,
    /// The archived binary logs replayed after the base backup, to this target (None: the
    /// base backup alone).
    pub replay: Option<crate::store::archive::Target>,
}

/// As bring_up; with a seed, the primary is restored from that backup (and must hold what it
/// recorded) instead of bootstrapped.
async fn bring_up_from(
    ctx: &Context,
    cluster: &mut Cluster,
    passwords: &Passwords,
    seed: Option<&Seed<'_>>,
) -> Result<()> {
    let progress = Progress::new();
    let primary = cluster.primary.clone();
    let task = progress.task(&primary);
    match seed {
        None => clone::ensure_member(cluster, &primary, passwords, &task).await?,
        Some(seed) => {
            let fill = Box::pin(backup::restore_into(
                cluster,
                &primary,
                seed.store,
                seed.manifest,
                &task,
            ));
            clone::ensure_primary_filled_by(cluster, &primary, fill, passwords, &task).await?;
            task.set("taking over the restored data");
            backup::adopt_restored(cluster, &primary, seed.manifest, passwords).await?;
            ctx.member_event(
                &primary,
                Reason::Restored,
                format!(
                    "{primary} restored from backup {} of cluster {} (GTID {})",
                    seed.manifest.id, seed.manifest.cluster, seed.manifest.gtid
                ),
            );
        }
    }
    task.finish("primary ready");
    ctx.member_event(
        &primary,
        Reason::PrimaryReady,
        format!("{primary} serves as the primary"),
    );
    cluster.refresh().await?;
    let replicas = cluster
        .members
        .iter()
        .filter(|m| m.name != primary)
        .map(|m| (m.name.clone(), fanout::Fill::Ensure))
        .collect();
    fanout::fill(
        ctx,
        cluster,
        &progress,
        std::slice::from_ref(&primary),
        replicas,
        fanout::CREATE,
        passwords,
    )
    .await?;
    // The archive is replayed once the replicas replicate: a primary that waits for a
    // semi-synchronous acknowledgement commits nothing alone.
    if let Some(seed) = seed.filter(|s| s.replay.is_some()) {
        let task = progress.task(&primary);
        replay_archive(ctx, cluster, &primary, seed, &task).await?;
        task.finish("binary logs replayed");
    }
    Ok(())
}

/// Replays the archived binary logs of the seed's cluster into restored primary `primary`.
async fn replay_archive(
    ctx: &Context,
    cluster: &Cluster,
    primary: &str,
    seed: &Seed<'_>,
    task: &crate::base::progress::Task,
) -> Result<()> {
    if let Some(target) = &seed.replay {
        let reached = backup::replay(
            cluster,
            primary,
            seed.store,
            &seed.manifest.cluster,
            target,
            task,
        )
        .await?;
        ctx.member_event(
            primary,
            Reason::Restored,
            format!(
                "{primary}: the binary logs of {} replayed to {} (it holds {reached})",
                seed.manifest.cluster,
                target.describe()
            ),
        );
    }
    Ok(())
}

/// The automatic-failover agent `create` deploys, unless --no-agent.
fn agent_spec(ctx: &Context, args: &CreateArgs) -> Option<crate::manifests::agent::AgentSpec> {
    if args.no_agent {
        return None;
    }
    let tuning = crate::cli::AgentTuning::default();
    Some(crate::manifests::agent::AgentSpec {
        cluster: args.name.clone(),
        namespace: ctx.namespace.clone(),
        image: crate::agent::image(args.agent_image.as_deref()),
        tuning: (&tuning).into(),
        members: args.replicas,
    })
}

async fn deploy_agent(ctx: &Context, args: &CreateArgs) -> Result<()> {
    match agent_spec(ctx, args) {
        Some(spec) => crate::agent::deploy(ctx, &spec).await,
        None => Ok(()),
    }
}

/// Asks the API server, before anything is created, whether it would accept the agent's
/// objects from this user: one who may not create Roles (the built-in `edit` role) is told at
/// once, and nothing is created.
async fn check_agent_allowed(ctx: &Context, args: &CreateArgs) -> Result<()> {
    use crate::manifests::agent as objects;
    let Some(spec) = agent_spec(ctx, args) else {
        return Ok(());
    };
    let (client, ns) = (&ctx.client, &ctx.namespace);
    // The Role's dry run is where RBAC says no (no right to create Roles, or rights the user
    // does not hold); the RoleBinding's cannot be tried before its Role exists.
    let checked = async {
        apply_one(client, ns, &objects::service_account(&spec), true).await?;
        apply_one(client, ns, &objects::role(&spec), true).await?;
        apply_one(client, ns, &objects::deployment(&spec), true).await
    };
    checked.await.map_err(|e| {
        let why = e
            .chain()
            .find_map(|c| match c.downcast_ref::<kube::Error>() {
                Some(kube::Error::Api(s)) => Some(s.message.clone()),
                _ => None,
            })
            .unwrap_or_else(|| crate::base::one_line(&e));
        anyhow::anyhow!(
            "cannot deploy the automatic-failover agent of cluster {}: {why}; nothing was created. Run create again with --no-agent (no automatic failover), then have someone who may create Roles and RoleBindings in namespace {ns} (the built-in admin role may) run kubectl mysqlha agent enable {}",
            args.name,
            args.name
        )
    })
}

/// `create`'s API part against a scripted API server: the objects' dry run, the agent's, the
/// apply in order, and the refusals before anything is created.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::k8s::mock::{
        apis, core, echo, empty_list, forbidden, foreign, not_found, ok, success, Call, Script, NS,
    };
    use clap::Parser;

    fn create_args(extra: &[&str]) -> CreateArgs {
        let line = ["kubectl-mysqlha", "create", "shop", "--replicas", "2"];
        let cli = Cli::try_parse_from(line.iter().chain(extra)).expect("valid arguments");
        match cli.command {
            Command::Create(args) => args,
            _ => unreachable!("a create command"),
        }
    }

    fn nothing_kept() -> Kept {
        Kept {
            secret: None,
            ca: None,
            record: None,
            config_map: false,
            engine: None,
            claims: vec![],
        }
    }

    fn spec_of(args: &CreateArgs) -> ClusterSpec {
        spec(args, NS, Engine::Mariadb)
    }

    /// The cluster's objects in the order create applies them, as paths.
    fn object_paths(spec: &ClusterSpec) -> Vec<String> {
        let mut paths = vec![
            core("secrets", "shop-ca"),
            core("secrets", "shop-credentials"),
            core("configmaps", "shop"),
            core("configmaps", "shop-ca"),
        ];
        for svc in manifests::services(spec) {
            paths.push(core("services", &svc.metadata.name.unwrap()));
        }
        paths.push(apis("policy/v1", "poddisruptionbudgets", "shop"));
        paths.push(apis("apps/v1", "statefulsets", "shop"));
        paths
    }

    /// The agent's objects create asks about by dry run, in order.
    fn agent_paths() -> Vec<String> {
        vec![
            core("serviceaccounts", "shop-agent"),
            apis("rbac.authorization.k8s.io/v1", "roles", "shop-agent"),
            apis("apps/v1", "deployments", "shop-agent"),
        ]
    }

    fn dry_run(path: &str) -> String {
        format!(
            "{path}?dryRun=All&fieldManager={}",
            manifests::FIELD_MANAGER
        )
    }

    fn applied(script: Script, paths: &[String], dry: bool) -> Script {
        paths.iter().fold(script, |script, path| {
            let target = if dry { dry_run(path) } else { path.clone() };
            script.patch(target, echo())
        })
    }

    /// What create reads first of a cluster that does not exist: no StatefulSet, nothing kept.
    fn nothing_there() -> Script {
        Script::new()
            .get(
                apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            )
            .get(
                core("secrets", "shop-credentials"),
                not_found("secrets", "shop-credentials"),
            )
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .get(
                format!(
                    "{}?labelSelector={}",
                    core("persistentvolumeclaims", ""),
                    manifests::selector_string("shop")
                ),
                empty_list(),
            )
            .get(core("secrets", "shop-ca"), not_found("secrets", "shop-ca"))
    }

    /// The body of the call that applied `path` for real.
    fn applied_body<'a>(calls: &'a [Call], path: &str) -> &'a serde_json::Value {
        &calls
            .iter()
            .find(|c| !c.is_dry_run() && c.method == "PATCH" && c.path == path)
            .unwrap_or_else(|| panic!("{path} applied"))
            .body
    }

    async fn create_objects_with(
        script: Script,
        args: &CreateArgs,
        kept: &Kept,
    ) -> (Result<()>, Vec<Call>) {
        let (ctx, server) = script.start_context();
        let passwords = Passwords::generate().unwrap();
        let result = create_objects(&ctx, args, kept, &passwords).await;
        (result, server.finish())
    }

    async fn run_until_refused(script: Script, args: &CreateArgs) -> (String, Vec<Call>) {
        let (ctx, server) = script.start_context();
        let error = run(&ctx, args).await.expect_err("refused");
        (format!("{error:#}"), server.finish())
    }

    fn shows_nothing_created(calls: &[Call]) {
        let written: Vec<String> = calls
            .iter()
            .filter(|c| c.method != "GET" && !c.is_dry_run())
            .map(Call::line)
            .collect();
        assert!(written.is_empty(), "written: {written:?}");
    }

    #[tokio::test]
    async fn the_objects_are_dry_run_then_the_agents_then_applied_in_the_same_order() {
        let args = create_args(&[]);
        let objects = object_paths(&spec_of(&args));
        let script = applied(Script::new(), &objects, true);
        let script = applied(script, &agent_paths(), true);
        let script = applied(script, &objects, false);
        let (result, calls) = create_objects_with(script, &args, &nothing_kept()).await;
        result.unwrap();
        let dry = objects.len() + agent_paths().len();
        assert!(calls[..dry].iter().all(Call::is_dry_run));
        assert!(calls[dry..].iter().all(|c| !c.is_dry_run()));
        assert!(calls[dry..].iter().all(|c| c.query("fieldManager")
            == Some(manifests::FIELD_MANAGER)
            && c.query("force") == Some("true")));
        let config = applied_body(&calls, &core("configmaps", "shop"));
        assert_eq!(config["data"][PRIMARY_KEY], "shop-0");
        assert_eq!(config["data"][tls::TLS_KEY], "verified");
        // The CA's key stays in Secret shop-ca; the members' Secret holds their certificates.
        let ca = applied_body(&calls, &core("secrets", "shop-ca"));
        assert!(ca["stringData"]["tls.key"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY"));
        let credentials = applied_body(&calls, &core("secrets", "shop-credentials"));
        assert!(credentials["stringData"].get("tls.key").is_none());
        for key in ["tls-ca.crt", "tls-shop-0.crt", "tls-shop-1.key"] {
            assert!(credentials["stringData"][key].is_string(), "{key}");
        }
        let public = applied_body(&calls, &core("configmaps", "shop-ca"));
        assert_eq!(public["data"]["ca.crt"], ca["stringData"]["tls.crt"]);
    }

    #[tokio::test]
    async fn without_the_agent_its_objects_are_not_asked_about() {
        let args = create_args(&["--no-agent"]);
        let objects = object_paths(&spec_of(&args));
        let script = applied(applied(Script::new(), &objects, true), &objects, false);
        let (result, _) = create_objects_with(script, &args, &nothing_kept()).await;
        result.unwrap();
    }

    #[tokio::test]
    async fn a_user_who_may_not_create_roles_is_told_in_one_line_and_nothing_is_created() {
        let args = create_args(&[]);
        let script = applied(nothing_there(), &object_paths(&spec_of(&args)), true)
            .patch(dry_run(&agent_paths()[0]), echo())
            .patch(
                dry_run(&agent_paths()[1]),
                forbidden("roles.rbac.authorization.k8s.io \"shop-agent\" is forbidden: User \"dev\" cannot create resource \"roles\""),
            );
        let (error, calls) = run_until_refused(script, &args).await;
        assert_eq!(
            error,
            "cannot deploy the automatic-failover agent of cluster shop: roles.rbac.authorization.k8s.io \"shop-agent\" is forbidden: User \"dev\" cannot create resource \"roles\"; nothing was created. Run create again with --no-agent (no automatic failover), then have someone who may create Roles and RoleBindings in namespace ns (the built-in admin role may) run kubectl mysqlha agent enable shop"
        );
        assert!(!error.contains('\n'));
        shows_nothing_created(&calls);
    }

    #[tokio::test]
    async fn objects_the_api_server_refuses_at_the_dry_run_are_never_created() {
        let args = create_args(&[]);
        let script = nothing_there().patch(
            dry_run(&core("secrets", "shop-ca")),
            forbidden("secrets is forbidden: exceeded quota"),
        );
        let (error, calls) = run_until_refused(script, &args).await;
        assert!(error.starts_with(
            "the API server refused the cluster's objects; nothing was created: Secret shop-ca: "
        ));
        shows_nothing_created(&calls);
    }

    #[tokio::test]
    async fn a_missing_namespace_is_named_plainly() {
        let args = create_args(&[]);
        let script = nothing_there().patch(
            dry_run(&core("secrets", "shop-ca")),
            not_found("namespaces", NS),
        );
        let (error, _) = run_until_refused(script, &args).await;
        assert_eq!(error, "namespace ns not found");
    }

    #[tokio::test]
    async fn a_storage_class_that_does_not_exist_is_refused_before_anything_is_asked() {
        let args = create_args(&["--storage-class", "fast"]);
        let script = nothing_there().get(
            "/apis/storage.k8s.io/v1/storageclasses/fast",
            not_found("storageclasses", "fast"),
        );
        let (error, _) = run_until_refused(script, &args).await;
        assert_eq!(
            error,
            "storage class fast not found (see kubectl get storageclass)"
        );
    }

    #[tokio::test]
    async fn a_storage_class_the_user_may_not_read_is_left_to_the_provisioner() {
        let args = create_args(&["--storage-class", "fast", "--no-agent"]);
        let objects = object_paths(&spec_of(&args));
        let script = Script::new().get(
            "/apis/storage.k8s.io/v1/storageclasses/fast",
            forbidden("storageclasses is forbidden"),
        );
        let script = applied(applied(script, &objects, true), &objects, false);
        let (result, _) = create_objects_with(script, &args, &nothing_kept()).await;
        result.unwrap();
    }

    #[tokio::test]
    async fn kept_data_of_another_engine_is_refused() {
        let args = create_args(&["--engine", "mysql"]);
        let kept = Kept {
            engine: Some(Engine::Mariadb),
            config_map: true,
            ..nothing_kept()
        };
        let (result, calls) = create_objects_with(Script::new(), &args, &kept).await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "the kept data of cluster shop is mariadb's (ConfigMap shop); --engine mysql cannot run it"
        );
        assert!(calls.is_empty());
    }

    #[tokio::test]
    async fn a_users_statefulset_of_the_same_name_is_refused() {
        let args = create_args(&[]);
        let script = Script::new()
            .get(
                apis("apps/v1", "statefulsets", "shop"),
                ok(foreign("apps/v1", "StatefulSet", "shop")),
            )
            .get(
                core("secrets", "shop-credentials"),
                not_found("secrets", "shop-credentials"),
            )
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .get(core("persistentvolumeclaims", ""), empty_list())
            .get(core("secrets", "shop-ca"), not_found("secrets", "shop-ca"));
        let (error, calls) = run_until_refused(script, &args).await;
        assert_eq!(
            error,
            "a StatefulSet named shop already exists in namespace ns and is not a mysqlha cluster"
        );
        shows_nothing_created(&calls);
    }

    #[tokio::test]
    async fn on_kept_data_no_member_is_primary_and_the_last_one_is_remembered() {
        let args = create_args(&["--no-agent"]);
        let kept = Kept {
            record: Some("shop-1".into()),
            config_map: true,
            claims: vec!["data-shop-0".into(), "data-shop-1".into()],
            ..nothing_kept()
        };
        let mut spec = spec_of(&args);
        spec.primary = String::new();
        let objects = object_paths(&spec);
        let script = applied(applied(Script::new(), &objects, true), &objects, false);
        let (result, calls) = create_objects_with(script, &args, &kept).await;
        result.unwrap();
        let config = applied_body(&calls, &core("configmaps", "shop"));
        assert_eq!(config["data"][PRIMARY_KEY], "");
        assert_eq!(config["data"][LAST_PRIMARY_KEY], "shop-1");
    }

    #[tokio::test]
    async fn an_apply_that_fails_part_way_removes_what_this_run_created() {
        let args = create_args(&["--no-agent"]);
        let spec = spec_of(&args);
        let objects = object_paths(&spec);
        let budget = objects.len() - 2;
        let script = applied(Script::new(), &objects, true);
        let script = applied(script, &objects[..budget], false)
            .patch(
                &objects[budget],
                forbidden("poddisruptionbudgets is forbidden"),
            )
            .delete(
                apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            );
        let script = manifests::services(&spec)
            .iter()
            .fold(script, |script, svc| {
                script.delete(
                    core("services", svc.metadata.name.as_deref().unwrap()),
                    success(),
                )
            });
        let script = script
            .delete(
                apis("policy/v1", "poddisruptionbudgets", "shop"),
                not_found("poddisruptionbudgets", "shop"),
            )
            .delete(core("configmaps", "shop"), success())
            .delete(core("configmaps", "shop-ca"), success())
            .delete(core("secrets", "shop-credentials"), success())
            .delete(core("secrets", "shop-ca"), success());
        let (result, _) = create_objects_with(script, &args, &nothing_kept()).await;
        let error = result.unwrap_err().to_string();
        assert!(error.starts_with(
            "creating cluster shop failed part-way; removed what this run created (Service shop, "
        ));
        assert!(error.ends_with(
            ", ConfigMap shop, ConfigMap shop-ca, Secret shop-credentials, Secret shop-ca)"
        ));
        assert!(!error.contains("PodDisruptionBudget"));
    }

    #[tokio::test]
    async fn an_undo_keeps_the_configmap_and_secret_that_were_kept() {
        let args = create_args(&["--no-agent"]);
        let spec = spec_of(&args);
        let objects = object_paths(&spec);
        let kept_secret = manifests::secret(&spec, &Passwords::generate().unwrap(), None);
        let (ca, key) =
            tls::Authority::generate("shop", NS, time::OffsetDateTime::now_utc()).unwrap();
        let kept_ca = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "shop-ca" },
            "data": {
                "tls.crt": k8s_openapi::ByteString(ca.cert_pem.into_bytes()),
                "tls.key": k8s_openapi::ByteString(key.into_bytes()),
            }
        }))
        .unwrap();
        let kept = Kept {
            secret: Some(kept_secret),
            ca: Some(kept_ca),
            config_map: true,
            ..nothing_kept()
        };
        // The kept CA signs: no new CA Secret is made (nor removed by the undo).
        let objects: Vec<String> = objects
            .into_iter()
            .filter(|p| *p != core("secrets", "shop-ca"))
            .collect();
        let script = applied(Script::new(), &objects, true)
            .patch(&objects[0], forbidden("secrets is forbidden"))
            .delete(
                apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            );
        let script = manifests::services(&spec)
            .iter()
            .fold(script, |script, svc| {
                script.delete(
                    core("services", svc.metadata.name.as_deref().unwrap()),
                    not_found("services", "x"),
                )
            });
        let script = script.delete(
            apis("policy/v1", "poddisruptionbudgets", "shop"),
            not_found("poddisruptionbudgets", "shop"),
        );
        let (result, _) = create_objects_with(script, &args, &kept).await;
        assert!(result
            .unwrap_err()
            .to_string()
            .ends_with("removed what this run created (nothing had been created)"));
    }
}
