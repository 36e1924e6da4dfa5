//! The leader's second task: archiving the cluster's binary logs while backups are enabled
//! (ConfigMap NAME-backup, readable by the agent once `backup enable` granted it). It follows
//! the member crate::ops::archive chooses, re-chooses every RECHECK_EVERY (a switchover, a
//! failover, a rebuilt member), and says in an Event when it starts following a member and when
//! archiving fails (once per distinct failure; the head in the store says it too).
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::ops::archive::{self, Start};
use anyhow::Result;
use std::time::Duration;

use super::leader::Leadership;

/// How long one follow lasts before the member is chosen again.
const RECHECK_EVERY: Duration = Duration::from_secs(10);
/// How often a cluster without backups is asked again.
const DISABLED_RECHECK: Duration = Duration::from_secs(10);
/// The pause after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Runs for the agent's life: archives while this pod leads and backups are enabled.
pub async fn keep_archiving(ctx: Context, cluster: String, leadership: Leadership) {
    let mut said_failure = String::new();
    let mut following = String::new();
    loop {
        if !leadership.leads() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            following.clear();
            continue;
        }
        match archive_a_while(&ctx, &cluster, &leadership, &mut following).await {
            Ok(Some(())) => said_failure.clear(),
            Ok(None) => tokio::time::sleep(DISABLED_RECHECK).await,
            Err(e) => {
                let text = crate::base::one_line(&e);
                eprintln!("{} archive: {text}", k8s_openapi::jiff::Timestamp::now());
                if text != said_failure {
                    ctx.event(Reason::ArchiveFailed, &text);
                    said_failure = text;
                }
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
    let config = match crate::k8s::apply::backup_config(&ctx.client, &ctx.namespace, name).await {
        Ok(Some(config)) => config,
        Ok(None) => return Ok(None),
        Err(e) if super::forbidden(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let store = crate::k8s::backup_store::open(&ctx.client, &ctx.namespace, &config).await?;
    let cluster = Cluster::load(ctx, name).await?;
    let mut head = archive::read_head(&store, name).await?.unwrap_or_default();
    let ready = archive::ready_members(&cluster);
    let Some(member) = archive::choose_member(&cluster.primary, &ready, &head.member) else {
        anyhow::bail!("no member of cluster {name} is ready to archive from");
    };
    let files = archive::files_of(&cluster, &member).await?;
    let archived = cluster.engine.parse_gtids(&head.archived)?;
    let Some(start) = archive::choose_start(&head, &member, &files, &archived) else {
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
