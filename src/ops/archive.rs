//! Continuous binary-log archiving (run by the agent's leader): a member's binary log, read as
//! the server writes it (follow-binlog.pl in the member's server container, one long exec),
//! goes to the object store in segments of complete events, one about every FLUSH_EVERY
//! while transactions come; the head (`store::archive::Head`) is rewritten after each. The
//! member followed is a ready replica when there is one (load off the primary; a replica
//! holds only transactions its primary sent), else the primary. When the archive follows
//! another member it starts from the start of the newest file of that member whose first
//! state it already holds: no hole, and what repeats is skipped by a replay.
use crate::base::one_line;
use crate::cluster::Cluster;
use crate::db::binlog::{self, Fact};
use crate::db::engine::{Engine, Gtids};
use crate::k8s::exec;
use crate::k8s::pods::{pod_phase, PodPhase};
use crate::store::archive::{self as layout, Head};
use crate::store::Store;
use anyhow::{bail, Context as _, Result};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

const FOLLOW_SCRIPT: &str = include_str!("../manifests/scripts/follow-binlog.pl");
/// The data directory, where the binary logs and their index are (both engines' config).
const DATA_DIR: &str = "/var/lib/mysql";
const INDEX: &str = "mysql-bin.index";
/// How often received bytes become a segment while transactions come.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// A segment is written at once when this many bytes wait.
const MAX_SEGMENT: usize = 8 << 20;
/// How often the head says the archive is current while nothing new comes.
const HEAD_WHEN_IDLE: Duration = Duration::from_secs(5);
/// How many bytes of a file's start are read for its first state.
const START_BYTES: &str = "65536";

pub use crate::store::archive::read_head;

async fn write_head(store: &Store, cluster: &str, head: &Head) -> Result<()> {
    let text = serde_json::to_vec_pretty(head).context("writing the archive head")?;
    store.put(&layout::head_key(cluster), text).await
}

/// The member to follow: `current` while it is a ready replica, else a ready replica, else the
/// primary when ready; None when no member is ready.
pub fn choose_member(primary: &str, ready: &[String], current: &str) -> Option<String> {
    let replica = |m: &&String| m.as_str() != primary;
    if ready.iter().any(|m| m == current && current != primary) {
        return Some(current.to_string());
    }
    ready
        .iter()
        .find(replica)
        .or_else(|| ready.iter().find(|m| m.as_str() == primary))
        .cloned()
}

/// Where archiving starts on a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The head's member, file and offset: go on.
    Resume { file: String, offset: u64 },
    /// A whole file from its first byte.
    File(String),
    /// No file of the member begins within what the archive holds: the oldest, after a hole.
    AfterHole { file: String, archived: String },
}

/// Where to start on `member`, whose binary-log files (oldest first) began with the states
/// given. `archived` is what the archive holds whole.
pub fn choose_start(
    head: &Head,
    member: &str,
    files: &[(String, Gtids)],
    archived: &Gtids,
) -> Option<Start> {
    let (oldest, _) = files.first()?;
    if head.member == member {
        let same = files
            .iter()
            .find(|(f, start)| *f == head.file && start.to_string() == head.file_start);
        if same.is_some() && !head.file.is_empty() {
            return Some(Start::Resume {
                file: head.file.clone(),
                offset: head.offset,
            });
        }
    }
    if head.seq == 0 {
        return Some(Start::File(oldest.clone()));
    }
    match files
        .iter()
        .rev()
        .find(|(_, start)| archived.includes(start))
    {
        Some((file, _)) => Some(Start::File(file.clone())),
        None => Some(Start::AfterHole {
            file: oldest.clone(),
            archived: archived.to_string(),
        }),
    }
}

/// The members whose server is running and ready.
pub fn ready_members(cluster: &Cluster) -> Vec<String> {
    cluster
        .members
        .iter()
        .filter(|m| matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { ready: true }))
        .map(|m| m.name.clone())
        .collect()
}

/// Member `member`'s binary-log files, oldest first (its index).
pub async fn file_names(cluster: &Cluster, member: &str) -> Result<Vec<String>> {
    let index = format!("{DATA_DIR}/{INDEX}");
    let listed = exec::run(cluster.server(member), &["cat", &index], None)
        .await
        .with_context(|| format!("{member}: reading {index}"))?;
    Ok(listed
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().rsplit('/').next().unwrap_or_default().to_string())
        .collect())
}

/// The state binary-log file `file` of `member` began with.
pub async fn file_start(cluster: &Cluster, member: &str, file: &str) -> Result<Gtids> {
    let path = format!("{DATA_DIR}/{file}");
    let mut start = Vec::new();
    exec::stdout_into(
        cluster.server(member),
        &["head", "-c", START_BYTES, &path],
        &mut start,
        |_| {},
    )
    .await
    .with_context(|| format!("{member}: reading the start of {file}"))?;
    let state = start_state(cluster.engine, &start)
        .with_context(|| format!("{member}: {file} does not say its first state"))?;
    cluster.engine.parse_gtids(&state)
}

/// Where to archive `member` from: where the head left off when it still can (one file read),
/// else by every file's first state (`choose_start`).
pub async fn start_on(
    cluster: &Cluster,
    head: &Head,
    member: &str,
    archived: &Gtids,
) -> Result<Option<Start>> {
    let names = file_names(cluster, member).await?;
    if head.member == member && names.contains(&head.file) {
        let state = file_start(cluster, member, &head.file).await?;
        let resume = choose_start(head, member, &[(head.file.clone(), state)], archived);
        if let Some(resume @ Start::Resume { .. }) = resume {
            return Ok(Some(resume));
        }
    }
    let mut files = Vec::new();
    for name in names {
        let state = file_start(cluster, member, &name).await?;
        files.push((name, state));
    }
    Ok(choose_start(head, member, &files, archived))
}

/// The first state a file's first bytes say (Gtid_list, Previous_gtids).
pub fn start_state(engine: Engine, first_bytes: &[u8]) -> Option<String> {
    let (_, events) = binlog::complete_events(engine, first_bytes, true).ok()?;
    events.into_iter().find_map(|e| match e.fact {
        Fact::StartState(s) => Some(s),
        _ => None,
    })
}

/// One frame of follow-binlog.pl.
enum Frame {
    File { file: String, offset: u64 },
    Data { offset: u64, bytes: Vec<u8> },
    Idle,
}

async fn read_frame(reader: &mut (impl AsyncBufReadExt + Unpin)) -> Result<Option<Frame>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |w: Option<&&str>| -> Result<u64> {
        w.and_then(|w| w.parse().ok())
            .with_context(|| format!("follow-binlog.pl wrote a bad frame: {}", line.trim()))
    };
    Ok(Some(match words.first().copied() {
        Some("F") => Frame::File {
            file: words.get(1).map(|s| s.to_string()).unwrap_or_default(),
            offset: number(words.get(2))?,
        },
        Some("D") => {
            let offset = number(words.get(1))?;
            let mut bytes = vec![0; number(words.get(2))? as usize];
            reader.read_exact(&mut bytes).await?;
            Frame::Data { offset, bytes }
        }
        Some("I") => Frame::Idle,
        _ => bail!("follow-binlog.pl wrote a bad frame: {}", line.trim()),
    }))
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// What one follow keeps between segments.
struct Follow<'a> {
    cluster: &'a Cluster,
    store: &'a Store,
    head: &'a mut Head,
    archived: Gtids,
    /// The transaction begun and not yet whole (kept in the head across follows).
    transactions: binlog::Transactions,
    /// Bytes received of the current file from `head.offset` on, not yet in a segment.
    pending: Vec<u8>,
    last_flush: Instant,
    last_head: Instant,
}

impl Follow<'_> {
    /// Writes the complete events among the pending bytes as a segment, then the head.
    async fn flush(&mut self) -> Result<()> {
        let engine = self.cluster.engine;
        let (n, events) = binlog::complete_events(engine, &self.pending, self.head.offset == 0)
            .map_err(|e| anyhow::anyhow!("{} of {}: {e}", self.head.file, self.head.member))?;
        self.last_flush = Instant::now();
        if n == 0 {
            return Ok(());
        }
        let key = layout::segment_key(
            &self.cluster.name,
            self.head.seq + 1,
            &self.head.member,
            &self.head.file,
            self.head.offset,
        );
        self.store.put(&key, self.pending[..n].to_vec()).await?;
        for event in &events {
            if let Fact::StartState(s) = &event.fact {
                self.head.file_start = s.clone();
            }
            if let Some(whole) = self.transactions.see(&event.fact) {
                self.archived = self.archived.with(&engine.parse_gtids(&whole)?);
            }
        }
        if let Some(t) = events.iter().map(|e| e.time).max() {
            self.head.newest_event = k8s_openapi::jiff::Timestamp::from_second(t as i64)
                .ok()
                .map(|t| t.to_string());
        }
        self.pending.drain(..n);
        self.head.seq += 1;
        self.head.offset += n as u64;
        self.head.archived = self.archived.to_string();
        self.head.open_gtid = self.transactions.open.clone();
        if self.pending.is_empty() {
            self.head.current_at = now();
        }
        self.head.error = None;
        self.write_head().await
    }

    async fn write_head(&mut self) -> Result<()> {
        write_head(self.store, &self.cluster.name, self.head).await?;
        self.last_head = Instant::now();
        Ok(())
    }

    async fn take(&mut self, frame: Frame) -> Result<()> {
        match frame {
            Frame::File { file, offset } => {
                if file != self.head.file || offset != self.head.offset + self.pending.len() as u64
                {
                    self.flush().await?;
                    if !self.pending.is_empty() {
                        bail!(
                            "{} of {} ended inside an event ({} bytes left)",
                            self.head.file,
                            self.head.member,
                            self.pending.len()
                        );
                    }
                    if let Some(done) = self.transactions.see(&Fact::Rotate) {
                        let engine = self.cluster.engine;
                        self.archived = self.archived.with(&engine.parse_gtids(&done)?);
                    }
                    self.head.file = file;
                    self.head.offset = offset;
                    if offset == 0 {
                        self.head.file_start.clear();
                    }
                }
            }
            Frame::Data { offset, bytes } => {
                let expected = self.head.offset + self.pending.len() as u64;
                if offset != expected {
                    bail!(
                        "follow-binlog.pl sent {} from byte {offset}, expected {expected}",
                        self.head.file
                    );
                }
                self.pending.extend(bytes);
                if self.pending.len() >= MAX_SEGMENT {
                    self.flush().await?;
                }
            }
            Frame::Idle => {
                if self.pending.is_empty() && self.last_head.elapsed() >= HEAD_WHEN_IDLE {
                    self.head.current_at = now();
                    self.write_head().await?;
                }
            }
        }
        Ok(())
    }
}

/// Archives `member`'s binary log from `start` on into `store` for `how_long` (then the caller
/// checks the member is still the one to follow), or until `keep_going` says no. `head` is
/// kept current.
pub async fn follow(
    cluster: &Cluster,
    store: &Store,
    head: &mut Head,
    member: &str,
    start: &Start,
    how_long: Duration,
    keep_going: impl Fn() -> bool,
) -> Result<()> {
    let (file, offset) = match start {
        Start::Resume { file, offset } => (file.clone(), *offset),
        Start::File(file) | Start::AfterHole { file, .. } => (file.clone(), 0),
    };
    if head.member != member || head.file != file || head.offset != offset {
        head.member = member.to_string();
        head.file = file.clone();
        head.offset = offset;
        head.file_start.clear();
        head.open_gtid = None;
    }
    let archived = if head.archived.is_empty() {
        cluster.engine.parse_gtids("")?
    } else {
        cluster.engine.parse_gtids(&head.archived)?
    };
    let offset_text = offset.to_string();
    let command = [
        "perl",
        "-e",
        FOLLOW_SCRIPT,
        DATA_DIR,
        INDEX,
        file.as_str(),
        offset_text.as_str(),
    ];
    let (mut writer, reader) = tokio::io::duplex(4 << 20);
    let (frames_tx, mut frames) = tokio::sync::mpsc::channel::<Result<Frame>>(64);
    let reading = tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(reader);
        loop {
            let frame = read_frame(&mut reader).await;
            let end = !matches!(frame, Ok(Some(_)));
            let sent = match frame {
                Ok(Some(f)) => frames_tx.send(Ok(f)).await,
                Ok(None) => break,
                Err(e) => frames_tx.send(Err(e)).await,
            };
            if sent.is_err() || end {
                break;
            }
        }
    });
    let streaming = exec::stdout_into(cluster.server(member), &command, &mut writer, |_| {});
    tokio::pin!(streaming);
    let open_gtid = head.open_gtid.clone();
    let mut state = Follow {
        cluster,
        store,
        head,
        archived,
        transactions: binlog::Transactions::resume(open_gtid),
        pending: Vec::new(),
        last_flush: Instant::now(),
        last_head: Instant::now(),
    };
    let began = Instant::now();
    let result = loop {
        if began.elapsed() >= how_long || !keep_going() {
            break state.flush().await;
        }
        tokio::select! {
            ended = &mut streaming => {
                let flushed = state.flush().await;
                break match ended {
                    Ok(_) => flushed.and(Err(anyhow::anyhow!("{member}: follow-binlog.pl ended"))),
                    Err(e) => flushed.and(Err(e.context(format!("{member}: following its binary log")))),
                };
            }
            frame = frames.recv() => match frame {
                Some(Ok(frame)) => {
                    if let Err(e) = state.take(frame).await {
                        break Err(e);
                    }
                }
                Some(Err(e)) => break Err(e),
                None => {}
            },
            _ = tokio::time::sleep(FLUSH_EVERY) => {}
        }
        if !state.pending.is_empty() && state.last_flush.elapsed() >= FLUSH_EVERY {
            if let Err(e) = state.flush().await {
                break Err(e);
            }
        }
    };
    reading.abort();
    result.map_err(|e| anyhow::anyhow!("archiving {member}: {}", one_line(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_archive_follows_a_ready_replica_and_stays_with_it() {
        for (ready, current, chosen) in [
            (&["a-0", "a-1", "a-2"][..], "", Some("a-1")),
            (&["a-0", "a-1", "a-2"], "a-2", Some("a-2")),
            (&["a-0", "a-1"], "a-0", Some("a-1")),
            (&["a-0"], "a-1", Some("a-0")),
            (&["a-2"], "a-1", Some("a-2")),
            (&[], "a-1", None),
        ] {
            assert_eq!(
                choose_member("a-0", &names(ready), current).as_deref(),
                chosen,
                "ready {ready:?}, following {current}"
            );
        }
    }

    fn m(t: &str) -> Gtids {
        Engine::Mariadb.parse_gtids(t).unwrap()
    }

    fn files(v: &[(&str, &str)]) -> Vec<(String, Gtids)> {
        v.iter().map(|(f, s)| (f.to_string(), m(s))).collect()
    }

    #[test]
    fn archiving_starts_where_nothing_is_skipped() {
        let head = Head {
            seq: 9,
            member: "a-1".into(),
            file: "b.2".into(),
            file_start: "0-1-10".into(),
            offset: 500,
            archived: "0-1-25".into(),
            ..Default::default()
        };
        let on_a1 = files(&[("b.1", ""), ("b.2", "0-1-10")]);
        assert_eq!(
            choose_start(&head, "a-1", &on_a1, &m("0-1-25")),
            Some(Start::Resume {
                file: "b.2".into(),
                offset: 500
            })
        );
        // a-1 was rebuilt: its b.2 began elsewhere
        let rebuilt = files(&[("b.1", "0-1-20"), ("b.2", "0-1-30")]);
        assert_eq!(
            choose_start(&head, "a-1", &rebuilt, &m("0-1-25")),
            Some(Start::File("b.1".into()))
        );
        // another member: its newest file that begins within the archive
        let on_a2 = files(&[("c.1", ""), ("c.2", "0-1-18"), ("c.3", "0-1-40")]);
        assert_eq!(
            choose_start(&head, "a-2", &on_a2, &m("0-1-25")),
            Some(Start::File("c.2".into()))
        );
        // nothing begins within it: a hole, said
        let late = files(&[("c.3", "0-1-40")]);
        assert_eq!(
            choose_start(&head, "a-2", &late, &m("0-1-25")),
            Some(Start::AfterHole {
                file: "c.3".into(),
                archived: "0-1-25".into()
            })
        );
        // a new archive takes everything the member still has
        let fresh = Head::default();
        assert_eq!(
            choose_start(&fresh, "a-2", &on_a2, &m("")),
            Some(Start::File("c.1".into()))
        );
        assert_eq!(choose_start(&fresh, "a-2", &[], &m("")), None);
    }

    #[test]
    fn a_files_first_state_is_read_from_its_first_bytes() {
        use crate::db::binlog::tests::{event, mariadb_list_event};
        let mut bytes = binlog::MAGIC.to_vec();
        bytes.extend(event(1, 15, 1, &[0; 40]));
        bytes.extend(mariadb_list_event(&[(0, 1, 7)]));
        bytes.extend([1, 2, 3]);
        assert_eq!(
            start_state(Engine::Mariadb, &bytes).as_deref(),
            Some("0-1-7")
        );
        assert_eq!(start_state(Engine::Mariadb, &bytes[..30]), None);
    }
}
