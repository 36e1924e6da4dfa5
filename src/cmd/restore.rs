//! `kubectl mysqlha restore NEW --from NAME`: a new cluster from a base backup of another.
use crate::cli::RestoreArgs;
use crate::cmd::{backup, create};
use crate::db::engine::Engine;
use crate::k8s::context::Context;
use crate::store::catalog;
use anyhow::{bail, Result};

/// Checks the arguments before anything is contacted.
pub fn validate(args: &RestoreArgs) -> Result<()> {
    create::validate(&args.create)?;
    crate::manifests::validate_name(&args.from).map_err(anyhow::Error::msg)?;
    if args.create.primary.is_some() {
        bail!(
            "--primary does not apply to restore: {}-0 is restored and is the primary",
            args.create.name
        );
    }
    if args.create.dry_run {
        bail!("restore has no --dry-run: it reads the backup's manifest from the store");
    }
    backup::check_store_args(&args.store)
}

pub async fn run(ctx: &Context, args: &RestoreArgs) -> Result<()> {
    let store = backup::store_for(ctx, &args.from, &args.store).await?;
    let listed = crate::ops::backup::list(&store, &args.from).await?;
    let manifest = catalog::choose(&args.from, &listed, args.backup.as_deref())?.clone();
    let engine = Engine::from_record(Some(&manifest.engine))?;
    if let Some(asked) = args.create.engine.filter(|e| *e != engine) {
        bail!(
            "backup {} of {} is a {engine} backup; --engine {asked} cannot restore it",
            manifest.id,
            args.from
        );
    }
    let seed = create::Seed {
        store: &store,
        manifest: &manifest,
    };
    create::run_from_backup(ctx, &args.create, engine, &seed).await
}
