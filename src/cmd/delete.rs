//! `kubectl mysqlha delete NAME`: remove the cluster's objects, and its data unless --keep-data.
//! Objects are found by name and by the cluster's labels, and one already gone counts as
//! deleted, so running the command again finishes a delete that was interrupted.
use crate::cli::DeleteArgs;
use crate::cmd::confirm;
use crate::context::Context;
use crate::manifests;
use crate::wait;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::time::Duration;

pub async fn run(ctx: &Context, args: &DeleteArgs) -> Result<()> {
    let name = &args.name;
    let labels = manifests::selector_string(name);
    let found = Found::list(ctx, name).await?;
    if found.is_empty() {
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
    delete_named::<StatefulSet>(&Api::namespaced(ctx.client.clone(), &ctx.namespace), name).await?;
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    for svc in [
        name.clone(),
        format!("{name}-primary"),
        format!("{name}-read"),
    ] {
        delete_named(&services, &svc).await?;
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    wait::with_timeout(args.timeout, "waiting for the pods to stop", async {
        let mut last = 0;
        loop {
            let left = pods
                .list(&ListParams::default().labels(&labels))
                .await
                .context("cannot list the cluster's pods")?;
            if left.items.is_empty() {
                return Ok(());
            }
            if left.items.len() != last {
                last = left.items.len();
                eprintln!("waiting for {last} pod(s) to stop");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await?;
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
    delete_named::<ConfigMap>(&Api::namespaced(ctx.client.clone(), &ctx.namespace), name).await?;
    delete_named::<Secret>(
        &Api::namespaced(ctx.client.clone(), &ctx.namespace),
        &format!("{name}-credentials"),
    )
    .await?;
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
        async {
            while !claims
                .list(&ListParams::default().labels(&labels))
                .await
                .context("cannot list the PersistentVolumeClaims")?
                .items
                .is_empty()
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(())
        },
    )
    .await?;
    println!("cluster {name} deleted with its data");
    Ok(())
}

/// Deletes one object by name; "not found" counts as deleted.
async fn delete_named<K>(api: &Api<K>, name: &str) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {} {name}", K::kind(&()))),
    }
}

/// Which of the cluster's objects exist.
struct Found {
    objects: Vec<String>,
}

impl Found {
    async fn list(ctx: &Context, name: &str) -> Result<Self> {
        let mut objects = vec![];
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
            objects.push(format!("StatefulSet {name}"));
        }
        if Api::<ConfigMap>::namespaced(c.clone(), ns)
            .get_opt(name)
            .await
            .with_context(|| format!("cannot read ConfigMap {name}"))?
            .is_some_and(|cm| manifests::is_managed(&cm.metadata))
        {
            objects.push(format!("ConfigMap {name}"));
        }
        if Api::<Secret>::namespaced(c.clone(), ns)
            .get_opt(&format!("{name}-credentials"))
            .await
            .with_context(|| format!("cannot read Secret {name}-credentials"))?
            .is_some()
        {
            objects.push(format!("Secret {name}-credentials"));
        }
        let labels = manifests::selector_string(name);
        let services = Api::<Service>::namespaced(c.clone(), ns)
            .list(&ListParams::default().labels(&labels))
            .await
            .context("cannot list Services")?;
        let claims = Api::<PersistentVolumeClaim>::namespaced(c.clone(), ns)
            .list(&ListParams::default().labels(&labels))
            .await
            .context("cannot list PersistentVolumeClaims")?;
        let pods = Api::<Pod>::namespaced(c.clone(), ns)
            .list(&ListParams::default().labels(&labels))
            .await
            .context("cannot list pods")?;
        objects.extend(
            (services.items.iter().map(|s| s.metadata.name.clone()))
                .chain(claims.items.iter().map(|s| s.metadata.name.clone()))
                .chain(pods.items.iter().map(|s| s.metadata.name.clone()))
                .flatten(),
        );
        Ok(Found { objects })
    }

    fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}
