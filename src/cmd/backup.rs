//! `kubectl mysqlha backup`: where a cluster's backups go (enable, disable), a base backup now,
//! the list of backups, and a backup's verification against its manifest.
use crate::base::progress::Progress;
use crate::base::style::OutputFormat;
use crate::cli::{BackupArgs, BackupCommand, StoreArgs};
use crate::cluster::Cluster;
use crate::k8s::apply::apply;
use crate::k8s::context::Context;
use crate::k8s::events::{Reason, Recorder};
use crate::k8s::wait;
use crate::manifests::backup::{self as objects, BackupConfig};
use crate::ops::backup;
use crate::store::catalog::{self, Listed};
use crate::store::{Store, StoreUrl};
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::DeleteParams;
use kube::Api;

/// A schedule the agent can keep: backups at most every minute, kept at least one period.
fn check_schedule(
    every: Option<std::time::Duration>,
    keep: Option<std::time::Duration>,
) -> Result<()> {
    if let Some(every) = every {
        if every.as_secs() < 60 {
            bail!("--every {}s: at least 1m", every.as_secs());
        }
    }
    if let (Some(every), Some(keep)) = (every, keep) {
        if keep < every {
            bail!(
                "--keep {} is shorter than --every {}: each backup would be deleted before the next is taken",
                objects::period_text(keep.as_secs()),
                objects::period_text(every.as_secs())
            );
        }
    }
    Ok(())
}

/// Checks the arguments before anything is contacted.
pub fn validate(args: &BackupArgs) -> Result<()> {
    let name = match &args.command {
        None => args.name.as_deref().unwrap_or_default(),
        Some(BackupCommand::Enable(a)) => {
            let store = a
                .store
                .to
                .as_deref()
                .context("--to s3://BUCKET/PREFIX is required")?;
            StoreUrl::parse(store)?;
            a.store
                .credentials
                .as_deref()
                .context("--credentials SECRET is required (a Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")?;
            check_endpoint(a.store.endpoint.as_deref())?;
            check_schedule(a.every, a.keep)?;
            &a.name
        }
        Some(BackupCommand::Disable(a)) => &a.name,
        Some(BackupCommand::List(a)) => {
            check_store_args(&a.store)?;
            &a.name
        }
        Some(BackupCommand::Verify(a)) => {
            check_store_args(&a.store)?;
            &a.name
        }
    };
    crate::manifests::validate_name(name).map_err(anyhow::Error::msg)
}

/// --to, --endpoint and --credentials: all or none (none: the cluster's own, from enable).
pub fn check_store_args(store: &StoreArgs) -> Result<()> {
    match (&store.to, &store.credentials) {
        (None, None) if store.endpoint.is_none() => Ok(()),
        (Some(to), Some(_)) => {
            StoreUrl::parse(to)?;
            check_endpoint(store.endpoint.as_deref())
        }
        _ => bail!("--to and --credentials go together (--endpoint with them): they name another store than the cluster's"),
    }
}

fn check_endpoint(endpoint: Option<&str>) -> Result<()> {
    match endpoint {
        Some(e) if !(e.starts_with("http://") || e.starts_with("https://")) => {
            bail!("--endpoint {e}: not an http:// or https:// URL")
        }
        _ => Ok(()),
    }
}

pub async fn run(ctx: &Context, args: &BackupArgs) -> Result<()> {
    match &args.command {
        None => {
            let name = args.name.as_deref().unwrap_or_default();
            take(ctx, name, args.timeout).await
        }
        Some(BackupCommand::Enable(a)) => enable(ctx, a).await,
        Some(BackupCommand::Disable(a)) => disable(ctx, &a.name).await,
        Some(BackupCommand::List(a)) => list(ctx, &a.name, &a.store, a.output).await,
        Some(BackupCommand::Verify(a)) => verify(ctx, &a.name, a.backup.as_deref(), &a.store).await,
    }
}

/// Opens the store `config` names.
pub async fn open(ctx: &Context, config: &BackupConfig) -> Result<Store> {
    crate::k8s::backup_store::open(&ctx.client, &ctx.namespace, config).await
}

/// Where cluster `name`'s backups go, as `backup enable` recorded it.
pub async fn recorded_config(ctx: &Context, name: &str) -> Result<Option<BackupConfig>> {
    crate::k8s::apply::backup_config(&ctx.client, &ctx.namespace, name).await
}

/// The store the flags name, else the one recorded for cluster `name`.
pub async fn store_for(ctx: &Context, name: &str, flags: &StoreArgs) -> Result<Store> {
    let config = match (&flags.to, &flags.credentials) {
        (Some(to), Some(credentials)) => BackupConfig {
            store: to.clone(),
            endpoint: flags.endpoint.clone(),
            credentials: credentials.clone(),
            ..Default::default()
        },
        _ => recorded_config(ctx, name).await?.with_context(|| {
            format!("cluster {name} has no backups enabled here (kubectl mysqlha backup enable {name} --to s3://BUCKET/PREFIX --credentials SECRET), and no --to/--credentials were given")
        })?,
    };
    open(ctx, &config).await
}

async fn enable(ctx: &Context, args: &crate::cli::BackupEnableArgs) -> Result<()> {
    let (name, flags) = (args.name.as_str(), &args.store);
    Cluster::load(ctx, name).await?;
    let config = BackupConfig {
        store: flags.to.clone().unwrap_or_default(),
        endpoint: flags.endpoint.clone(),
        credentials: flags.credentials.clone().unwrap_or_default(),
        last: None,
        every_seconds: args.every.map(|d| d.as_secs()),
        keep_seconds: args.keep.map(|d| d.as_secs()),
    };
    let store = open(ctx, &config).await?;
    store.check_access().await?;
    let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    apply(
        &configs,
        &objects::config_map(name, &ctx.namespace, &config),
    )
    .await
    .with_context(|| format!("cannot write ConfigMap {}", objects::config_name(name)))?;
    // A user who may not create Roles (the built-in edit role) still gets base backups; the
    // archive and the schedule wait for someone who may (agent enable grants them then).
    let granted = match crate::agent::grant_archiving(ctx, name, &config.credentials).await {
        Ok(()) => true,
        Err(e) if crate::agent::forbidden(&e) => false,
        Err(e) => return Err(e),
    };
    let mut said = format!(
        "backups of cluster {name} go to {} (key from Secret {})",
        store.describe(),
        config.credentials
    );
    if let Some(every) = config.every_seconds {
        said += &format!(
            "; the agent takes a base backup every {}",
            objects::period_text(every)
        );
    }
    if let Some(keep) = config.keep_seconds {
        said += &format!(
            "; backups older than {} are deleted (never the newest)",
            objects::period_text(keep)
        );
    }
    println!("{said}");
    if !granted {
        eprintln!(
            "warning: you may not create Roles here, so the agent of {name} cannot read the store's key: no binary-log archive and no schedule until someone who may runs: kubectl mysqlha agent enable {name}"
        );
    }
    Ok(())
}

async fn disable(ctx: &Context, name: &str) -> Result<()> {
    let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let config_name = objects::config_name(name);
    match configs.get_opt(&config_name).await {
        Ok(Some(cm)) if crate::manifests::is_managed(&cm.metadata) => {
            configs
                .delete(&config_name, &DeleteParams::default())
                .await
                .with_context(|| format!("cannot delete ConfigMap {config_name}"))?;
            crate::agent::revoke_archiving(ctx, name).await?;
            println!("backups of cluster {name} disabled (the backups made stay in the store)");
        }
        Ok(_) => println!("cluster {name} has no backups enabled; nothing changed"),
        Err(e) => return Err(e).with_context(|| format!("cannot read ConfigMap {config_name}")),
    }
    Ok(())
}

/// A base backup now. It takes no operation lock (a failover may run meanwhile) but records
/// its history: BackupStarted, BackupTaken (what was taken), BackupDone or BackupFailed.
async fn take(ctx: &Context, name: &str, timeout: std::time::Duration) -> Result<()> {
    let cluster = Cluster::load(ctx, name).await?;
    let store = store_for(ctx, name, &StoreArgs::default()).await?;
    store.check_access().await?;
    let progress = Progress::new();
    let task = progress.task(name);
    let events = Recorder::new(&ctx.client, &ctx.namespace, name, "backup");
    events.started();
    let taken = wait::with_timeout(
        timeout,
        &format!("backing up cluster {name}"),
        backup::take(&cluster, &store, &task),
    )
    .await;
    let manifest = match taken {
        Ok(m) => m,
        Err(e) => {
            events.failed(&crate::base::one_line(&e)).await;
            return Err(e);
        }
    };
    task.finish("backed up");
    let what = format!(
        "base backup {} of {name}: {} bytes from {}, GTID {}, in {}",
        manifest.id,
        manifest.bytes,
        manifest.donor,
        manifest.gtid,
        store.describe()
    );
    events.step(Reason::BackupTaken, &what, Some(&manifest.donor));
    let last = objects::LastBackup {
        id: manifest.id.clone(),
        finished: manifest.finished.clone(),
        bytes: manifest.bytes,
        gtid: manifest.gtid.clone(),
    };
    let configs: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    if let Err(e) = configs
        .patch(
            &objects::config_name(name),
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(objects::last_backup_patch(&last)),
        )
        .await
    {
        // The backup is in the store all the same; only status does not show it.
        eprintln!(
            "warning: the backup is taken, but ConfigMap {} could not record it: {e}",
            objects::config_name(name)
        );
    }
    events.done().await;
    println!("{what}");
    Ok(())
}

async fn list(ctx: &Context, name: &str, flags: &StoreArgs, output: OutputFormat) -> Result<()> {
    let store = store_for(ctx, name, flags).await?;
    let listed = backup::list(&store, name).await?;
    let head = crate::store::archive::read_head(&store, name).await?;
    let current = head.as_ref().map(|h| h.current_at.as_str());
    let window = catalog::window(&listed, current);
    match output {
        OutputFormat::Table => {
            print!("{}", table(&listed));
            match (&window, &head) {
                (Some((from, to)), Some(h)) => println!(
                    "recoverable: any time from {from} to {to} (binary-log archive following {}, holding {})",
                    h.member, h.archived
                ),
                _ => println!(
                    "recoverable: each complete base backup as it is (no binary-log archive{})",
                    if head.is_some() { " with a complete base backup before it" } else { "" }
                ),
            }
        }
        OutputFormat::Json | OutputFormat::Yaml => {
            let items = listed_json(&listed);
            let doc = serde_json::json!({
                "cluster": name,
                "store": store.describe(),
                "backups": items,
                "archive": head,
                "window": window.map(|(from, to)| serde_json::json!({"from": from, "to": to})),
            });
            if output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print!("{}", serde_yaml::to_string(&doc)?);
            }
        }
    }
    Ok(())
}

/// The backups as JSON values: a complete one with its manifest, an incomplete one by ID.
pub fn listed_json(listed: &[Listed]) -> Vec<serde_json::Value> {
    listed
        .iter()
        .map(|b| match b {
            Listed::Complete(m) => serde_json::json!({"complete": true, "manifest": m}),
            Listed::Incomplete { id, bytes } => {
                serde_json::json!({"complete": false, "id": id, "bytes": bytes})
            }
        })
        .collect()
}

/// The backups as a table, oldest first.
fn table(listed: &[Listed]) -> String {
    let header = [
        "ID", "STARTED", "GTID", "BYTES", "ENGINE", "VERSION", "DONOR",
    ];
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|b| match b {
            Listed::Complete(m) => vec![
                m.id.clone(),
                m.started.clone(),
                m.gtid.clone(),
                m.bytes.to_string(),
                m.engine.clone(),
                m.server_version.clone(),
                m.donor.clone(),
            ],
            Listed::Incomplete { id, bytes } => vec![
                id.clone(),
                "-".into(),
                "(incomplete)".into(),
                bytes.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        })
        .collect();
    if rows.is_empty() {
        return "no base backups\n".into();
    }
    crate::base::style::columns(&header, &rows)
}

async fn verify(ctx: &Context, name: &str, id: Option<&str>, flags: &StoreArgs) -> Result<()> {
    let store = store_for(ctx, name, flags).await?;
    let listed = backup::list(&store, name).await?;
    let manifest = catalog::choose(name, &listed, id)?;
    let progress = Progress::new();
    let task = progress.task(name);
    backup::verify(&store, manifest, &task).await?;
    task.finish("verified");
    println!(
        "backup {} of cluster {name}: {} bytes, SHA-256 {} as its manifest says",
        manifest.id, manifest.bytes, manifest.sha256
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_flags_go_together_or_not_at_all() {
        let flags =
            |to: Option<&str>, endpoint: Option<&str>, credentials: Option<&str>| StoreArgs {
                to: to.map(String::from),
                endpoint: endpoint.map(String::from),
                credentials: credentials.map(String::from),
            };
        assert!(check_store_args(&flags(None, None, None)).is_ok());
        assert!(check_store_args(&flags(Some("s3://bucket/p"), None, Some("s"))).is_ok());
        assert!(
            check_store_args(&flags(Some("s3://bucket/p"), Some("https://s3"), Some("s"))).is_ok()
        );
        assert!(check_store_args(&flags(Some("s3://bucket/p"), None, None)).is_err());
        assert!(check_store_args(&flags(None, Some("https://s3"), None)).is_err());
        assert!(
            check_store_args(&flags(Some("s3://bucket/p"), Some("s3.example"), Some("s"))).is_err()
        );
    }

    #[test]
    fn the_backup_table_shows_incomplete_backups_as_such() {
        let table = table(&[Listed::Incomplete {
            id: "20261206T100000Z".into(),
            bytes: 7,
        }]);
        assert!(table.contains("(incomplete)"), "{table}");
        assert_eq!(super::table(&[]), "no base backups\n");
    }
}
