//! `kubectl mysqlha set NAME [--memory X] [--cpu X] [--storage SIZE] [--set key=value ...]`:
//! rolling changes. Everything is checked before anything changes: server settings on the
//! primary (a value the server rejects is refused), the volumes' growth by a server-side dry run.
//! Settings are recorded in the ConfigMap; dynamic ones are applied with SET GLOBAL on every
//! member without a restart. Settings that need a restart and resources change the pod
//! template; only members whose pod differs restart, replicas first, the primary last by
//! switchover (src/rolling.rs).
use crate::base::progress::Progress;
use crate::cli::SetArgs;
use crate::cluster::{Cluster, Member};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::{DATA_CONTAINER, SERVER_CONTAINER};
use crate::ops::placement::data_claim;
use crate::ops::settings::RESTART_ANNOTATION;
use crate::{base::input, k8s::wait, ops::rolling, ops::settings, ops::storage};
use anyhow::{bail, Result};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn validate(args: &SetArgs) -> Result<()> {
    if args.memory.is_none() && args.cpu.is_none() && args.storage.is_none() && args.set.is_empty()
    {
        bail!("nothing to change: give --memory, --cpu, --storage or --set key=value");
    }
    for s in &args.set {
        settings::parse(s)?;
    }
    for (flag, value) in [("--memory", &args.memory), ("--cpu", &args.cpu)] {
        if let Some(v) = value {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                bail!("{flag} {v}: not a Kubernetes quantity (e.g. 1Gi, 500m)");
            }
        }
    }
    if let Some(size) = &args.storage {
        input::quantity("--storage", size).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: &SetArgs) -> Result<()> {
    if storage::finish_remake(ctx, &args.name).await? {
        let task = Progress::new().task(&args.name);
        task.finish(&format!(
            "StatefulSet {} made anew, as an interrupted `set --storage` left it",
            args.name
        ));
    }
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    let wanted: Vec<(String, String)> = args
        .set
        .iter()
        .map(|s| settings::parse(s))
        .collect::<Result<_>>()?;
    // Checked before anything changes.
    let need_restart = if wanted.is_empty() {
        Vec::new()
    } else {
        settings::check(&cluster, &cluster.primary, &wanted).await?
    };
    let claims = match &args.storage {
        Some(size) => storage::claims_to_grow(&cluster, size).await?,
        None => Vec::new(),
    };
    let mut done = Vec::new();
    if !wanted.is_empty() {
        let applied = record_and_apply(ctx, &cluster, &wanted, &need_restart).await?;
        done.extend(applied);
    }
    if let Some(size) = &args.storage {
        done.push(grow_storage(ctx, &cluster, &claims, size, args.timeout).await?);
    }
    let requests = requests(args);
    if !requests.is_empty() {
        let resources = serde_json::json!({ "requests": requests });
        ctx.ensure_lock_held()?;
        rolling::patch_template(
            &cluster,
            serde_json::json!({
                "containers": [{ "name": SERVER_CONTAINER, "resources": resources }],
                "initContainers": [{ "name": DATA_CONTAINER, "resources": resources }],
            }),
        )
        .await?;
    }
    if !requests.is_empty() || !need_restart.is_empty() {
        // The pod template as just changed.
        let primary = cluster.primary.clone();
        cluster = Cluster::load(ctx, &args.name).await?;
        cluster.primary = primary;
    }
    // Members that started without the recorded restart settings (also those an interrupted
    // earlier run left) restart too.
    let restart_settings = rolling::template_annotation(&cluster, RESTART_ANNOTATION);
    let unfinished = cluster
        .members
        .iter()
        .any(|m| rolling::pod_annotation(m, RESTART_ANNOTATION) != restart_settings);
    if !need_restart.is_empty() && !unfinished {
        done.push(format!(
            "settings {} by restart (0 restarted: every member runs with them)",
            pairs(need_restart.iter().map(|(k, v)| (k, v)))
        ));
    }
    if !requests.is_empty() || unfinished {
        let passwords = cluster.passwords().await?;
        let what = format!("rolling the change through cluster {}", args.name);
        let rolled = wait::with_timeout(args.timeout, &what, async {
            rolling::roll(ctx, &mut cluster, &passwords, false, |m| {
                differs(m, &requests)
                    || rolling::pod_annotation(m, RESTART_ANNOTATION) != restart_settings
            })
            .await
        })
        .await?;
        let window = match &rolled.switchover {
            Some((old, new, w)) => format!(
                "; primary {old} → {new}, writes were refused for {:.2}s",
                w.as_secs_f64()
            ),
            None => String::new(),
        };
        let mut what = Vec::new();
        if !requests.is_empty() {
            what.push(format!("resources {}", pairs(&requests)));
        }
        if unfinished {
            let settings = restart_settings.unwrap_or_default().replace('\n', " ");
            what.push(format!("settings {} by restart", settings.trim()));
        }
        done.push(format!(
            "{} ({} restarted{window})",
            what.join(", "),
            rolled.restarted.len()
        ));
    }
    println!("set {}: {}", args.name, done.join("; "));
    Ok(())
}

/// Grows `claims` to `size` (checked already), waits until their volumes hold it, and makes
/// the StatefulSet's claim template ask for it (nothing restarts). An interrupted earlier run
/// is finished: its claims ask for the size already, the template may not.
async fn grow_storage(
    ctx: &Context,
    cluster: &Cluster,
    claims: &[String],
    size: &str,
    timeout: Duration,
) -> Result<String> {
    ctx.ensure_lock_held()?;
    storage::grow(cluster, claims, size).await?;
    ctx.ensure_lock_held()?;
    let template = storage::resize_claim_template(cluster, size).await?;
    let every: Vec<String> = cluster
        .members
        .iter()
        .map(|m| data_claim(&m.name))
        .collect();
    storage::wait_grown(cluster, &every, size, timeout).await?;
    if !claims.is_empty() || template {
        ctx.event(
            Reason::StorageGrown,
            format!(
                "the volumes of {} hold {size}; members added later get {size}",
                every.join(", ")
            ),
        );
    }
    Ok(match (claims.len(), template) {
        (0, false) => format!("storage {size} (every volume holds it already)"),
        (n, _) => format!(
            "storage {size} ({n} volumes grown, no restart; members added later get {size})"
        ),
    })
}

/// Records every setting in the ConfigMap; applies the dynamic ones on every member (SET
/// GLOBAL) and names the others in the pod template, for the roll. Returns what it applied.
async fn record_and_apply(
    ctx: &Context,
    cluster: &Cluster,
    wanted: &[(String, String)],
    need_restart: &[(String, String)],
) -> Result<Option<String>> {
    ctx.ensure_lock_held()?;
    // The ConfigMap as this plugin renders it (its write-config.sh includes settings.cnf).
    crate::ops::topology::apply_config(cluster, cluster.replicas()).await?;
    settings::record(cluster, wanted).await?;
    let dynamic: Vec<(String, String)> = wanted
        .iter()
        .filter(|s| !need_restart.contains(s))
        .cloned()
        .collect();
    let mut done = None;
    if !dynamic.is_empty() {
        for m in &cluster.members {
            // A member an interrupted earlier run left restarting gets them once it serves.
            wait::until_server_runs(&cluster.pods, &m.name).await?;
            let what = format!("applying the settings on {}", m.name);
            wait::retry(Duration::from_secs(120), &what, || {
                settings::apply_on(cluster, &m.name, &dynamic)
            })
            .await?;
        }
        let list = pairs(dynamic.iter().map(|(k, v)| (k, v)));
        ctx.event(
            Reason::SettingsApplied,
            format!("{list} applied on every member without a restart"),
        );
        done = Some(format!("{list} applied on every member (no restart)"));
    }
    if !need_restart.is_empty() {
        let current = rolling::template_annotation(cluster, RESTART_ANNOTATION);
        let all = settings::merged_restart_settings(current.as_deref(), need_restart);
        rolling::annotate_template(cluster, RESTART_ANNOTATION, &all).await?;
        let list = pairs(need_restart.iter().map(|(k, v)| (k, v)));
        ctx.event(
            Reason::SettingsRecorded,
            format!("{list} recorded; members restart one at a time to take it"),
        );
    }
    Ok(done)
}

/// The resource requests asked for (--memory, --cpu).
fn requests(args: &SetArgs) -> BTreeMap<String, String> {
    let mut requests = BTreeMap::new();
    if let Some(m) = &args.memory {
        requests.insert("memory".to_string(), m.clone());
    }
    if let Some(c) = &args.cpu {
        requests.insert("cpu".to_string(), c.clone());
    }
    requests
}

/// `k=v, k=v`.
fn pairs<'a>(items: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    items
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `member`'s running server container requests other resources than `wanted`.
fn differs(member: &Member, wanted: &BTreeMap<String, String>) -> bool {
    let Some(pod) = member.pod.as_ref() else {
        return true;
    };
    let requests = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == SERVER_CONTAINER))
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.clone())
        .unwrap_or_default();
    wanted
        .iter()
        .any(|(k, v)| requests.get(k) != Some(&Quantity(v.clone())))
}

/// `set`'s refusals against a scripted API server: everything is checked before anything
/// changes.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{cluster_spec, core, forbidden, not_found, ok, Call, Script};
    use crate::manifests;

    fn set_args(storage: Option<&str>) -> SetArgs {
        SetArgs {
            name: "shop".into(),
            lock: Default::default(),
            memory: None,
            cpu: None,
            set: vec![],
            storage: storage.map(str::to_string),
            timeout: Duration::from_secs(60),
        }
    }

    /// The claim of member `pod`, asking for `size`.
    fn claim(pod: &str, size: &str) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": { "name": data_claim(pod), "labels": manifests::labels("shop") },
            "spec": { "resources": { "requests": { "storage": size } } },
        })
    }

    /// No `set --storage` to finish: the ConfigMap has no StatefulSet kept in it.
    fn nothing_to_finish() -> Script {
        Script::new().get(
            core("configmaps", "shop"),
            ok(manifests::config_map(&cluster_spec("shop", 2))),
        )
    }

    async fn set_refused(script: Script, args: &SetArgs) -> (String, Vec<Call>) {
        let (ctx, server) = script.start_context();
        let error = run(&ctx, args).await.expect_err("refused");
        (format!("{error:#}"), server.finish())
    }

    fn nothing_changed(calls: &[Call]) -> bool {
        calls.iter().all(|c| c.method == "GET" || c.is_dry_run())
    }

    #[test]
    fn set_with_nothing_to_change_is_refused() {
        let error = validate(&set_args(None)).unwrap_err().to_string();
        assert_eq!(
            error,
            "nothing to change: give --memory, --cpu, --storage or --set key=value"
        );
    }

    #[test]
    fn set_of_a_memory_that_is_not_a_quantity_is_refused() {
        let args = SetArgs {
            memory: Some("2 GB".into()),
            ..set_args(None)
        };
        assert_eq!(
            validate(&args).unwrap_err().to_string(),
            "--memory 2 GB: not a Kubernetes quantity (e.g. 1Gi, 500m)"
        );
    }

    #[test]
    fn set_of_a_setting_without_a_value_is_refused() {
        let args = SetArgs {
            set: vec!["max_connections".into()],
            ..set_args(None)
        };
        assert!(validate(&args).is_err());
    }

    #[tokio::test]
    async fn set_of_a_cluster_that_does_not_exist_changes_nothing() {
        let script = Script::new()
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"))
            .get(
                crate::k8s::mock::apis("apps/v1", "statefulsets", "shop"),
                not_found("statefulsets", "shop"),
            )
            .get(core("configmaps", "shop"), not_found("configmaps", "shop"));
        let (error, calls) = set_refused(script, &set_args(Some("2Gi"))).await;
        assert_eq!(error, "cluster shop not found in namespace ns");
        assert!(nothing_changed(&calls));
    }

    #[tokio::test]
    async fn set_storage_refuses_to_shrink_a_volume_and_changes_nothing() {
        let script = nothing_to_finish()
            .cluster_loaded("shop", 2, "shop-0")
            .get(
                core("persistentvolumeclaims", "data-shop-0"),
                ok(claim("shop-0", "1Gi")),
            )
            .get(
                core("persistentvolumeclaims", "data-shop-1"),
                ok(claim("shop-1", "4Gi")),
            );
        let (error, calls) = set_refused(script, &set_args(Some("2Gi"))).await;
        assert_eq!(
            error,
            "claim data-shop-1 holds 4Gi already: storage can only grow, not shrink to 2Gi; nothing changed"
        );
        assert!(nothing_changed(&calls));
    }

    #[tokio::test]
    async fn set_storage_asks_the_volumes_by_dry_run_first_and_relays_a_refusal() {
        let script = nothing_to_finish()
            .cluster_loaded("shop", 2, "shop-0")
            .get(
                core("persistentvolumeclaims", "data-shop-0"),
                ok(claim("shop-0", "1Gi")),
            )
            .get(
                core("persistentvolumeclaims", "data-shop-1"),
                ok(claim("shop-1", "1Gi")),
            )
            .patch(
                format!(
                    "{}?dryRun=All",
                    core("persistentvolumeclaims", "data-shop-0")
                ),
                forbidden("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"),
            );
        let (error, calls) = set_refused(script, &set_args(Some("2Gi"))).await;
        assert_eq!(
            error,
            "claim data-shop-0 cannot grow to 2Gi: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize; nothing changed"
        );
        assert!(nothing_changed(&calls));
        assert_eq!(
            calls.last().unwrap().body,
            serde_json::json!({ "spec": { "resources": { "requests": { "storage": "2Gi" } } } })
        );
    }

    #[tokio::test]
    async fn set_storage_of_a_member_whose_claim_is_missing_changes_nothing() {
        let script = nothing_to_finish().cluster_loaded("shop", 2, "shop-0").get(
            core("persistentvolumeclaims", "data-shop-0"),
            not_found("persistentvolumeclaims", "data-shop-0"),
        );
        let (error, calls) = set_refused(script, &set_args(Some("2Gi"))).await;
        assert!(error.starts_with("cannot read PersistentVolumeClaim data-shop-0: "));
        assert!(nothing_changed(&calls));
    }
}
