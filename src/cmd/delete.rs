//! `kubectl mysqlha delete NAME`: remove the cluster's objects, and its data unless --keep-data.
//! Objects are found by name and by the cluster's labels, and one already gone counts as
//! deleted, so running the command again finishes a delete that was interrupted.
use crate::cli::DeleteArgs;
use crate::cmd::confirm;
use crate::k8s::apply::{delete_if_managed, delete_workloads};
use crate::k8s::context::Context;
use crate::k8s::wait;
use crate::manifests;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams};
use kube::Api;

pub async fn run(ctx: &Context, args: &DeleteArgs) -> Result<()> {
    let name = &args.name;
    let labels = manifests::selector_string(name);
    if !anything_left(ctx, name).await? {
        bail!(
            "cluster {name} not found in namespace {}: nothing to delete",
            ctx.namespace
        );
    }
    let what = if args.keep_data {
        "its data is kept"
    } else {
        "ALL ITS DATA IS DELETED"
    };
    confirm(
        &format!(
            "Delete cluster {name} in namespace {}? ({what})",
            ctx.namespace
        ),
        args.yes,
    )?;
    ctx.ensure_lock_held()?;
    // The agent first: it must not act on a cluster going away.
    crate::agent::remove(ctx, name).await?;
    delete_workloads(&ctx.client, &ctx.namespace, name).await?;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    wait::with_timeout(
        args.timeout,
        "waiting for the pods to stop",
        wait::until_none_left(&pods, &labels, |left| {
            eprintln!("waiting for {left} pod(s) to stop")
        }),
    )
    .await?;
    ctx.event(
        "WorkloadsDeleted",
        format!("StatefulSet {name} and its Services deleted; every pod stopped"),
    );
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    if args.keep_data {
        // The ConfigMap keeps the record of the primary, the Secret the passwords: create
        // needs both to bring the cluster back on its data.
        let kept = claims
            .list(&ListParams::default().labels(&labels))
            .await
            .context("cannot list the PersistentVolumeClaims")?;
        println!(
            "cluster {name} deleted; data kept in {} PersistentVolumeClaim(s), with ConfigMap {name} (the record of the primary) and Secret {name}-credentials (create {name} again to bring it back)",
            kept.items.len()
        );
        return Ok(());
    }
    let secret_name = format!("{name}-credentials");
    let foreign_config =
        delete_if_managed::<ConfigMap>(&Api::namespaced(ctx.client.clone(), &ctx.namespace), name)
            .await?;
    let foreign_secret = delete_if_managed::<Secret>(
        &Api::namespaced(ctx.client.clone(), &ctx.namespace),
        &secret_name,
    )
    .await?;
    for (kind, object, foreign) in [
        ("ConfigMap", name.as_str(), foreign_config),
        ("Secret", secret_name.as_str(), foreign_secret),
    ] {
        if foreign {
            eprintln!("{kind} {object} is not the plugin's (no managed-by label): left alone");
        }
    }
    claims
        .delete_collection(
            &DeleteParams::background(),
            &ListParams::default().labels(&labels),
        )
        .await
        .context("cannot delete the PersistentVolumeClaims")?;
    wait::with_timeout(
        args.timeout,
        "waiting for the PersistentVolumeClaims to go",
        wait::until_none_left(&claims, &labels, |_| {}),
    )
    .await?;
    ctx.event("DataDeleted", format!("the PersistentVolumeClaims, ConfigMap {name} and Secret {name}-credentials of cluster {name} deleted"));
    println!("cluster {name} deleted with its data");
    Ok(())
}

/// Whether anything of cluster `name` is left in the namespace (a StatefulSet that is not
/// the plugin's is refused).
async fn anything_left(ctx: &Context, name: &str) -> Result<bool> {
    let ns = &ctx.namespace;
    let c = &ctx.client;
    if let Some(sts) = Api::<StatefulSet>::namespaced(c.clone(), ns)
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read StatefulSet {name}"))?
    {
        if !manifests::is_managed(&sts.metadata) {
            bail!("StatefulSet {name} in namespace {ns} is not a mysqlha cluster; nothing deleted");
        }
        return Ok(true);
    }
    let config_map = Api::<ConfigMap>::namespaced(c.clone(), ns)
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read ConfigMap {name}"))?;
    if config_map.is_some_and(|cm| manifests::is_managed(&cm.metadata)) {
        return Ok(true);
    }
    let secret = Api::<Secret>::namespaced(c.clone(), ns)
        .get_opt(&format!("{name}-credentials"))
        .await
        .with_context(|| format!("cannot read Secret {name}-credentials"))?;
    if secret.is_some_and(|s| manifests::is_managed(&s.metadata)) {
        return Ok(true);
    }
    let labels = ListParams::default().labels(&manifests::selector_string(name));
    let services = Api::<Service>::namespaced(c.clone(), ns)
        .list(&labels)
        .await
        .context("cannot list Services")?;
    let claims = Api::<PersistentVolumeClaim>::namespaced(c.clone(), ns)
        .list(&labels)
        .await
        .context("cannot list PersistentVolumeClaims")?;
    let pods = Api::<Pod>::namespaced(c.clone(), ns)
        .list(&labels)
        .await
        .context("cannot list pods")?;
    Ok(!services.items.is_empty() || !claims.items.is_empty() || !pods.items.is_empty())
}
