//! The binary-log archive of a cluster in the object store, and what a point-in-time restore
//! replays from it. Pure: keys in, plans out.
//!
//! Layout under the store's prefix, per cluster NAME:
//! `NAME/binlog/SEQ_MEMBER_FILE_OFFSET`: raw bytes of binary-log file FILE of member MEMBER
//! from byte OFFSET on, complete events only; SEQ (12 digits) orders the segments. A run is the
//! segments of one file from its first byte (OFFSET 0) on: replaying a run is replaying that
//! file. When the archive follows another member (a switchover, a failover) it starts a run
//! from the start of a file of that member whose first state it already holds: runs overlap,
//! never leave a hole; a replay skips what the server already holds.
//! `NAME/archive.json`: the archive's head (`Head`): where the archiver is, what it holds.
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

/// Where cluster `cluster`'s segments are listed from.
pub fn segments_dir(cluster: &str) -> String {
    format!("{cluster}/binlog")
}

/// The key of a segment.
pub fn segment_key(cluster: &str, seq: u64, member: &str, file: &str, offset: u64) -> String {
    format!("{cluster}/binlog/{seq:012}_{member}_{file}_{offset:012}")
}

/// The key of the archive's head.
pub fn head_key(cluster: &str) -> String {
    format!("{cluster}/archive.json")
}

/// The archive's head, rewritten after every segment (and now and then when idle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    /// The sequence number of the last segment written (0: none yet).
    pub seq: u64,
    /// The member followed, its file, the GTID state that file began with, and how far it
    /// is archived.
    pub member: String,
    pub file: String,
    pub file_start: String,
    pub offset: u64,
    /// Every transaction the archive holds whole (the engine's GTID text).
    pub archived: String,
    /// The last transaction begun in the file followed: whole once the next one begins.
    #[serde(default)]
    pub open_gtid: Option<String>,
    /// When the newest archived event was stamped (RFC 3339).
    pub newest_event: Option<String>,
    /// When the archive last held everything its member had logged (RFC 3339).
    pub current_at: String,
    /// Why the archive stopped following, when it did (cleared once it follows again).
    pub error: Option<String>,
}

/// Cluster `cluster`'s archive head, None when nothing was archived yet.
pub async fn read_head(store: &super::Store, cluster: &str) -> Result<Option<Head>> {
    let key = head_key(cluster);
    match store.get(&key).await? {
        None => Ok(None),
        Some(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("{key} is not a head"))?,
        )),
    }
}

/// The archive as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveState {
    /// The member followed.
    pub member: String,
    /// What it holds whole.
    pub archived: String,
    /// When it last held everything its member had logged, and how long ago that was.
    pub current_at: String,
    pub behind_seconds: Option<f64>,
    /// Why it cannot be read or does not follow, when so.
    pub error: Option<String>,
}

/// How long the archive may lag before `status` warns.
pub const BEHIND_WARNING_SECONDS: f64 = 30.0;

impl ArchiveState {
    /// From the head read at `now` (None: nothing archived yet).
    pub fn from_head(head: Option<&Head>, now: k8s_openapi::jiff::Timestamp) -> ArchiveState {
        let Some(head) = head else {
            return ArchiveState {
                member: String::new(),
                archived: String::new(),
                current_at: String::new(),
                behind_seconds: None,
                error: Some("nothing archived yet".into()),
            };
        };
        let behind = head
            .current_at
            .parse::<k8s_openapi::jiff::Timestamp>()
            .ok()
            .map(|t| (now.as_millisecond() - t.as_millisecond()).max(0) as f64 / 1000.0);
        ArchiveState {
            member: head.member.clone(),
            archived: head.archived.clone(),
            current_at: head.current_at.clone(),
            behind_seconds: behind,
            error: head.error.clone(),
        }
    }

    /// `current 0.4s ago, following shop-1, holds 0-1-42` (or what is wrong).
    pub fn describe(&self) -> String {
        match (self.behind_seconds, &self.error) {
            (None, Some(e)) => e.clone(),
            (Some(b), _) => format!(
                "current {b:.1}s ago, following {}, holds {}",
                self.member,
                if self.archived.is_empty() {
                    "nothing whole yet"
                } else {
                    &self.archived
                }
            ),
            (None, None) => "no time recorded".into(),
        }
    }

    /// A warning for `status` when the archive lags or is missing, with its remedy.
    pub fn warning(&self, cluster: &str) -> Option<String> {
        let check = format!(
            "check the agent (kubectl logs deploy/{cluster}-agent; kubectl mysqlha agent enable {cluster} if it has none) and the object store"
        );
        match self.behind_seconds {
            Some(b) if b <= BEHIND_WARNING_SECONDS => None,
            Some(b) => Some(format!(
                "the binary-log archive is {b:.0}s behind (last current at {}): writes since then cannot be restored to a point in time yet; {check}",
                self.current_at
            )),
            None => Some(format!(
                "the binary-log archive: {}; {check}",
                self.error.as_deref().unwrap_or("no time recorded")
            )),
        }
    }
}

/// One segment, from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub key: String,
    pub seq: u64,
    pub member: String,
    pub file: String,
    pub offset: u64,
    pub bytes: u64,
}

/// The segments in a listing of `segments_dir(cluster)` (keys relative to the store's
/// prefix), ordered by sequence number. Keys of another form are ignored.
pub fn segments_in_listing(cluster: &str, keys: &[(String, u64)]) -> Vec<Segment> {
    let dir = format!("{}/", segments_dir(cluster));
    let mut out: Vec<Segment> = keys
        .iter()
        .filter_map(|(key, bytes)| {
            let rest = key.strip_prefix(&dir)?;
            let mut parts = rest.split('_');
            let (seq, member, file, offset) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            Some(Segment {
                key: key.clone(),
                seq: seq.parse().ok()?,
                member: member.to_string(),
                file: file.to_string(),
                offset: offset.parse().ok()?,
                bytes: *bytes,
            })
        })
        .collect();
    out.sort_by_key(|s| s.seq);
    out
}

/// A piece of a run: a segment, less the bytes an earlier segment already held (a segment
/// written again after an interrupted head update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub key: String,
    pub skip: u64,
}

/// One file of one member, from its first byte, as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub member: String,
    pub file: String,
    pub pieces: Vec<Piece>,
    pub bytes: u64,
    /// Every segment of the run (a segment wholly held by earlier ones adds no piece).
    pub segments: Vec<String>,
    /// The sequence number of its last segment.
    pub last_seq: u64,
}

/// The runs of `segments` (in sequence order). A segment that neither starts a file nor
/// continues the run before it (a hole: a segment lost) is an error naming it.
pub fn runs(segments: &[Segment]) -> Result<Vec<Run>> {
    let mut out: Vec<Run> = Vec::new();
    for s in segments {
        if s.offset == 0 {
            out.push(Run {
                member: s.member.clone(),
                file: s.file.clone(),
                pieces: vec![Piece {
                    key: s.key.clone(),
                    skip: 0,
                }],
                bytes: s.bytes,
                segments: vec![s.key.clone()],
                last_seq: s.seq,
            });
            continue;
        }
        let Some(run) = out
            .last_mut()
            .filter(|r| r.member == s.member && r.file == s.file && s.offset <= r.bytes)
        else {
            bail!(
                "the archive has a hole: segment {} ({} of {} from byte {}) continues nothing archived before it",
                s.key,
                s.file,
                s.member,
                s.offset
            );
        };
        run.segments.push(s.key.clone());
        run.last_seq = s.seq;
        let end = s.offset + s.bytes;
        if end > run.bytes {
            run.pieces.push(Piece {
                key: s.key.clone(),
                skip: run.bytes - s.offset,
            });
            run.bytes = end;
        }
    }
    Ok(out)
}

/// What a restore replays to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Everything archived.
    Latest,
    /// Every transaction stamped before this time, none stamped at or after it.
    Time(k8s_openapi::jiff::Timestamp),
    /// Exactly this GTID position (MariaDB) or set (MySQL): its transactions, none after.
    Gtid(String),
}

impl Target {
    /// `--to-time` / `--to-gtid` (at most one).
    pub fn from_flags(time: Option<&str>, gtid: Option<&str>) -> Result<Target> {
        match (time, gtid) {
            (Some(_), Some(_)) => bail!("--to-time and --to-gtid exclude each other: give one"),
            (Some(t), None) => Ok(Target::Time(t.parse().with_context(|| {
                format!("--to-time {t}: not an RFC 3339 time (e.g. 2026-12-07T01:02:03Z)")
            })?)),
            (None, Some(g)) if g.trim().is_empty() => bail!("--to-gtid is empty"),
            (None, Some(g)) => Ok(Target::Gtid(g.trim().to_string())),
            (None, None) => Ok(Target::Latest),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Latest => "the latest archived transaction".into(),
            Target::Time(t) => format!("{t}"),
            Target::Gtid(g) => format!("GTID {g}"),
        }
    }
}

/// The `--stop-datetime` argument of both engines' binlog tools: `YYYY-MM-DD hh:mm:ss` in UTC
/// (the tools run with TZ=UTC). The tools stop at the first event stamped at or after it;
/// stamps are whole seconds, so a target inside a second is rounded up to the next one: the
/// transactions stamped in the target's second are in.
pub fn stop_datetime(t: &k8s_openapi::jiff::Timestamp) -> String {
    let whole = t.as_second();
    let up = if t.subsec_nanosecond() > 0 {
        whole + 1
    } else {
        whole
    };
    k8s_openapi::jiff::Timestamp::from_second(up)
        .expect("a time in range")
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u64, member: &str, file: &str, offset: u64, bytes: u64) -> Segment {
        Segment {
            key: segment_key("shop", seq, member, file, offset),
            seq,
            member: member.into(),
            file: file.into(),
            offset,
            bytes,
        }
    }

    #[test]
    fn keys_round_trip_through_a_listing_in_sequence_order() {
        let keys = vec![
            (segment_key("shop", 2, "shop-1", "mysql-bin.000002", 0), 10),
            (
                segment_key("shop", 1, "shop-1", "mysql-bin.000001", 300),
                20,
            ),
            ("shop/binlog/junk".to_string(), 1),
            (head_key("shop"), 5),
        ];
        let found = segments_in_listing("shop", &keys);
        assert_eq!(
            found,
            vec![
                seg(1, "shop-1", "mysql-bin.000001", 300, 20),
                seg(2, "shop-1", "mysql-bin.000002", 0, 10)
            ]
        );
    }

    #[test]
    fn runs_follow_files_and_members() {
        let segments = [
            seg(1, "a-1", "f.1", 0, 100),
            seg(2, "a-1", "f.1", 100, 50),
            seg(3, "a-1", "f.2", 0, 10),
            // a switch to another member: a whole file of it from its start
            seg(4, "a-0", "f.7", 0, 70),
            seg(5, "a-0", "f.7", 70, 5),
        ];
        let runs = runs(&segments).unwrap();
        let shape: Vec<(&str, &str, usize, u64)> = runs
            .iter()
            .map(|r| (r.member.as_str(), r.file.as_str(), r.pieces.len(), r.bytes))
            .collect();
        assert_eq!(
            shape,
            [
                ("a-1", "f.1", 2, 150),
                ("a-1", "f.2", 1, 10),
                ("a-0", "f.7", 2, 75)
            ]
        );
    }

    #[test]
    fn a_segment_written_twice_is_trimmed_and_a_hole_is_an_error() {
        // the head's update failed after segment 2: segment 3 repeats 20 of its bytes
        let segments = [
            seg(1, "a-1", "f.1", 0, 100),
            seg(2, "a-1", "f.1", 100, 50),
            seg(3, "a-1", "f.1", 130, 40),
            seg(4, "a-1", "f.1", 160, 5),
        ];
        let runs = runs(&segments).unwrap();
        assert_eq!(runs[0].bytes, 170);
        assert_eq!(runs[0].pieces[2].skip, 20);
        assert_eq!(
            runs[0].pieces.len(),
            3,
            "a segment wholly held adds nothing"
        );
        let hole = [seg(1, "a-1", "f.1", 0, 100), seg(2, "a-1", "f.1", 120, 5)];
        let e = super::runs(&hole).unwrap_err().to_string();
        assert!(e.contains("hole") && e.contains("f.1"), "{e}");
        let foreign = [seg(1, "a-1", "f.1", 0, 100), seg(2, "a-2", "f.1", 100, 5)];
        assert!(super::runs(&foreign).is_err());
    }

    #[test]
    fn status_warns_when_the_archive_lags_or_is_missing() {
        let now: k8s_openapi::jiff::Timestamp = "2026-12-07T01:00:00Z".parse().unwrap();
        let head = |at: &str| Head {
            member: "shop-1".into(),
            archived: "0-1-42".into(),
            current_at: at.into(),
            ..Default::default()
        };
        let fresh = ArchiveState::from_head(Some(&head("2026-12-07T00:59:59.600Z")), now);
        assert_eq!(
            fresh.describe(),
            "current 0.4s ago, following shop-1, holds 0-1-42"
        );
        assert_eq!(fresh.warning("shop"), None);
        let late = ArchiveState::from_head(Some(&head("2026-12-07T00:58:00Z")), now);
        let w = late.warning("shop").unwrap();
        assert!(
            w.contains("120s behind") && w.contains("deploy/shop-agent"),
            "{w}"
        );
        let none = ArchiveState::from_head(None, now);
        assert!(none
            .warning("shop")
            .unwrap()
            .contains("nothing archived yet"));
    }

    #[test]
    fn targets_from_flags() {
        assert_eq!(Target::from_flags(None, None).unwrap(), Target::Latest);
        assert!(matches!(
            Target::from_flags(Some("2026-12-07T01:02:03Z"), None).unwrap(),
            Target::Time(_)
        ));
        for (t, g, says) in [
            (Some("yesterday"), None, "RFC 3339"),
            (Some("2026-12-07T01:02:03Z"), Some("0-1-5"), "exclude"),
            (None, Some(" "), "empty"),
        ] {
            let e = Target::from_flags(t, g).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn the_stop_time_rounds_a_fraction_up_to_the_next_second() {
        for (t, stop) in [
            ("2026-12-07T01:02:03Z", "2026-12-07 01:02:03"),
            ("2026-12-07T01:02:03.250Z", "2026-12-07 01:02:04"),
            ("2026-12-07T02:02:03+01:00", "2026-12-07 01:02:03"),
        ] {
            assert_eq!(stop_datetime(&t.parse().unwrap()), stop, "{t}");
        }
    }
}
