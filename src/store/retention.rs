//! Backups on a schedule and their retention (`backup enable --every D --keep D`, run by the
//! agent's leader): when the next base backup is due, and what may be deleted. Pure.
//!
//! Retention never deletes what a kept backup needs: the newest complete backup is always
//! kept; of the archive, only the runs (crate::store::archive) that ended before the oldest
//! kept backup began (its `archive_seq`) go, so every kept backup can still be replayed
//! forward to the archive's end.
use super::archive::Run;
use super::catalog::Listed;
use k8s_openapi::jiff::Timestamp;
use std::time::Duration;

/// A base backup is due: none finished yet, or the last finished `every` ago or more.
pub fn backup_due(last_finished: Option<&str>, every: Duration, now: Timestamp) -> bool {
    match last_finished.and_then(|t| t.parse::<Timestamp>().ok()) {
        None => true,
        Some(last) => {
            let since = now.as_millisecond() - last.as_millisecond();
            since >= every.as_millis() as i64
        }
    }
}

/// What retention deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    /// Base backups (IDs): complete ones older than the retention (not the newest), and
    /// incomplete ones older than it (interrupted long ago).
    pub backups: Vec<String>,
    /// Archive segments (keys) of runs that ended before the oldest kept backup began.
    pub segments: Vec<String>,
}

/// The deletions that keep `keep` of history at `now`.
pub fn plan(backups: &[Listed], runs: &[Run], keep: Duration, now: Timestamp) -> Prune {
    let cutoff = now.as_millisecond() - keep.as_millis() as i64;
    let older = |time: &str| {
        time.parse::<Timestamp>()
            .is_ok_and(|t| t.as_millisecond() < cutoff)
    };
    let mut complete: Vec<&super::catalog::Manifest> = backups
        .iter()
        .filter_map(|b| match b {
            Listed::Complete(m) => Some(m.as_ref()),
            Listed::Incomplete { .. } => None,
        })
        .collect();
    complete.sort_by(|a, b| a.id.cmp(&b.id));
    let Some(newest) = complete.last() else {
        return Prune::default();
    };
    let mut prune = Prune::default();
    for m in &complete {
        if m.id != newest.id && older(&m.finished) {
            prune.backups.push(m.id.clone());
        }
    }
    for b in backups {
        if let Listed::Incomplete { id, .. } = b {
            if super::catalog::id_time(id).is_some_and(|t| older(&t)) {
                prune.backups.push(id.clone());
            }
        }
    }
    let oldest_kept = complete
        .iter()
        .find(|m| !prune.backups.contains(&m.id))
        .map(|m| m.archive_seq)
        .unwrap_or(0);
    for run in runs {
        if oldest_kept > 0 && run.last_seq < oldest_kept {
            prune.segments.extend(run.segments.iter().cloned());
        }
    }
    prune.backups.sort();
    prune
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::archive::{runs, segment_key, Segment};
    use crate::store::catalog::{Format, Manifest};

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    #[test]
    fn a_backup_is_due_every_period() {
        let every = Duration::from_secs(3600);
        let now = at("2026-12-07T12:00:00Z");
        assert!(backup_due(None, every, now));
        assert!(backup_due(Some("2026-12-07T11:00:00Z"), every, now));
        assert!(!backup_due(Some("2026-12-07T11:00:01Z"), every, now));
        assert!(backup_due(Some("not a time"), every, now));
    }

    fn complete(id: &str, finished: &str, archive_seq: u64) -> Listed {
        Listed::Complete(Box::new(Manifest {
            id: id.into(),
            cluster: "shop".into(),
            engine: "mariadb".into(),
            server_version: "10.11".into(),
            format: Format::Xbstream,
            donor: "shop-1".into(),
            gtid: "0-1-1".into(),
            gtid_end: "0-1-1".into(),
            started: finished.into(),
            finished: finished.into(),
            bytes: 1,
            sha256: "x".into(),
            tables: vec![],
            archive_seq,
        }))
    }

    /// One run of segments numbered `seqs` (one file, from its start).
    fn run(seqs: &[u64]) -> Run {
        let segments: Vec<Segment> = seqs
            .iter()
            .enumerate()
            .map(|(i, &seq)| Segment {
                key: segment_key(
                    "shop",
                    seq,
                    "shop-1",
                    &format!("f{}", seqs[0]),
                    i as u64 * 10,
                ),
                seq,
                member: "shop-1".into(),
                file: format!("f{}", seqs[0]),
                offset: i as u64 * 10,
                bytes: 10,
            })
            .collect();
        runs(&segments).unwrap().remove(0)
    }

    #[test]
    fn retention_keeps_the_newest_backup_and_what_the_oldest_kept_one_needs() {
        let now = at("2026-12-07T12:00:00Z");
        let keep = Duration::from_secs(2 * 3600);
        let backups = vec![
            complete("20261207T080000Z", "2026-12-07T08:05:00Z", 3),
            complete("20261207T100500Z", "2026-12-07T10:10:00Z", 7),
            complete("20261207T110000Z", "2026-12-07T11:05:00Z", 9),
            Listed::Incomplete {
                id: "20261207T070000Z".into(),
                bytes: 5,
            },
            Listed::Incomplete {
                id: "20261207T115000Z".into(),
                bytes: 5,
            },
        ];
        // runs: [1,2] ends before seq 7; [3..6] too; [6,7,8] holds the kept backup's start
        let runs = vec![
            run(&[1, 2]),
            run(&[3, 4, 5, 6]),
            run(&[6, 7, 8]),
            run(&[9, 10]),
        ];
        let prune = plan(&backups, &runs, keep, now);
        assert_eq!(prune.backups, ["20261207T070000Z", "20261207T080000Z"]);
        assert_eq!(prune.segments.len(), 6, "{:?}", prune.segments);
        assert!(prune.segments.iter().all(|k| !k.contains("/000000000007_")));
        assert!(prune.segments.iter().all(|k| !k.contains("/000000000008_")));
    }

    #[test]
    fn the_newest_backup_stays_however_old() {
        let now = at("2026-12-07T12:00:00Z");
        let backups = vec![
            complete("20261201T000000Z", "2026-12-01T00:05:00Z", 3),
            complete("20261202T000000Z", "2026-12-02T00:05:00Z", 5),
        ];
        let prune = plan(
            &backups,
            &[run(&[1, 2]), run(&[5, 6])],
            Duration::from_secs(3600),
            now,
        );
        assert_eq!(prune.backups, ["20261201T000000Z"]);
        assert_eq!(prune.segments.len(), 2, "the run before seq 5 goes");
        assert_eq!(
            plan(&[], &[run(&[1])], Duration::from_secs(1), now),
            Prune::default()
        );
    }

    #[test]
    fn backups_taken_before_the_archive_began_keep_every_segment() {
        let now = at("2026-12-07T12:00:00Z");
        let backups = vec![complete("20261207T110000Z", "2026-12-07T11:05:00Z", 0)];
        let prune = plan(&backups, &[run(&[1, 2])], Duration::from_secs(60), now);
        assert!(prune.segments.is_empty());
    }
}
