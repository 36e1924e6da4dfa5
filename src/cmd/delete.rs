//! `kubectl mysqlha delete NAME`: remove the cluster's objects, and its data unless --keep-data.
//! Objects are found by name and by the cluster's labels, and one already gone counts as
//! deleted, so running the command again finishes a delete that was interrupted.
use crate::cli::DeleteArgs;
use crate::cmd::confirm;
use crate::k8s::apply::{delete_if_managed, delete_workloads};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
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
        Reason::WorkloadsDeleted,
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
            "cluster {name} deleted; data kept in {} PersistentVolumeClaim(s), with ConfigMap {name} (the record of the primary), Secret {name}-credentials and, with TLS, the CA {name}-ca (create {name} again to bring it back)",
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
    // The cluster's CA (its key, and the certificate published for clients) goes with it.
    let ca_name = crate::manifests::tls::ca_secret_name(name);
    let foreign_ca = delete_if_managed::<Secret>(
        &Api::namespaced(ctx.client.clone(), &ctx.namespace),
        &ca_name,
    )
    .await?;
    let foreign_ca_config = delete_if_managed::<ConfigMap>(
        &Api::namespaced(ctx.client.clone(), &ctx.namespace),
        &ca_name,
    )
    .await?;
    for (kind, object, foreign) in [
        ("ConfigMap", name.as_str(), foreign_config),
        ("Secret", secret_name.as_str(), foreign_secret),
        ("Secret", ca_name.as_str(), foreign_ca),
        ("ConfigMap", ca_name.as_str(), foreign_ca_config),
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
    ctx.event(Reason::DataDeleted, format!("the PersistentVolumeClaims, ConfigMap {name}, Secret {name}-credentials and the cluster's CA ({name}-ca) of cluster {name} deleted"));
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

/// `delete` against a scripted API server: what it deletes, in order, and what it refuses.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{
        apis, core, empty_list, failure, forbidden, foreign, list, managed, member_pod, not_found,
        ok, success, Script,
    };
    use std::time::Duration;

    fn args(keep_data: bool) -> DeleteArgs {
        DeleteArgs {
            name: "shop".into(),
            lock: Default::default(),
            keep_data,
            yes: true,
            timeout: Duration::from_secs(60),
        }
    }

    fn labelled(collection: String) -> String {
        format!(
            "{collection}?labelSelector={}",
            manifests::selector_string("shop")
        )
    }

    fn statefulset() -> String {
        apis("apps/v1", "statefulsets", "shop")
    }

    /// The agent goes first: its Deployment, its rights, its account, its Lease.
    fn agent_removed(script: Script) -> Script {
        script
            .get(
                apis("apps/v1", "deployments", "shop-agent"),
                ok(managed("apps/v1", "Deployment", "shop-agent", "shop")),
            )
            .delete(apis("apps/v1", "deployments", "shop-agent"), success())
            .delete(
                apis("rbac.authorization.k8s.io/v1", "rolebindings", "shop-agent"),
                success(),
            )
            .delete(
                apis("rbac.authorization.k8s.io/v1", "roles", "shop-agent"),
                success(),
            )
            .delete(
                apis(
                    "rbac.authorization.k8s.io/v1",
                    "rolebindings",
                    "shop-agent-backup",
                ),
                success(),
            )
            .delete(
                apis("rbac.authorization.k8s.io/v1", "roles", "shop-agent-backup"),
                success(),
            )
            .delete(core("serviceaccounts", "shop-agent"), success())
            .delete(
                apis("coordination.k8s.io/v1", "leases", "shop-agent"),
                success(),
            )
            // No prometheus-operator here: the API server does not know the resource.
            .delete(
                apis("monitoring.coreos.com/v1", "podmonitors", "shop-agent"),
                failure(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            )
    }

    /// The StatefulSet, the Services, the budget; then the wait until no pod is left.
    fn workloads_deleted(script: Script) -> Script {
        script
            .delete(statefulset(), success())
            .get(labelled(core("services", "")), empty_list())
            .delete(core("services", "shop"), success())
            .delete(core("services", "shop-primary"), success())
            .delete(core("services", "shop-read"), success())
            .delete(apis("policy/v1", "poddisruptionbudgets", "shop"), success())
            .get(labelled(core("pods", "")), empty_list())
    }

    fn a_cluster() -> Script {
        Script::new().get(
            statefulset(),
            ok(managed("apps/v1", "StatefulSet", "shop", "shop")),
        )
    }

    /// Nothing of the cluster: no StatefulSet, ConfigMap or Secret of its own, no labelled
    /// Service, claim or pod.
    fn nothing_of_it(config: crate::k8s::mock::Reply, secret: crate::k8s::mock::Reply) -> Script {
        Script::new()
            .get(statefulset(), not_found("statefulsets", "shop"))
            .get(core("configmaps", "shop"), config)
            .get(core("secrets", "shop-credentials"), secret)
            .get(labelled(core("services", "")), empty_list())
            .get(labelled(core("persistentvolumeclaims", "")), empty_list())
            .get(labelled(core("pods", "")), empty_list())
    }

    async fn run_delete(script: Script, keep_data: bool) -> (Result<()>, Vec<String>) {
        let (ctx, server) = script.start_context();
        let result = run(&ctx, &args(keep_data)).await;
        let calls = server.finish();
        (result, calls.iter().map(|c| c.line()).collect())
    }

    #[tokio::test]
    async fn delete_removes_the_agent_then_the_workloads_then_the_record_secret_and_claims() {
        let script = workloads_deleted(agent_removed(a_cluster()))
            .get(
                core("configmaps", "shop"),
                ok(managed("v1", "ConfigMap", "shop", "shop")),
            )
            .delete(core("configmaps", "shop"), success())
            .get(
                core("secrets", "shop-credentials"),
                ok(managed("v1", "Secret", "shop-credentials", "shop")),
            )
            .delete(core("secrets", "shop-credentials"), success())
            .get(
                core("secrets", "shop-ca"),
                ok(managed("v1", "Secret", "shop-ca", "shop")),
            )
            .delete(core("secrets", "shop-ca"), success())
            .get(
                core("configmaps", "shop-ca"),
                ok(managed("v1", "ConfigMap", "shop-ca", "shop")),
            )
            .delete(core("configmaps", "shop-ca"), success())
            .delete(labelled(core("persistentvolumeclaims", "")), success())
            .get(labelled(core("persistentvolumeclaims", "")), empty_list());
        let (result, _) = run_delete(script, false).await;
        result.unwrap();
    }

    #[tokio::test]
    async fn delete_keep_data_stops_after_the_pods_and_deletes_no_record_secret_or_claim() {
        let script = workloads_deleted(agent_removed(a_cluster())).get(
            labelled(core("persistentvolumeclaims", "")),
            list(vec![managed(
                "v1",
                "PersistentVolumeClaim",
                "data-shop-0",
                "shop",
            )]),
        );
        let (result, calls) = run_delete(script, true).await;
        result.unwrap();
        assert!(calls.iter().all(|c| !c.contains("/configmaps/")));
        assert!(calls.iter().all(|c| !c.contains("/secrets/")));
    }

    #[tokio::test]
    async fn delete_leaves_a_users_configmap_and_secret_of_the_same_name_alone() {
        let script = workloads_deleted(agent_removed(a_cluster()))
            .get(
                core("configmaps", "shop"),
                ok(foreign("v1", "ConfigMap", "shop")),
            )
            .get(
                core("secrets", "shop-credentials"),
                ok(foreign("v1", "Secret", "shop-credentials")),
            )
            .get(
                core("secrets", "shop-ca"),
                ok(foreign("v1", "Secret", "shop-ca")),
            )
            .get(
                core("configmaps", "shop-ca"),
                not_found("configmaps", "shop-ca"),
            )
            .delete(labelled(core("persistentvolumeclaims", "")), success())
            .get(labelled(core("persistentvolumeclaims", "")), empty_list());
        let (result, calls) = run_delete(script, false).await;
        result.unwrap();
        assert!(!calls
            .iter()
            .any(|c| c.starts_with("DELETE /api/v1/namespaces/ns/configmaps")));
        assert!(!calls
            .iter()
            .any(|c| c.starts_with("DELETE /api/v1/namespaces/ns/secrets")));
    }

    #[tokio::test]
    async fn delete_refuses_a_statefulset_that_is_not_a_mysqlha_cluster_and_deletes_nothing() {
        let script =
            Script::new().get(statefulset(), ok(foreign("apps/v1", "StatefulSet", "shop")));
        let (result, calls) = run_delete(script, false).await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "StatefulSet shop in namespace ns is not a mysqlha cluster; nothing deleted"
        );
        assert_eq!(calls.len(), 1);
    }

    #[tokio::test]
    async fn delete_of_a_cluster_with_nothing_left_says_it_is_not_found() {
        let script = nothing_of_it(
            not_found("configmaps", "shop"),
            not_found("secrets", "shop-credentials"),
        );
        let (result, _) = run_delete(script, false).await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "cluster shop not found in namespace ns: nothing to delete"
        );
    }

    #[tokio::test]
    async fn a_users_configmap_and_secret_of_the_same_name_are_not_a_cluster_to_delete() {
        let script = nothing_of_it(
            ok(foreign("v1", "ConfigMap", "shop")),
            ok(foreign("v1", "Secret", "shop-credentials")),
        );
        let (result, _) = run_delete(script, false).await;
        assert!(result
            .unwrap_err()
            .to_string()
            .contains("nothing to delete"));
    }

    #[tokio::test]
    async fn a_delete_interrupted_after_the_statefulset_is_finished_by_running_it_again() {
        let script = Script::new()
            .get(statefulset(), not_found("statefulsets", "shop"))
            .get(
                core("configmaps", "shop"),
                ok(managed("v1", "ConfigMap", "shop", "shop")),
            );
        let script = workloads_deleted(agent_removed(script))
            .get(
                core("configmaps", "shop"),
                ok(managed("v1", "ConfigMap", "shop", "shop")),
            )
            .delete(core("configmaps", "shop"), success())
            .get(
                core("secrets", "shop-credentials"),
                not_found("secrets", "shop-credentials"),
            )
            .get(core("secrets", "shop-ca"), not_found("secrets", "shop-ca"))
            .get(
                core("configmaps", "shop-ca"),
                not_found("configmaps", "shop-ca"),
            )
            .delete(labelled(core("persistentvolumeclaims", "")), success())
            .get(labelled(core("persistentvolumeclaims", "")), empty_list());
        let (result, _) = run_delete(script, false).await;
        result.unwrap();
    }

    #[tokio::test]
    async fn a_cluster_made_without_the_agent_by_a_user_who_may_not_touch_roles_is_deleted() {
        let script = a_cluster()
            .get(
                apis("apps/v1", "deployments", "shop-agent"),
                not_found("deployments", "shop-agent"),
            )
            .delete(
                apis("apps/v1", "deployments", "shop-agent"),
                not_found("deployments", "shop-agent"),
            )
            .delete(
                apis("rbac.authorization.k8s.io/v1", "rolebindings", "shop-agent"),
                forbidden("rolebindings is forbidden"),
            )
            .delete(core("serviceaccounts", "shop-agent"), success())
            .delete(
                apis("coordination.k8s.io/v1", "leases", "shop-agent"),
                not_found("leases", "shop-agent"),
            )
            // The CRDs are installed, but the built-in roles name no custom resource.
            .delete(
                apis("monitoring.coreos.com/v1", "podmonitors", "shop-agent"),
                forbidden("podmonitors.monitoring.coreos.com \"shop-agent\" is forbidden"),
            );
        let script = workloads_deleted(script)
            .get(labelled(core("persistentvolumeclaims", "")), empty_list());
        let (result, _) = run_delete(script, true).await;
        result.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_until_every_pod_has_stopped_before_it_deletes_the_data() {
        let script = agent_removed(a_cluster())
            .delete(statefulset(), success())
            .get(labelled(core("services", "")), empty_list())
            .delete(core("services", "shop"), success())
            .delete(core("services", "shop-primary"), success())
            .delete(core("services", "shop-read"), success())
            .delete(apis("policy/v1", "poddisruptionbudgets", "shop"), success())
            .get(
                labelled(core("pods", "")),
                list(vec![
                    member_pod("shop", "shop-0"),
                    member_pod("shop", "shop-1"),
                ]),
            )
            .get(
                labelled(core("pods", "")),
                list(vec![member_pod("shop", "shop-1")]),
            )
            .get(labelled(core("pods", "")), empty_list())
            .get(labelled(core("persistentvolumeclaims", "")), empty_list());
        let (result, _) = run_delete(script, true).await;
        result.unwrap();
    }

    #[tokio::test]
    async fn delete_stops_at_the_first_object_it_cannot_delete() {
        let script = agent_removed(a_cluster())
            .delete(statefulset(), forbidden("statefulsets is forbidden"));
        let (result, calls) = run_delete(script, false).await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "cannot delete StatefulSet shop"
        );
        assert_eq!(
            calls.last().unwrap(),
            "DELETE /apis/apps/v1/namespaces/ns/statefulsets/shop"
        );
    }
}
