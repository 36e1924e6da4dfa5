//! `kubectl mysqlha upgrade NAME --image IMAGE`: a rolling move of every member to a new server
//! image: replicas first, one at a time (restarted, the engine's upgrade step run, caught up),
//! then a switchover to an upgraded replica, then the old primary. A downgrade is refused with
//! nothing changed; an interrupted upgrade is finished by running the command again.
use crate::cli::UpgradeArgs;
use crate::cluster::{observe, Cluster};
use crate::db::server_version::{image_series, series};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::ops::rolling;
use anyhow::{bail, Context as _, Result};

pub fn validate(args: &UpgradeArgs) -> Result<()> {
    if image_series(&args.image).is_none() {
        bail!(
            "cannot tell the server version of image {} from its tag: name a tag that starts with it (e.g. mariadb:11.8)",
            args.image
        );
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: &UpgradeArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    let to = image_series(&args.image).context("image without a version tag")?;
    refuse_downgrade(&cluster, to).await?;
    let passwords = cluster.passwords().await?;
    if cluster.template_image().as_deref() != Some(args.image.as_str()) {
        let images = serde_json::json!({
            "containers": [{ "name": crate::manifests::SERVER_CONTAINER, "image": args.image }],
            "initContainers": [
                { "name": crate::manifests::CONFIG_CONTAINER, "image": args.image },
                { "name": crate::manifests::DATA_CONTAINER, "image": args.image },
            ],
        });
        ctx.ensure_lock_held()?;
        rolling::patch_template(&cluster, images).await?;
        ctx.event(
            Reason::UpgradeStarted,
            format!(
                "StatefulSet {} now names image {}; members follow one at a time",
                args.name, args.image
            ),
        );
    }
    let what = format!("upgrading cluster {} to {}", args.name, args.image);
    let image = args.image.clone();
    let rolled = wait::with_timeout(args.timeout, &what, async {
        rolling::roll(ctx, &mut cluster, &passwords, true, |m| {
            rolling::pod_image(m).as_deref() != Some(image.as_str())
        })
        .await
    })
    .await?;
    let mut versions = Vec::new();
    for m in &cluster.members {
        let state = observe(cluster.server(&m.name)).await?;
        versions.push(format!("{} {}", m.name, state.version));
    }
    ctx.event(
        Reason::Upgraded,
        format!("every member runs {}", args.image),
    );
    let window = match &rolled.switchover {
        Some((old, new, window)) => format!(
            "; primary {old} → {new}, writes were refused for {:.2}s",
            window.as_secs_f64()
        ),
        None => String::new(),
    };
    println!(
        "upgraded {} to {} ({} restarted{window}): {}",
        args.name,
        args.image,
        rolled.restarted.len(),
        versions.join(", ")
    );
    Ok(())
}

/// Every member's server series must be at or below the image's (and the engine must allow the
/// step); checked before anything changes.
async fn refuse_downgrade(cluster: &Cluster, to: (u32, u32)) -> Result<()> {
    for m in &cluster.members {
        let state = observe(cluster.server(&m.name))
            .await
            .with_context(|| format!("cannot read the version of {}", m.name))?;
        let Some(from) = series(&state.version) else {
            bail!(
                "{}: cannot read its server version from '{}'",
                m.name,
                state.version
            );
        };
        if let Some(refusal) = cluster.engine.upgrade_refusal(from, to) {
            bail!(
                "{refusal} ({} runs {}); nothing changed",
                m.name,
                state.version
            );
        }
    }
    Ok(())
}
