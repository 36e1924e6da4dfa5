//! `kubectl mysqlha create NAME`: apply the typed manifests, bootstrap the primary, clone every
//! replica from a healthy donor and start replication by GTID.
use crate::cli::CreateArgs;
use crate::clone;
use crate::cluster::Cluster;
use crate::cmd::{apply, status};
use crate::context::Context;
use crate::manifests::{self, ClusterSpec, Passwords};
use crate::progress::Progress;
use crate::wait;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use kube::Api;

/// Checks the arguments before anything is contacted.
pub fn validate(args: &CreateArgs) -> Result<()> {
    manifests::validate_name(&args.name).map_err(anyhow::Error::msg)?;
    if args.replicas < 1 {
        bail!(
            "--replicas must be at least 1 (the primary), got {}",
            args.replicas
        );
    }
    Ok(())
}

pub fn spec(args: &CreateArgs, namespace: &str) -> ClusterSpec {
    ClusterSpec {
        name: args.name.clone(),
        namespace: namespace.to_string(),
        replicas: args.replicas,
        image: args.image.clone(),
        storage: args.storage.clone(),
        storage_class: args.storage_class.clone(),
        cpu: args.cpu.clone(),
        memory: args.memory.clone(),
        primary: format!("{}-0", args.name),
        semi_sync: args.durability == crate::cli::Durability::SemiSync,
    }
}

pub fn dry_run(args: &CreateArgs, namespace: &str) -> Result<()> {
    let passwords = Passwords::generate().context("cannot generate passwords")?;
    print!(
        "{}",
        manifests::to_yaml(&spec(args, namespace), &passwords)?
    );
    Ok(())
}

pub async fn run(ctx: &Context, args: &CreateArgs) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    if namespaces
        .get_opt(&ctx.namespace)
        .await
        .context("cannot reach the Kubernetes API")?
        .is_none()
    {
        bail!("namespace {} not found", ctx.namespace);
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let existing = statefulsets
        .get_opt(&args.name)
        .await
        .context("cannot read StatefulSets")?;
    let resuming = existing.is_some();
    if let Some(sts) = existing {
        let managed = sts
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app.kubernetes.io/managed-by"))
            .is_some_and(|v| v == manifests::FIELD_MANAGER);
        if !managed {
            bail!("a StatefulSet named {} already exists in namespace {} and is not a mysqlha cluster", args.name, ctx.namespace);
        }
        let cluster = Cluster::load(ctx, &args.name).await?;
        if status::report(&cluster).await.healthy {
            println!(
                "cluster {} already exists and is healthy; nothing changed",
                args.name
            );
            return Ok(());
        }
    }
    let passwords = match secrets
        .get_opt(&format!("{}-credentials", args.name))
        .await
        .context("cannot read Secrets")?
    {
        Some(secret) => Passwords::from_secret(&secret)
            .context("the cluster's credentials Secret is incomplete")?,
        None => Passwords::generate().context("cannot generate passwords")?,
    };
    if !resuming {
        apply_objects(ctx, &spec(args, &ctx.namespace), &passwords).await?;
    }
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    cluster.transfer = args.transfer;
    let what = format!("bringing up cluster {}", args.name);
    wait::with_timeout(args.timeout, &what, bring_up(&mut cluster, &passwords)).await?;
    let replicas = cluster.replicas() - 1;
    println!(
        "cluster {} {}: primary {}, {replicas} replica{} (write: {}, read: {})",
        args.name,
        if resuming { "completed" } else { "created" },
        cluster.primary,
        if replicas == 1 { "" } else { "s" },
        cluster.write_endpoint(),
        cluster.read_endpoint()
    );
    Ok(())
}

async fn apply_objects(ctx: &Context, spec: &ClusterSpec, passwords: &Passwords) -> Result<()> {
    let client = ctx.client.clone();
    apply(
        &Api::<Secret>::namespaced(client.clone(), &spec.namespace),
        &manifests::secret(spec, passwords),
    )
    .await?;
    apply(
        &Api::<ConfigMap>::namespaced(client.clone(), &spec.namespace),
        &manifests::config_map(spec),
    )
    .await?;
    let services: Api<Service> = Api::namespaced(client.clone(), &spec.namespace);
    for svc in manifests::services(spec) {
        apply(&services, &svc).await?;
    }
    apply(
        &Api::<StatefulSet>::namespaced(client, &spec.namespace),
        &manifests::statefulset(spec),
    )
    .await?;
    Ok(())
}

/// The primary first, then each replica in ordinal order (each may be the next one's donor).
pub async fn bring_up(cluster: &mut Cluster, passwords: &Passwords) -> Result<()> {
    let progress = Progress::new();
    let primary = cluster.primary.clone();
    let task = progress.task(&primary);
    clone::ensure_member(cluster, &primary, passwords, &task).await?;
    task.finish("primary ready");
    let replicas: Vec<String> = cluster
        .members
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| *n != primary)
        .collect();
    for pod in replicas {
        cluster.refresh().await?;
        let task = progress.task(&pod);
        clone::ensure_member(cluster, &pod, passwords, &task).await?;
        clone::catch_up(cluster, &pod, &task).await?;
        task.finish("replica ready");
    }
    Ok(())
}
