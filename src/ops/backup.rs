//! Base backups to object storage and their restore into a new cluster's first member.
//!
//! A backup streams from a member (a replica when one is healthy) straight into a multipart
//! upload: MariaDB `mariadb-backup --stream=xbstream`; MySQL a clone (CLONE LOCAL DATA
//! DIRECTORY, staged in the member's container, then sent as a tar). Its manifest is written
//! last, with the data's size and SHA-256, the GTID position it surely holds and the tables
//! its donor held. A restore streams the data into the waiting member, checks size and SHA-256
//! before the data counts as complete, and then checks that the server holds the position and
//! the tables the manifest recorded.
use crate::base::progress::Task;
use crate::cluster::{observe, sql, Cluster};
use crate::k8s::exec;
use crate::manifests::Passwords;
use crate::ops::clone::{self, Operation};
use crate::store::archive::{self as layout, Target};
use crate::store::catalog::{self, Manifest};
use crate::store::Store;
use anyhow::{bail, Context as _, Result};

/// The operation's target name in a donor's container: an interrupted earlier backup of the
/// same member is ended by the next one (stop-stale.sh).
const BACKUP_TARGET: &str = "base-backup";

/// The user tables of a server, `schema.table`, sorted.
const TABLES_STATEMENT: &str = "SELECT CONCAT(table_schema, '.', table_name) AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY 1;";

async fn tables(cluster: &Cluster, pod: &str) -> Result<Vec<String>> {
    let rows = sql::query(cluster.server(pod), TABLES_STATEMENT)
        .await
        .with_context(|| format!("{pod}: listing its tables"))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.get("t").cloned())
        .collect())
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Takes a base backup of `cluster` into `store` now; returns its manifest.
pub async fn take(cluster: &Cluster, store: &Store, task: &Task) -> Result<Manifest> {
    let donor = clone::choose_donor(cluster, "").await?;
    let state = observe(cluster.server(&donor))
        .await
        .with_context(|| format!("{donor}: reading its position"))?;
    let tables = tables(cluster, &donor).await?;
    let archive_seq = layout::read_head(store, &cluster.name)
        .await
        .ok()
        .flatten()
        .map_or(0, |h| h.seq);
    let started = now();
    let id = catalog::id_at(&started)?;
    let op = Operation::new(BACKUP_TARGET)?;
    clone::install_scripts(cluster.server(&donor), &op).await?;
    let command = cluster
        .engine
        .base_backup_command(&op.dir, donor != cluster.primary);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    task.bytes(
        &format!("backing up {donor} into {}", store.describe()),
        None,
    );
    let key = catalog::data_key(&cluster.name, &id);
    let mut upload = store.upload(&key);
    let streamed = exec::stdout_into(cluster.server(&donor), &command, &mut upload, |n| {
        task.position(n)
    })
    .await;
    let _ = exec::run(cluster.server(&donor), &["rm", "-rf", &op.dir], None).await;
    if let Err(e) = streamed {
        upload.abort().await;
        return Err(e.context(format!("backing up {donor}")));
    }
    let (bytes, sha256) = upload
        .finish()
        .await
        .with_context(|| format!("uploading {key} to {}", store.describe()))?;
    let ended = observe(cluster.server(&donor))
        .await
        .with_context(|| format!("{donor}: reading its position after the backup"))?;
    let manifest = Manifest {
        id: id.clone(),
        cluster: cluster.name.clone(),
        engine: cluster.engine.to_string(),
        server_version: state.version.clone(),
        format: cluster.engine.backup_format(),
        donor: donor.clone(),
        gtid: state.applied.to_string(),
        gtid_end: ended.applied.to_string(),
        archive_seq,
        started,
        finished: now(),
        bytes,
        sha256,
        tables,
    };
    let text = serde_json::to_vec_pretty(&manifest).context("writing the manifest")?;
    store
        .put(&catalog::manifest_key(&cluster.name, &id), text)
        .await?;
    Ok(manifest)
}

/// Every base backup of cluster `name` in `store`, oldest first.
pub async fn list(store: &Store, name: &str) -> Result<Vec<catalog::Listed>> {
    let keys = store.list(&catalog::base_dir(name)).await?;
    let mut listed = Vec::new();
    for (id, complete, bytes) in catalog::ids_in_listing(name, &keys) {
        if !complete {
            listed.push(catalog::Listed::Incomplete { id, bytes });
            continue;
        }
        let key = catalog::manifest_key(name, &id);
        let text = store
            .get(&key)
            .await?
            .with_context(|| format!("{key} vanished while listed"))?;
        let manifest: Manifest =
            serde_json::from_slice(&text).with_context(|| format!("{key} is not a manifest"))?;
        listed.push(catalog::Listed::Complete(Box::new(manifest)));
    }
    Ok(listed)
}

/// Reads the whole data object of `manifest` and compares its size and SHA-256 with the
/// manifest's: an error says what differs.
pub async fn verify(store: &Store, manifest: &Manifest, task: &Task) -> Result<()> {
    task.bytes(
        &format!("reading backup {}", manifest.id),
        Some(manifest.bytes),
    );
    let mut sink = tokio::io::sink();
    let (bytes, sha256) = store
        .download_into(
            &catalog::data_key(&manifest.cluster, &manifest.id),
            &mut sink,
            |n| task.position(n),
        )
        .await?;
    check_data(manifest, bytes, &sha256)
}

/// The data read matches the manifest.
pub fn check_data(manifest: &Manifest, bytes: u64, sha256: &str) -> Result<()> {
    if bytes != manifest.bytes || sha256 != manifest.sha256 {
        bail!(
            "backup {} of cluster {} is damaged: its data has {bytes} bytes with SHA-256 {sha256}, its manifest says {} bytes with SHA-256 {}",
            manifest.id,
            manifest.cluster,
            manifest.bytes,
            manifest.sha256
        );
    }
    Ok(())
}

/// Fills waiting member `pod` with backup `manifest`: streams the data in, checks it against
/// the manifest (a damaged backup leaves the member waiting, its data marked incomplete), then
/// completes it (MariaDB: prepares it).
pub async fn restore_into(
    cluster: &Cluster,
    pod: &str,
    store: &Store,
    manifest: &Manifest,
    task: &Task,
) -> Result<()> {
    if manifest.format != cluster.engine.backup_format() {
        bail!(
            "backup {} is a {} backup ({:?}); cluster {} runs {}",
            manifest.id,
            manifest.engine,
            manifest.format,
            cluster.name,
            cluster.engine
        );
    }
    task.bytes(
        &format!("restoring backup {} of {}", manifest.id, manifest.cluster),
        Some(manifest.bytes),
    );
    let op = Operation::new(pod)?;
    clone::install_scripts(cluster.data_init(pod), &op).await?;
    let command = cluster.engine.restore_command(&op.dir);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let key = catalog::data_key(&manifest.cluster, &manifest.id);
    let mut feeding = exec::feeding(cluster.data_init(pod), &command).await?;
    let streamed = store
        .download_into(&key, &mut feeding.stdin, |n| task.position(n))
        .await;
    let extracted = feeding.finish().await;
    match (streamed, extracted) {
        (Ok((bytes, sha256)), Ok(())) => check_data(manifest, bytes, &sha256)?,
        (streamed, extracted) => {
            // A damaged backup fails its extraction too, or ends it early: the damage is the
            // cause to tell, so the data is read again, whole, to tell it.
            task.set("the restore failed: reading the backup again to check it");
            verify(store, manifest, task).await?;
            streamed?;
            extracted.with_context(|| format!("{pod}: extracting backup {}", manifest.id))?;
        }
    }
    task.set("completing the restored data");
    let finish = cluster.engine.finish_restore_command(&op.dir);
    let finish: Vec<&str> = finish.iter().map(String::as_str).collect();
    clone::fill(cluster, pod, &finish, None)
        .await
        .with_context(|| format!("{pod}: completing backup {}", manifest.id))
}

/// Makes restored member `pod` this cluster's primary (no replication of the old cluster, this
/// cluster's passwords, MariaDB's binary log continuing the backup's position), then checks it
/// holds what the manifest recorded: the GTID position and every table.
pub async fn adopt_restored(
    cluster: &Cluster,
    pod: &str,
    manifest: &Manifest,
    passwords: &Passwords,
) -> Result<()> {
    let position = match cluster.engine {
        crate::db::engine::Engine::Mariadb => {
            clone::cloned_position(cluster, pod).await?.to_string()
        }
        crate::db::engine::Engine::Mysql => String::new(),
    };
    let statements = cluster.engine.adopt_restored_statements(
        &position,
        &passwords.root,
        &passwords.replication,
    );
    sql::execute(cluster.server(pod), &statements)
        .await
        .with_context(|| format!("{pod}: taking over the restored data"))?;
    let state = observe(cluster.server(pod)).await?;
    let recorded = cluster.engine.parse_gtids(&manifest.gtid)?;
    if !state.applied.includes(&recorded) {
        let (_, missing) = recorded.beyond(&state.applied);
        bail!(
            "{pod} holds less than backup {} recorded: {missing} transaction(s) of {} are missing (it holds {})",
            manifest.id,
            manifest.gtid,
            state.applied
        );
    }
    let missing = catalog::missing_tables(&manifest.tables, &tables(cluster, pod).await?);
    if !missing.is_empty() {
        bail!(
            "{pod} holds less than backup {} recorded: table(s) {} are missing",
            manifest.id,
            missing.join(", ")
        );
    }
    Ok(())
}

/// What a server logged (MariaDB gtid_binlog_pos, MySQL gtid_executed).
async fn logged(cluster: &Cluster, pod: &str) -> Result<crate::db::engine::Gtids> {
    let rows = sql::query(cluster.server(pod), cluster.engine.logged_statement())
        .await
        .with_context(|| format!("{pod}: reading its position"))?;
    let text = rows
        .first()
        .and_then(|r| r.get("gtids"))
        .cloned()
        .unwrap_or_default();
    cluster.engine.parse_gtids(&text)
}

/// Replays the binary-log archive of cluster `source` in `store` into restored primary `pod`
/// up to `target`, run by run (crate::store::archive): each run's first state must be held
/// already (else the archive has a hole, and the restore says so rather than skip it); what
/// the server holds is skipped. A GTID target must be reached. Returns what the server holds.
pub async fn replay(
    cluster: &Cluster,
    pod: &str,
    store: &crate::store::Store,
    source: &str,
    target: &Target,
    task: &Task,
) -> Result<crate::db::engine::Gtids> {
    let engine = cluster.engine;
    let keys = store.list(&layout::segments_dir(source)).await?;
    let runs = layout::runs(&layout::segments_in_listing(source, &keys))?;
    let client = format!(
        "{} --defaults-file={} -umysql",
        engine.client(),
        crate::manifests::RUN_CNF
    );
    let stop = match target {
        Target::Time(t) => Some(layout::stop_datetime(t)),
        _ => None,
    };
    let to_gtid = match target {
        Target::Gtid(g) => Some(g.as_str()),
        _ => None,
    };
    let goal = to_gtid.map(|g| engine.parse_gtids(g)).transpose()?;
    let total: u64 = runs.iter().map(|r| r.bytes).sum();
    task.bytes(
        &format!(
            "replaying the binary logs of {source} to {}",
            target.describe()
        ),
        Some(total),
    );
    let mut done = 0u64;
    for run in &runs {
        let held = logged(cluster, pod).await?;
        if goal.as_ref().is_some_and(|g| held.includes(g)) {
            break;
        }
        let first_key = &run.pieces[0].key;
        let first = store
            .get(first_key)
            .await?
            .with_context(|| format!("{first_key} vanished while listed"))?;
        let start = crate::ops::archive::start_state(engine, &first)
            .with_context(|| format!("{first_key} does not begin as a binary-log file"))?;
        let start = engine.parse_gtids(&start)?;
        if !held.includes(&start) {
            bail!(
                "the archive of {source} has a hole: {} of {} begins after transactions {pod} does not hold (it begins at {start}; {pod} holds {held}); restore to an earlier point, or from a later base backup",
                run.file,
                run.member
            );
        }
        let command = engine.replay_command(&client, &held.to_string(), stop.as_deref(), to_gtid);
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut feeding = exec::feeding(cluster.server(pod), &command).await?;
        let mut fed = async {
            use tokio::io::AsyncWriteExt as _;
            feeding.stdin.write_all(&first).await?;
            for piece in &run.pieces[1..] {
                let bytes = store
                    .get(&piece.key)
                    .await?
                    .with_context(|| format!("{} vanished while listed", piece.key))?;
                feeding
                    .stdin
                    .write_all(&bytes[(piece.skip as usize).min(bytes.len())..])
                    .await?;
            }
            Ok::<(), anyhow::Error>(())
        }
        .await;
        let ended = feeding.finish().await;
        if fed.is_ok() {
            fed = ended;
        }
        fed.with_context(|| format!("{pod}: replaying {} of {} ({source})", run.file, run.member))?;
        done += run.bytes;
        task.position(done);
    }
    let after = engine.after_replay_statements();
    if !after.is_empty() {
        sql::execute(cluster.server(pod), after).await?;
    }
    let reached = logged(cluster, pod).await?;
    if let Some(goal) = goal {
        if !reached.includes(&goal) {
            bail!(
                "the archive of {source} ends before GTID {}: {pod} holds {reached} after replaying all of it",
                to_gtid.unwrap_or_default()
            );
        }
    }
    Ok(reached)
}
