//! `kubectl mysqlha restore NEW --from NAME`: a new cluster from a base backup of another.
use crate::cli::RestoreArgs;
use crate::cmd::{backup, create};
use crate::db::engine::Engine;
use crate::k8s::context::Context;
use crate::store::archive::{Head, Target};
use crate::store::catalog::{self, Manifest};
use anyhow::{bail, Context as _, Result};

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
    backup::check_store_args(&args.store)?;
    Target::from_flags(args.to_time.as_deref(), args.to_gtid.as_deref())?;
    Ok(())
}

pub async fn run(ctx: &Context, args: &RestoreArgs) -> Result<()> {
    let store = backup::store_for(ctx, &args.from, &args.store).await?;
    let target = Target::from_flags(args.to_time.as_deref(), args.to_gtid.as_deref())?;
    let head = crate::ops::archive::read_head(&store, &args.from).await?;
    check_target(&args.from, &target, head.as_ref())?;
    let listed = crate::ops::backup::list(&store, &args.from).await?;
    let manifest = catalog::choose_for(
        &args.from,
        &listed,
        args.backup.as_deref(),
        &target,
        holds_at_most,
    )?
    .clone();
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
        replay: replays(head.is_some(), args.backup.is_some(), target),
    };
    create::run_from_backup(ctx, &args.create, engine, &seed).await
}

/// What is replayed after the base backup: nothing without an archive, or when a backup was
/// named without a target (that backup, exactly); else the archive up to the target.
fn replays(archive: bool, backup_named: bool, target: Target) -> Option<Target> {
    match (archive, backup_named, &target) {
        (false, _, _) | (true, true, Target::Latest) => None,
        _ => Some(target),
    }
}

/// The backup holds nothing beyond GTID target `gtid` (its end position, else its start).
fn holds_at_most(m: &Manifest, gtid: &str) -> bool {
    let Ok(engine) = Engine::from_record(Some(&m.engine)) else {
        return false;
    };
    let end = if m.gtid_end.is_empty() {
        &m.gtid
    } else {
        &m.gtid_end
    };
    match (engine.parse_gtids(gtid), engine.parse_gtids(end)) {
        (Ok(target), Ok(end)) => target.includes(&end),
        _ => false,
    }
}

/// A target the archive reaches: a time it was current at, a GTID it holds. Checked before
/// anything is made.
pub fn check_target(from: &str, target: &Target, head: Option<&Head>) -> Result<()> {
    let Some(head) = head else {
        return match target {
            Target::Latest => Ok(()),
            _ => bail!(
                "cluster {from} has no binary-log archive (backups enabled with an agent archive it): only its base backups can be restored, without --to-time or --to-gtid"
            ),
        };
    };
    match target {
        Target::Latest => Ok(()),
        Target::Time(t) => {
            let current: Option<k8s_openapi::jiff::Timestamp> = head.current_at.parse().ok();
            match current {
                Some(c) if c >= *t => Ok(()),
                _ => bail!(
                    "--to-time {t} is after the archive of {from}: it was last current at {} (see kubectl mysqlha backup list {from})",
                    if head.current_at.is_empty() { "no time yet" } else { &head.current_at }
                ),
            }
        }
        Target::Gtid(g) => {
            let engine = if g.contains(':') {
                Engine::Mysql
            } else {
                Engine::Mariadb
            };
            let wanted = engine
                .parse_gtids(g)
                .with_context(|| format!("--to-gtid {g}: not a {engine} GTID position"))?;
            let archived = engine.parse_gtids(&head.archived).unwrap_or_default();
            if !archived.includes(&wanted) {
                bail!(
                    "--to-gtid {g} is beyond the archive of {from}: it holds {}",
                    if head.archived.is_empty() {
                        "nothing yet"
                    } else {
                        &head.archived
                    }
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(current_at: &str, archived: &str) -> Head {
        Head {
            current_at: current_at.into(),
            archived: archived.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_named_backup_alone_is_restored_exactly() {
        let t = || Target::Gtid("0-1-5".into());
        assert_eq!(replays(false, false, Target::Latest), None);
        assert_eq!(replays(true, true, Target::Latest), None);
        assert_eq!(replays(true, false, Target::Latest), Some(Target::Latest));
        assert_eq!(replays(true, true, t()), Some(t()));
    }

    #[test]
    fn a_target_must_be_within_the_archive() {
        let h = head("2026-12-07T01:00:00Z", "0-1-50");
        let time = |t: &str| Target::Time(t.parse().unwrap());
        assert!(check_target("shop", &time("2026-12-07T00:59:59Z"), Some(&h)).is_ok());
        assert!(check_target("shop", &Target::Gtid("0-1-50".into()), Some(&h)).is_ok());
        assert!(check_target("shop", &Target::Latest, None).is_ok());
        for (target, h, says) in [
            (
                time("2026-12-07T01:00:01Z"),
                Some(&h),
                "is after the archive of shop",
            ),
            (
                Target::Gtid("0-1-51".into()),
                Some(&h),
                "beyond the archive of shop: it holds 0-1-50",
            ),
            (Target::Gtid("0-1".into()), Some(&h), "not a mariadb GTID"),
            (time("2026-12-07T00:00:00Z"), None, "no binary-log archive"),
        ] {
            let e = check_target("shop", &target, h).unwrap_err();
            let e = format!("{e:#}");
            assert!(e.contains(says), "{e}");
        }
    }
}
