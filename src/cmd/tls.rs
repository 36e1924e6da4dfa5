//! `kubectl mysqlha tls rotate NAME [--ca | --drop-old-ca]`: new member certificates (or a new
//! CA) loaded by the running servers without a restart (ops::certificates::rotate).
//! `kubectl mysqlha tls enable NAME [--require-tls]`: TLS for a cluster made without it, rolling.
use crate::base::progress::Progress;
use crate::cli::{TlsArgs, TlsCommand, TlsEnableArgs, TlsRotateArgs};
use crate::cluster::{sql, Cluster};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::manifests::tls::Tls;
use crate::manifests::{CONFIG_CONTAINER, SERVER_CONTAINER};
use crate::ops::certificates::{self, Rotation, TLS_ANNOTATION};
use crate::ops::{rolling, topology};
use anyhow::{Context as _, Result};

pub async fn run(ctx: &Context, args: &TlsArgs) -> Result<()> {
    match &args.command {
        TlsCommand::Rotate(args) => rotate(ctx, args).await,
        TlsCommand::Enable(args) => enable(ctx, args).await,
    }
}

/// The TLS mode `tls enable` leaves.
fn enabled_mode(args: &TlsEnableArgs) -> Tls {
    if args.require_tls {
        Tls::Required
    } else {
        Tls::Verified
    }
}

/// Certificates first (nothing running changes), the pod template mounting them, then every
/// member restarted as `set` does (replicas one at a time, the primary after a switchover),
/// then the record says TLS and each replica is pointed at the primary over TLS, verified; last
/// the replication account requires a certificate. Run again after an interruption, it goes on
/// where it stopped (the record changes last).
async fn enable(ctx: &Context, args: &TlsEnableArgs) -> Result<()> {
    let mut cluster = Cluster::load(ctx, &args.name).await?;
    let mode = enabled_mode(args);
    if cluster.tls.on() && (cluster.tls == mode || mode == Tls::Verified) {
        println!(
            "cluster {} already has TLS ({}); nothing changed",
            args.name,
            cluster.tls.record().unwrap_or_default()
        );
        return Ok(());
    }
    let passwords = cluster.passwords().await?;
    let what = format!("enabling TLS on cluster {}", args.name);
    let progress = Progress::new();
    let task = progress.task(&args.name);
    let (restarted, window, repointed) = wait::with_timeout(args.timeout, &what, async {
        let mut restarted = vec![];
        let mut window = String::new();
        if !cluster.tls.on() {
            task.set("issuing the CA and the members' certificates");
            certificates::issue_for_enable(&cluster).await?;
            ctx.ensure_lock_held()?;
            // The pods' scripts as this plugin ships them (write-config.sh's TLS part).
            topology::apply_config(&cluster, cluster.replicas()).await?;
            let mount = serde_json::json!([crate::manifests::credentials_mount()]);
            rolling::patch_template(
                &cluster,
                serde_json::json!({
                    "containers": [{ "name": SERVER_CONTAINER, "volumeMounts": mount }],
                    "initContainers": [{ "name": CONFIG_CONTAINER, "volumeMounts": mount }],
                }),
            )
            .await?;
            rolling::annotate_template(&cluster, TLS_ANNOTATION, "on").await?;
            let primary = cluster.primary.clone();
            cluster = Cluster::load(ctx, &args.name).await?;
            cluster.primary = primary;
            task.finish("certificates issued; restarting the members with them");
            let rolled = rolling::roll(ctx, &mut cluster, &passwords, false, |m| {
                rolling::pod_annotation(m, TLS_ANNOTATION).as_deref() != Some("on")
            })
            .await?;
            restarted = rolled.restarted;
            if let Some((old, new, w)) = rolled.switchover {
                window = format!(
                    "; primary {old} → {new}, writes were refused for {:.2}s",
                    w.as_secs_f64()
                );
            }
        }
        let task = progress.task(&args.name);
        cluster.tls = mode;
        ctx.ensure_lock_held()?;
        topology::apply_config(&cluster, cluster.replicas()).await?;
        let repointed = certificates::repoint_over_tls(&cluster, &passwords, &task).await?;
        sql::execute(
            cluster.server(&cluster.primary),
            cluster.engine.require_x509_statement(),
        )
        .await
        .context("cannot make the replication account require a certificate")?;
        if mode == Tls::Required {
            for m in &cluster.members {
                sql::execute(
                    cluster.server(&m.name),
                    "SET GLOBAL require_secure_transport = ON;",
                )
                .await
                .with_context(|| format!("{}: cannot refuse clients without TLS", m.name))?;
            }
        }
        task.finish("replicating over TLS");
        Ok::<_, anyhow::Error>((restarted, window, repointed))
    })
    .await?;
    let summary = format!(
        "cluster {}: TLS {} ({} restarted{window}); replicas replicating over TLS, verified: {}; CA in ConfigMap {}-ca",
        args.name,
        mode.record().unwrap_or_default(),
        restarted.len(),
        if repointed.is_empty() { "none".to_string() } else { repointed.join(", ") },
        args.name
    );
    ctx.event(Reason::TlsEnabled, &summary);
    println!("{summary}");
    Ok(())
}

/// What `tls rotate`'s flags ask for.
pub fn rotation(args: &TlsRotateArgs) -> Rotation {
    match (args.ca, args.drop_old_ca) {
        (true, _) => Rotation::NewCa,
        (false, true) => Rotation::DropOldCas,
        (false, false) => Rotation::Certificates,
    }
}

async fn rotate(ctx: &Context, args: &TlsRotateArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let rotation = rotation(args);
    let task = Progress::new().task(&args.name);
    let what = format!("rotating the TLS certificates of {}", args.name);
    let done = wait::with_timeout(
        args.timeout,
        &what,
        certificates::rotate(&cluster, rotation, &task),
    )
    .await?;
    task.finish("rotated");
    let what = match (rotation, done.not_after) {
        (Rotation::NewCa, _) => format!(
            "a new CA (Secret {0}-ca), trusted beside the old one (ConfigMap {0}-ca holds both)",
            args.name
        ),
        (Rotation::DropOldCas, Some(until)) => format!(
            "only the current CA trusted (ConfigMap {}-ca); new member certificates valid until {}",
            args.name,
            until.date()
        ),
        (_, until) => format!(
            "new member certificates valid until {}",
            until.map(|u| u.date().to_string()).unwrap_or_default()
        ),
    };
    let members = match done.reloaded.len() {
        1 => "1 member".to_string(),
        n => format!("{n} members"),
    };
    let mut summary = format!(
        "cluster {}: {what}, loaded by {members} without a restart ({}); replicas reconnected verifying their source: {}",
        args.name,
        done.reloaded.join(", "),
        if done.reconnected.is_empty() { "none".to_string() } else { done.reconnected.join(", ") },
    );
    if !done.not_running.is_empty() {
        summary += &format!(
            "; not running now, they take them when they start: {}",
            done.not_running.join(", ")
        );
    }
    ctx.event(Reason::CertificatesRotated, &summary);
    println!("{summary}");
    if rotation == Rotation::NewCa {
        println!(
            "next: once clients trust ConfigMap {0}-ca, kubectl mysqlha tls rotate {0} (certificates of the new CA), then kubectl mysqlha tls rotate {0} --drop-old-ca",
            args.name
        );
    }
    Ok(())
}
