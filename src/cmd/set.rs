//! `kubectl mysqlha set NAME [--memory X] [--cpu X] [--set key=value ...]`: rolling changes.
//! Server settings are checked on the primary first (a value the server rejects, or a setting
//! that cannot change at runtime, is refused with nothing changed), then applied with SET GLOBAL
//! on every member without a restart and recorded for later starts. Resources change the pod
//! template; only members whose pod differs restart, replicas first, the primary last by
//! switchover (src/rolling.rs).
use crate::cli::SetArgs;
use crate::cluster::{Cluster, Member};
use crate::context::Context;
use crate::manifests::{self, DATA_CONTAINER, SERVER_CONTAINER};
use crate::{apply, rolling, settings, wait};
use anyhow::{bail, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Api;
use std::collections::BTreeMap;

pub fn validate(args: &SetArgs) -> Result<()> {
    if args.memory.is_none() && args.cpu.is_none() && args.set.is_empty() {
        bail!("nothing to change: give --memory, --cpu or --set key=value");
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
    Ok(())
}

pub async fn run(ctx: &Context, args: &SetArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    let wanted: Vec<(String, String)> = args
        .set
        .iter()
        .map(|s| settings::parse(s))
        .collect::<Result<_>>()?;
    let mut done = Vec::new();
    if !wanted.is_empty() {
        settings::check(&cluster, &cluster.primary, &wanted).await?;
        ctx.ensure_lock_held()?;
        // The ConfigMap as this plugin renders it (its write-config.sh includes settings.cnf).
        let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let spec = cluster.config_spec(cluster.replicas(), &cluster.primary);
        apply::apply(&configs, &manifests::config_map(&spec)).await?;
        settings::record(&cluster, &wanted).await?;
        for m in &cluster.members {
            settings::apply_on(&cluster, &m.name, &wanted).await?;
        }
        let list: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        ctx.event(
            "SettingsApplied",
            format!(
                "{} applied on every member without a restart",
                list.join(", ")
            ),
        );
        done.push(format!(
            "{} applied on every member (no restart)",
            list.join(", ")
        ));
    }
    if args.memory.is_some() || args.cpu.is_some() {
        let mut requests = BTreeMap::new();
        if let Some(m) = &args.memory {
            requests.insert("memory".to_string(), m.clone());
        }
        if let Some(c) = &args.cpu {
            requests.insert("cpu".to_string(), c.clone());
        }
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
        let primary = cluster.primary.clone();
        cluster = Cluster::load(ctx, &args.name).await?;
        cluster.primary = primary;
        let passwords = cluster.passwords().await?;
        let what = format!("rolling the new resources through cluster {}", args.name);
        let rolled = wait::with_timeout(args.timeout, &what, async {
            rolling::roll(ctx, &mut cluster, &passwords, false, |m| {
                differs(m, &requests)
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
        done.push(format!(
            "resources {} ({} restarted{window})",
            requests
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            rolled.restarted.len()
        ));
    }
    println!("set {}: {}", args.name, done.join("; "));
    Ok(())
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
