//! `kubectl mysqlha agent enable|disable NAME`: deploy or remove a cluster's automatic-failover
//! agent; `kubectl-mysqlha agent run NAME`: the agent itself, in its pods (crate::agent).
use crate::cli::{AgentDisableArgs, AgentEnableArgs, AgentRunArgs, GlobalArgs};
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::agent::{agent_name, AgentSpec};
use anyhow::{Context as _, Result};

pub async fn enable(ctx: &Context, args: &AgentEnableArgs) -> Result<()> {
    // Only for a cluster that exists.
    let cluster = Cluster::load(ctx, &args.name).await?;
    let spec = AgentSpec {
        cluster: args.name.clone(),
        namespace: ctx.namespace.clone(),
        image: crate::agent::image(args.agent_image.as_deref()),
        tuning: (&args.tuning).into(),
        members: cluster.replicas(),
    };
    ctx.ensure_lock_held()?;
    crate::agent::deploy(ctx, &spec).await?;
    // Backups enabled before (or kept across `agent disable`): the agent archives again.
    if let Some(config) =
        crate::k8s::apply::backup_config(&ctx.client, &ctx.namespace, &args.name).await?
    {
        crate::agent::grant_archiving(ctx, &args.name, &config.credentials).await?;
    }
    println!(
        "agent of cluster {} deployed: Deployment {} (image {}), failover after {}s without an answer from the primary",
        args.name,
        agent_name(&args.name),
        spec.image,
        spec.tuning.grace.as_secs()
    );
    Ok(())
}

pub async fn disable(ctx: &Context, args: &AgentDisableArgs) -> Result<()> {
    ctx.ensure_lock_held()?;
    crate::agent::remove(ctx, &args.name).await?;
    ctx.event(
        Reason::AgentRemoved,
        "the automatic-failover agent was removed",
    );
    println!(
        "agent of cluster {} removed: no automatic failover",
        args.name
    );
    Ok(())
}

/// The agent's loop, with the pod's credentials (or the kubeconfig outside a cluster).
pub async fn run(global: &GlobalArgs, args: &AgentRunArgs) -> Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("cannot build a Kubernetes client (in-cluster or kubeconfig)")?;
    let namespace = global
        .namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| client.default_namespace().to_string());
    crate::agent::run(client, namespace, args.name.clone(), (&args.tuning).into()).await
}
