//! `kubectl mysqlha tls rotate NAME [--ca | --drop-old-ca]`: new member certificates (and a new
//! CA) loaded by the running servers without a restart (ops::certificates::rotate).
use crate::base::progress::Progress;
use crate::cli::{TlsArgs, TlsCommand, TlsRotateArgs};
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::ops::certificates::{self, Rotation};
use anyhow::Result;

pub async fn run(ctx: &Context, args: &TlsArgs) -> Result<()> {
    match &args.command {
        TlsCommand::Rotate(args) => rotate(ctx, args).await,
    }
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
