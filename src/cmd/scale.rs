//! `kubectl mysqlha scale NAME --replicas N`: new members are cloned from a healthy replica and
//! join by GTID; scaling down removes the highest ordinals and never the primary.
use crate::base::progress::Progress;
use crate::cli::ScaleArgs;
use crate::cluster::{observe, pod_phase, Cluster, PodPhase};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::ops::fanout;
use crate::ops::member_services;
use crate::{k8s::wait, ops::topology};
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::time::Duration;

pub fn validate(args: &ScaleArgs) -> Result<()> {
    crate::manifests::validate_name(&args.name).map_err(anyhow::Error::msg)?;
    crate::manifests::validate_members(args.replicas).map_err(anyhow::Error::msg)?;
    Ok(())
}

pub async fn run(ctx: &Context, args: &ScaleArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    let from = cluster.replicas();
    let primary_ordinal: i32 = cluster
        .primary
        .rsplit('-')
        .next()
        .and_then(|o| o.parse().ok())
        .context("primary of record has no ordinal")?;
    if args.replicas <= primary_ordinal {
        bail!(
            "cannot scale {} to {} members: that would remove the primary {}; move it first: kubectl mysqlha switchover {} --to {}-0",
            args.name, args.replicas, cluster.primary, args.name, args.name
        );
    }
    let passwords = cluster.passwords().await?;
    if args.replicas < from {
        // Fewer members: stop waiting for acknowledgements they would have sent, first.
        topology::set_member_count(&cluster, args.replicas).await?;
    }
    if args.replicas > from {
        // The agent may act on the new members as soon as they exist.
        crate::agent::name_members(ctx, &args.name, args.replicas).await?;
    }
    if args.replicas >= from {
        // Their certificates exist before their pods do (and a run again issues one that a
        // member still lacks).
        crate::ops::certificates::ensure(&cluster, args.replicas).await?;
    }
    if args.replicas != from {
        let statefulsets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let patch = serde_json::json!({ "spec": { "replicas": args.replicas } });
        statefulsets
            .patch(&args.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .context("cannot scale the StatefulSet")?;
        ctx.event(
            Reason::StatefulSetScaled,
            format!(
                "StatefulSet {} scaled from {from} to {} members",
                args.name, args.replicas
            ),
        );
        cluster = Cluster::load(ctx, &args.name).await?;
    }
    cluster.transfer = args.transfer;
    if args.replicas >= from {
        member_services::ensure(&cluster, args.replicas).await?;
    }
    let what = format!("scaling {} to {}", args.name, args.replicas);
    wait::with_timeout(args.timeout, &what, async {
        if args.replicas < from {
            wait_for_removal(&cluster, args.replicas, from, args.timeout).await
        } else {
            fill_members(ctx, &cluster, &passwords).await?;
            // More members: wait for their acknowledgements only once they can send them.
            topology::set_member_count(&cluster, args.replicas).await
        }
    })
    .await?;
    if args.replicas < from {
        member_services::remove_beyond(&cluster, args.replicas, from).await?;
        crate::agent::name_members(ctx, &args.name, args.replicas).await?;
        ctx.event(
            Reason::MembersRemoved,
            format!(
                "members {}-{} to {}-{} removed (their volumes are kept)",
                args.name,
                args.replicas,
                args.name,
                from - 1
            ),
        );
    }
    if args.replicas == from {
        println!(
            "cluster {} already has {from} members; every member serves",
            args.name
        );
    } else {
        println!(
            "cluster {} scaled from {from} to {} members",
            args.name, args.replicas
        );
    }
    Ok(())
}

/// Brings every member that is not serving into service, all at once (fanout::SCALE streams
/// per donor): clones pods waiting for data (including those made by a plain `kubectl scale`),
/// and re-clones a returning member whose data holds transactions the primary lacks.
async fn fill_members(
    ctx: &Context,
    cluster: &Cluster,
    passwords: &crate::manifests::Passwords,
) -> Result<()> {
    let progress = Progress::new();
    let donors = fanout::serving(cluster);
    let mut targets = vec![];
    for m in cluster.members.iter().filter(|m| m.name != cluster.primary) {
        if donors.contains(&m.name) {
            continue;
        }
        let how = if diverged(cluster, &m.name).await {
            progress
                .task(&m.name)
                .finish("holds transactions the primary lacks: re-cloning");
            fanout::Fill::Rebuild
        } else {
            fanout::Fill::Ensure
        };
        targets.push((m.name.clone(), how));
    }
    if targets.is_empty() {
        return Ok(());
    }
    if donors.is_empty() {
        return Err(fanout::no_donor(cluster));
    }
    fanout::fill(
        ctx,
        cluster,
        &progress,
        &donors,
        targets,
        fanout::SCALE,
        passwords,
    )
    .await
}

/// A running member whose binary log holds GTIDs the primary never had.
async fn diverged(cluster: &Cluster, pod: &str) -> bool {
    let current = cluster.pods.get_opt(pod).await.ok().flatten();
    if !matches!(pod_phase(current.as_ref()), PodPhase::Running { .. }) {
        return false;
    }
    let (Ok(mine), Ok(primary)) = (
        observe(cluster.server(pod)).await,
        observe(cluster.server(&cluster.primary)).await,
    ) else {
        return false;
    };
    !mine.history.errant_against(&primary.history).is_empty()
}

/// Waits until the pods of members `to`..`from` are gone, each for at most `limit`.
async fn wait_for_removal(cluster: &Cluster, to: i32, from: i32, limit: Duration) -> Result<()> {
    for ordinal in to..from {
        let pod = &format!("{}-{ordinal}", cluster.name);
        wait::until_some(limit, &format!("pod {pod} is removed"), || async {
            let there = cluster
                .pods
                .get_opt(pod)
                .await
                .with_context(|| format!("cannot read pod {pod}"))?;
            if there.is_none() {
                return Ok(Some(()));
            }
            wait::note(format!("pod {pod} still exists"));
            Ok(None)
        })
        .await?;
    }
    Ok(())
}

/// `scale`'s refusals and its first API calls, against a scripted API server: nothing changes
/// before the checks pass.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{
        apis, core, credentials, echo, forbidden, managed, not_found, ok, Call, Script,
    };

    fn scale_args(replicas: i32) -> ScaleArgs {
        ScaleArgs {
            name: "shop".into(),
            lock: Default::default(),
            replicas,
            transfer: Default::default(),
            timeout: Duration::from_secs(60),
        }
    }

    async fn scale_refused(script: Script, replicas: i32) -> (String, Vec<Call>) {
        let (ctx, server) = script.start_context();
        let error = run(&ctx, &scale_args(replicas)).await.expect_err("refused");
        (format!("{error:#}"), server.finish())
    }

    fn nothing_written(calls: &[Call]) -> bool {
        calls.iter().all(|c| c.method == "GET")
    }

    #[test]
    fn scale_to_no_members_is_refused_before_anything_is_contacted() {
        assert!(validate(&scale_args(0)).is_err());
        assert!(validate(&scale_args(-1)).is_err());
        assert!(validate(&scale_args(3)).is_ok());
    }

    #[test]
    fn scale_of_a_name_that_cannot_be_a_cluster_is_refused_before_anything_is_contacted() {
        let args = ScaleArgs {
            name: "Shop_1".into(),
            ..scale_args(3)
        };
        assert!(validate(&args).is_err());
    }

    #[tokio::test]
    async fn scale_of_a_cluster_that_does_not_exist_changes_nothing() {
        let script = Script::new()
            .get(
                apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            )
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"));
        let (error, calls) = scale_refused(script, 3).await;
        assert_eq!(error, "cluster shop not found in namespace ns");
        assert!(nothing_written(&calls));
    }

    #[tokio::test]
    async fn scale_refuses_to_remove_the_primary_and_says_how_to_move_it() {
        let script = Script::new().cluster_loaded("shop", 3, "shop-2");
        let (error, calls) = scale_refused(script, 2).await;
        assert_eq!(
            error,
            "cannot scale shop to 2 members: that would remove the primary shop-2; move it first: kubectl mysqlha switchover shop --to shop-0"
        );
        assert!(nothing_written(&calls));
    }

    #[tokio::test]
    async fn scale_of_a_cluster_without_a_primary_of_record_is_refused() {
        let script = Script::new().cluster_loaded("shop", 3, "");
        let (error, calls) = scale_refused(script, 2).await;
        assert_eq!(error, "primary of record has no ordinal");
        assert!(nothing_written(&calls));
    }

    #[tokio::test]
    async fn scale_without_the_clusters_passwords_changes_nothing() {
        let script = Script::new().cluster_loaded("shop", 3, "shop-0").get(
            core("secrets", "shop-credentials"),
            not_found("secrets", "shop-credentials"),
        );
        let (error, calls) = scale_refused(script, 5).await;
        assert!(error.starts_with("cannot read Secret shop-credentials: "));
        assert!(nothing_written(&calls));
    }

    #[tokio::test]
    async fn scale_up_names_the_new_members_to_the_agent_and_issues_their_certificates_before_the_statefulset_grows(
    ) {
        let role = apis("rbac.authorization.k8s.io/v1", "roles", "shop-agent");
        let spec = crate::k8s::mock::cluster_spec("shop", 3);
        let (ca, key) = crate::manifests::tls::Authority::generate(
            "shop",
            "ns",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        let ca_secret = crate::manifests::tls::ca_secret(&spec, &ca.cert_pem, &key);
        let script = Script::new()
            .cluster_loaded("shop", 3, "shop-0")
            .get(core("secrets", "shop-credentials"), ok(credentials("shop")))
            .get(
                &role,
                ok(managed(
                    "rbac.authorization.k8s.io/v1",
                    "Role",
                    "shop-agent",
                    "shop",
                )),
            )
            .patch(&role, echo())
            .get(core("secrets", "shop-credentials"), ok(credentials("shop")))
            .get(core("secrets", "shop-ca"), ok(ca_secret))
            .patch(core("secrets", "shop-credentials"), echo())
            .patch(
                apis("apps/v1", "statefulsets", "shop"),
                forbidden("statefulsets is forbidden"),
            );
        let (error, calls) = scale_refused(script, 5).await;
        assert!(error.starts_with("cannot scale the StatefulSet: "));
        let grown = calls.last().unwrap();
        assert_eq!(grown.body, serde_json::json!({ "spec": { "replicas": 5 } }));
        // The mock's Secret holds no certificate yet: all five members get one, no new CA.
        let issued = &calls[calls.len() - 2].body["stringData"];
        for pod in ["shop-0", "shop-4"] {
            assert!(issued[format!("tls-{pod}.key")].is_string(), "{issued}");
        }
        assert!(issued.get("tls-ca.crt").is_none(), "{issued}");
        assert!(issued.get("tls-generation").is_none(), "{issued}");
        assert!(calls[calls.len() - 5].body["rules"].is_array());
    }
}
