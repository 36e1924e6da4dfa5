//! `kubectl mysqlha delete NAME`: remove the cluster's objects, and its data unless --keep-data.
use crate::cli::DeleteArgs;
use crate::cluster::Cluster;
use crate::cmd::confirm;
use crate::context::Context;
use crate::manifests;
use crate::wait;
use anyhow::{Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use kube::api::{DeleteParams, ListParams};
use kube::Api;
use std::time::Duration;

pub async fn run(ctx: &Context, args: &DeleteArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let what = if args.keep_data {
        "its data is kept"
    } else {
        "ALL ITS DATA IS DELETED"
    };
    confirm(
        &format!(
            "Delete cluster {} in namespace {}? ({what})",
            args.name, ctx.namespace
        ),
        args.yes,
    )?;
    let ns = &ctx.namespace;
    let client = &ctx.client;
    let name = &args.name;
    let params = DeleteParams::background();
    let gone = |r: Result<_, kube::Error>| match r {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    };
    gone(
        Api::<StatefulSet>::namespaced(client.clone(), ns)
            .delete(name, &params)
            .await
            .map(|_| ()),
    )
    .context("cannot delete the StatefulSet")?;
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    for svc in [
        name.clone(),
        format!("{name}-primary"),
        format!("{name}-read"),
    ] {
        gone(services.delete(&svc, &params).await.map(|_| ()))
            .with_context(|| format!("cannot delete Service {svc}"))?;
    }
    gone(
        Api::<ConfigMap>::namespaced(client.clone(), ns)
            .delete(name, &params)
            .await
            .map(|_| ()),
    )
    .context("cannot delete the ConfigMap")?;
    let labels = manifests::selector_string(name);
    wait::with_timeout(args.timeout, "waiting for the pods to stop", async {
        loop {
            let left = cluster
                .pods
                .list(&ListParams::default().labels(&labels))
                .await?;
            if left.items.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await?;
    if args.keep_data {
        let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
            .list(&ListParams::default().labels(&labels))
            .await?;
        println!(
            "cluster {name} deleted; data kept in {} PersistentVolumeClaim(s) and Secret {name}-credentials (create {name} again to bring it back)",
            claims.items.len()
        );
        return Ok(());
    }
    gone(
        Api::<Secret>::namespaced(client.clone(), ns)
            .delete(&format!("{name}-credentials"), &params)
            .await
            .map(|_| ()),
    )
    .context("cannot delete the credentials Secret")?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    claims
        .delete_collection(&params, &ListParams::default().labels(&labels))
        .await
        .context("cannot delete the PersistentVolumeClaims")?;
    wait::with_timeout(
        args.timeout,
        "waiting for the PersistentVolumeClaims to go",
        async {
            while !claims
                .list(&ListParams::default().labels(&labels))
                .await?
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
