//! The leader's second task: archiving the cluster's binary logs while backups are enabled
//! (ConfigMap NAME-backup, readable by the agent once `backup enable` granted it). It follows
//! the member crate::ops::archive chooses, re-chooses every RECHECK_EVERY (a switchover, a
//! failover, a rebuilt member), and says in an Event when it starts following a member and when
//! archiving fails (once per distinct failure; the head in the store says it too).
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::ops::archive::{self, Start};
use anyhow::{Context as _, Result};
use std::time::Duration;

use super::leader::Leadership;

/// A task's failures, each said once in an Event (and every time in the log): the same
/// failure again (its text but for numbers: timings, counts) is not said again.
#[derive(Default)]
struct Failures {
    said: String,
}

/// A failure's text without its numbers (`... in 582.6ms, after 3 retries`).
fn kind_of(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_digit()).collect()
}

impl Failures {
    fn ok(&mut self) {
        self.said.clear();
    }

    /// Whether failure `text` is to be said (a new kind since the last success).
    fn is_new(&mut self, text: &str) -> bool {
        let kind = kind_of(text);
        let new = kind != self.said;
        self.said = kind;
        new
    }

    fn failed(&mut self, ctx: &Context, reason: Reason, task: &str, e: &anyhow::Error) {
        let text = crate::base::one_line(e);
        eprintln!("{} {task}: {text}", k8s_openapi::jiff::Timestamp::now());
        if self.is_new(&text) {
            ctx.event(reason, &text);
        }
    }
}

/// How long one follow lasts before the member is chosen again.
const RECHECK_EVERY: Duration = Duration::from_secs(10);
/// How often a cluster without backups is asked again.
const DISABLED_RECHECK: Duration = Duration::from_secs(10);
/// The pause after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// How often the leader asks whether a scheduled base backup is due or backups expired.
const SCHEDULE_CHECK: Duration = Duration::from_secs(20);
/// The longest a scheduled base backup may take.
const SCHEDULED_BACKUP_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// Runs for the agent's life: while this pod leads, takes the base backups `backup enable
/// --every` asks for and deletes what `--keep` lets go (crate::store::retention).
pub async fn keep_schedule(ctx: Context, cluster: String, leadership: Leadership) {
    let mut failures = Failures::default();
    loop {
        tokio::time::sleep(SCHEDULE_CHECK).await;
        if !leadership.leads() {
            continue;
        }
        match scheduled_once(&ctx, &cluster).await {
            Ok(()) => failures.ok(),
            Err(e) => failures.failed(&ctx, Reason::ScheduledBackupFailed, "schedule", &e),
        }
    }
}

/// Where cluster `name`'s backups go, as the agent may read it: None when backups are not
/// enabled, or not granted to it (`backup enable` by a user who may not create Roles).
async fn backup_config(
    ctx: &Context,
    name: &str,
) -> Result<Option<crate::manifests::backup::BackupConfig>> {
    match crate::k8s::apply::backup_config(&ctx.client, &ctx.namespace, name).await {
        Err(e) if super::forbidden(&e) => Ok(None),
        other => other,
    }
}

async fn scheduled_once(ctx: &Context, name: &str) -> Result<()> {
    use crate::store::{archive as layout, catalog, retention};
    let Some(config) = backup_config(ctx, name).await? else {
        return Ok(());
    };
    if config.every_seconds.is_none() && config.keep_seconds.is_none() {
        return Ok(());
    }
    let store = crate::k8s::backup_store::open(&ctx.client, &ctx.namespace, &config).await?;
    let now = k8s_openapi::jiff::Timestamp::now();
    if let Some(every) = config.every_seconds {
        let listed = crate::ops::backup::list(&store, name).await?;
        let last = listed
            .iter()
            .filter_map(|b| match b {
                catalog::Listed::Complete(m) => Some(m.finished.clone()),
                catalog::Listed::Incomplete { .. } => None,
            })
            .max();
        if retention::backup_due(last.as_deref(), Duration::from_secs(every), now) {
            take_scheduled(ctx, name, &store).await?;
        }
    }
    if let Some(keep) = config.keep_seconds {
        let listed = crate::ops::backup::list(&store, name).await?;
        let keys = store.list(&layout::segments_dir(name)).await?;
        let runs = layout::runs(&layout::segments_in_listing(name, &keys))?;
        let prune = retention::plan(&listed, &runs, Duration::from_secs(keep), now);
        if prune != retention::Prune::default() {
            for id in &prune.backups {
                // The manifest first: a backup half deleted is incomplete, never restored.
                store.delete(&catalog::manifest_key(name, id)).await?;
                store.delete(&catalog::data_key(name, id)).await?;
            }
            for key in &prune.segments {
                store.delete(key).await?;
            }
            ctx.event(
                Reason::BackupPruned,
                format!(
                    "deleted {} base backup(s) older than {} ({}) and {} archive segment(s) no kept backup needs",
                    prune.backups.len(),
                    crate::manifests::backup::period_text(keep),
                    prune.backups.join(", "),
                    prune.segments.len()
                ),
            );
        }
    }
    Ok(())
}

/// A scheduled base backup, recorded as `backup NAME` records one.
async fn take_scheduled(ctx: &Context, name: &str, store: &crate::store::Store) -> Result<()> {
    use crate::manifests::backup as objects;
    let cluster = Cluster::load(ctx, name).await?;
    let task = crate::base::progress::Progress::new().task(name);
    let manifest = crate::k8s::wait::with_timeout(
        SCHEDULED_BACKUP_LIMIT,
        &format!("backing up cluster {name}"),
        crate::ops::backup::take(&cluster, store, &task),
    )
    .await?;
    ctx.member_event(
        &manifest.donor,
        Reason::BackupTaken,
        format!(
            "scheduled base backup {} of {name}: {} bytes from {}, GTID {}, in {}",
            manifest.id,
            manifest.bytes,
            manifest.donor,
            manifest.gtid,
            store.describe()
        ),
    );
    let last = objects::LastBackup {
        id: manifest.id.clone(),
        finished: manifest.finished.clone(),
        bytes: manifest.bytes,
        gtid: manifest.gtid.clone(),
    };
    let configs: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(ctx.client.clone(), &ctx.namespace);
    configs
        .patch(
            &objects::config_name(name),
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(objects::last_backup_patch(&last)),
        )
        .await
        .with_context(|| {
            format!(
                "recording backup {} in ConfigMap {}",
                manifest.id,
                objects::config_name(name)
            )
        })?;
    Ok(())
}

/// Runs for the agent's life: archives while this pod leads and backups are enabled.
pub async fn keep_archiving(ctx: Context, cluster: String, leadership: Leadership) {
    let mut failures = Failures::default();
    let mut following = String::new();
    loop {
        if !leadership.leads() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            following.clear();
            continue;
        }
        match archive_a_while(&ctx, &cluster, &leadership, &mut following).await {
            Ok(Some(())) => failures.ok(),
            Ok(None) => tokio::time::sleep(DISABLED_RECHECK).await,
            Err(e) => {
                failures.failed(&ctx, Reason::ArchiveFailed, "archive", &e);
                following.clear();
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// One follow of one member; None when backups are not enabled (or not readable by the agent).
async fn archive_a_while(
    ctx: &Context,
    name: &str,
    leadership: &Leadership,
    following: &mut String,
) -> Result<Option<()>> {
    let Some(config) = backup_config(ctx, name).await? else {
        return Ok(None);
    };
    let store = crate::k8s::backup_store::open(&ctx.client, &ctx.namespace, &config).await?;
    let cluster = Cluster::load(ctx, name).await?;
    let mut head = archive::read_head(&store, name).await?.unwrap_or_default();
    let ready = archive::ready_members(&cluster);
    let Some(member) = archive::choose_member(&cluster.primary, &ready, &head.member) else {
        anyhow::bail!("no member of cluster {name} is ready to archive from");
    };
    let archived = cluster.engine.parse_gtids(&head.archived)?;
    let Some(start) = archive::start_on(&cluster, &head, &member, &archived).await? else {
        anyhow::bail!("{member} has no binary log to archive");
    };
    if *following != member {
        let note = match &start {
            Start::Resume { file, offset } => {
                format!("archiving the binary log of {member} from {file} byte {offset} on")
            }
            Start::File(file) => format!("archiving the binary log of {member} from {file} on"),
            Start::AfterHole { file, archived } => format!(
                "archiving the binary log of {member} from {file} on, AFTER A HOLE: no file of {member} begins within what the archive holds ({archived}); a restore cannot cross it: take a base backup (kubectl mysqlha backup {name})"
            ),
        };
        let reason = match start {
            Start::AfterHole { .. } => Reason::ArchiveFailed,
            _ => Reason::ArchiveFollowing,
        };
        ctx.event(reason, &note);
        eprintln!("{} archive: {note}", k8s_openapi::jiff::Timestamp::now());
        *following = member.clone();
    }
    archive::follow(
        &cluster,
        &store,
        &mut head,
        &member,
        &start,
        RECHECK_EVERY,
        || leadership.leads(),
    )
    .await?;
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_said_once_until_it_changes_or_passes() {
        let mut f = Failures::default();
        let down = |ms: u32| {
            format!(
                "cannot list a/base: the object store does not answer (in {ms}ms, after 3 retries)"
            )
        };
        assert!(f.is_new(&down(582)));
        assert!(!f.is_new(&down(474)), "the same failure, other timings");
        assert!(f.is_new("a-1: following its binary log: the pod is gone"));
        f.ok();
        assert!(f.is_new(&down(500)), "again after a success");
    }
}
