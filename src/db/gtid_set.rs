//! MySQL GTID sets (`uuid:1-5:7-9,uuid2[:tag]:1-3`), as printed in @@gtid_executed,
//! performance_schema received_transaction_set and accepted by WAIT_FOR_EXECUTED_GTID_SET:
//! parsing, set arithmetic, errant detection.
//!
//! Unlike MariaDB's per-domain positions (see `gtid.rs`), a MySQL server's history is a set
//! of intervals per source uuid, so "is the replica caught up" and "did it write on its own"
//! are set inclusion and set difference.
#![allow(dead_code)]
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::fmt;

/// Largest GNO MySQL accepts (GNOs are signed 64-bit there).
const MAX_GNO: u64 = i64::MAX as u64;

/// A MySQL GTID set. Keys are `uuid` or `uuid:tag` (MySQL 8.3+ tagged GTIDs), lowercase;
/// each value holds sorted, disjoint, non-adjacent inclusive intervals, never empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet(BTreeMap<String, Vec<(u64, u64)>>);

impl std::str::FromStr for GtidSet {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut set = GtidSet::default();
        // MySQL tolerates empty elements (`a,,b`, trailing comma) and prints `,\n`.
        for element in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            parse_element(element, &mut set)?;
        }
        Ok(set)
    }
}

/// One `uuid[:tag]:interval[:interval…][:tag:interval…]` element: a tag switches the key for
/// the intervals that follow it, as in MySQL 8.3+ output.
fn parse_element(element: &str, set: &mut GtidSet) -> Result<()> {
    let mut parts = element.split(':').map(str::trim);
    let uuid = parse_uuid(parts.next().unwrap_or_default(), element)?;
    let mut key = uuid.clone();
    let mut after_tag = false; // a tag must be followed by an interval, not by another tag
    let mut any_interval = false;
    for part in parts {
        if part.starts_with(|c: char| c.is_ascii_digit()) {
            let (a, b) = parse_interval(part, element)?;
            set.insert(&key, a, b);
            after_tag = false;
            any_interval = true;
        } else {
            if after_tag {
                bail!("malformed GTID set element '{element}': missing interval before '{part}'");
            }
            key = format!("{uuid}:{}", parse_tag(part, element)?);
            after_tag = true;
        }
    }
    if after_tag || !any_interval {
        bail!("malformed GTID set element '{element}': missing interval");
    }
    Ok(())
}

/// A server uuid in its 8-4-4-4-12 hex form, lowercased: MySQL compares uuids
/// case-insensitively, so keys must be normalised to merge the same source.
fn parse_uuid(s: &str, element: &str) -> Result<String> {
    let shape_ok = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if !shape_ok {
        bail!("malformed GTID set element '{element}': bad uuid '{s}'");
    }
    Ok(s.to_ascii_lowercase())
}

/// A GTID tag: `[a-z_][a-z0-9_]{0,31}`, case-insensitive (MySQL stores it lowercase).
fn parse_tag(s: &str, element: &str) -> Result<String> {
    let tag = s.to_ascii_lowercase();
    let ok = (1..=32).contains(&tag.len())
        && tag.starts_with(|c: char| c == '_' || c.is_ascii_lowercase())
        && tag
            .chars()
            .all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok {
        bail!("malformed GTID set element '{element}': bad tag '{s}'");
    }
    Ok(tag)
}

/// `a` or `a-b` with 1 <= a <= b <= 2^63-1 (GNO 0 does not exist in MySQL).
fn parse_interval(s: &str, element: &str) -> Result<(u64, u64)> {
    let bad = || anyhow::anyhow!("malformed GTID set element '{element}': bad interval '{s}'");
    let gno = |p: &str| {
        p.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_GNO).contains(n))
            .ok_or_else(bad)
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (gno(a)?, gno(b)?),
        None => (gno(s)?, gno(s)?),
    };
    if b < a {
        return Err(bad());
    }
    Ok((a, b))
}

impl fmt::Display for GtidSet {
    /// MySQL's canonical form minus the newlines: keys sorted, one element per key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elements: Vec<String> = self
            .0
            .iter()
            .map(|(key, intervals)| {
                let ivs: Vec<String> = intervals
                    .iter()
                    .map(|&(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                format!("{key}:{}", ivs.join(":"))
            })
            .collect();
        f.write_str(&elements.join(","))
    }
}

/// Sorts and merges overlapping or adjacent intervals so that equal sets compare equal.
fn normalise(intervals: &mut Vec<(u64, u64)>) {
    intervals.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
    for &(a, b) in intervals.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *intervals = merged;
}

/// `mine` minus `theirs`, both normalised; the result is normalised too.
fn subtract(mine: &[(u64, u64)], theirs: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(a, b) in mine {
        let mut start = a;
        for &(c, d) in theirs.iter().filter(|&&(c, d)| d >= a && c <= b) {
            if c > start {
                out.push((start, c - 1));
            }
            start = d.saturating_add(1);
            if start > b {
                break;
            }
        }
        if start <= b {
            out.push((start, b));
        }
    }
    out
}

impl GtidSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn insert(&mut self, key: &str, a: u64, b: u64) {
        let intervals = self.0.entry(key.to_string()).or_default();
        intervals.push((a, b));
        normalise(intervals);
    }

    /// Every transaction in either set.
    pub fn union(&self, other: &GtidSet) -> GtidSet {
        let mut out = self.clone();
        for (key, theirs) in &other.0 {
            let intervals = out.0.entry(key.clone()).or_default();
            intervals.extend_from_slice(theirs);
            normalise(intervals);
        }
        out
    }

    /// What this set has that `other` lacks (e.g. replica.gtid_executed − primary's).
    pub fn difference(&self, other: &GtidSet) -> GtidSet {
        let mut out = BTreeMap::new();
        for (key, mine) in &self.0 {
            let rest = match other.0.get(key) {
                Some(theirs) => subtract(mine, theirs),
                None => mine.clone(),
            };
            if !rest.is_empty() {
                out.insert(key.clone(), rest);
            }
        }
        GtidSet(out)
    }

    /// True when every transaction of `other` is in this set (other ⊆ self): a replica
    /// whose gtid_executed includes the primary's has applied everything the primary has.
    pub fn includes(&self, other: &GtidSet) -> bool {
        other.difference(self).is_empty()
    }

    /// Number of transactions in the set (saturating: a set may span up to 2^63 GNOs per key).
    pub fn count(&self) -> u64 {
        self.0
            .values()
            .flatten()
            .fold(0u64, |n, &(a, b)| n.saturating_add(b - a + 1))
    }
}

/// Transactions a member holds that the primary never had: writes made directly on the
/// member (or left over from an old timeline) that would diverge it from the cluster if it
/// were promoted, and that block it from replicating cleanly.
pub fn errant(member: &GtidSet, primary: &GtidSet) -> GtidSet {
    member.difference(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "4f0c1b3a-0000-0000-0000-000000000001";

    fn g(s: &str) -> GtidSet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_mysql_multi_line_output() {
        let set = g("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n4f0c1b3a-0000-0000-0000-000000000001:1-3:5-7\n");
        assert_eq!(set.to_string(), format!("{A}:1-5,{B}:1-3:5-7"));
        assert_eq!(set.count(), 11);
        // Keys are sorted whatever the input order; the same uuid in two elements merges.
        assert_eq!(
            g(&format!("{B}:9, {A}:1 ,{B}:1-3")).to_string(),
            format!("{A}:1,{B}:1-3:9")
        );
    }

    #[test]
    fn empty_input_is_the_empty_set() {
        assert!(g("").is_empty());
        assert!(g(" \n ").is_empty());
        assert_eq!(g("").to_string(), "");
        assert_eq!(g("").count(), 0);
        assert_eq!(GtidSet::default(), g(""));
    }

    #[test]
    fn merges_adjacent_and_overlapping_intervals() {
        assert_eq!(g(&format!("{A}:1-3:4-6")).to_string(), format!("{A}:1-6"));
        assert_eq!(g(&format!("{A}:5-9:1-6")).to_string(), format!("{A}:1-9"));
        assert_eq!(g(&format!("{A}:1:2:3:7")).to_string(), format!("{A}:1-3:7"));
        assert_eq!(g(&format!("{A}:1-10:3-4")).to_string(), format!("{A}:1-10"));
        assert_eq!(g(&format!("{A}:1-3,{A}:4")).to_string(), format!("{A}:1-4"));
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            A.to_string(),                                    // missing interval
            format!("{A}:"),                                  // empty interval
            format!("{A}:5-3"),                               // b < a
            format!("{A}:0"),                                 // GNO 0
            format!("{A}:0-3"),                               // GNO 0
            format!("{A}:1-x"),                               // not a number
            format!("{A}:1-9223372036854775808"),             // beyond 2^63-1
            "3e11fa47-71ca-11e1-9e33-c80aa942956g:1".into(),  // non-hex
            "3e11fa47-71ca-11e1-9e33-c80aa942956:1".into(),   // too short
            "3e11fa47-71ca-11e1-9e33-c80aa94295621:1".into(), // too long
            "3e11fa4771ca-11e1-9e33-c80aa94295621:1".into(),  // hyphen misplaced
            format!("{A}:tag"),
            format!("{A}:a:b:1"),                // tag without interval
            format!("{A}:1:9tag:1"),             // tag must not start with a digit
            format!("{A}:1:bad-tag:1"),          // '-' not allowed in a tag
            format!("{A}:{}:1", "t".repeat(33)), // tag too long
        ] {
            let err = bad.parse::<GtidSet>().unwrap_err().to_string();
            assert!(err.contains("malformed GTID set element"), "{bad}: {err}");
        }
        let err = format!("{A}:1,{B}:7-2")
            .parse::<GtidSet>()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("'{B}:7-2'")), "{err}");
    }

    #[test]
    fn tagged_gtids_are_their_own_keys() {
        let set = g(&format!("{A}:1-5:Blue_1:1-3:4:green:7,{A}:BLUE_1:5"));
        assert_eq!(
            set.to_string(),
            format!("{A}:1-5,{A}:blue_1:1-5,{A}:green:7")
        );
        assert_eq!(set.count(), 11);
        // A tagged transaction is not the untagged one with the same GNO.
        assert!(!g(&format!("{A}:1-10")).includes(&g(&format!("{A}:t:1"))));
        assert_eq!(
            g(&format!("{A}:1-3:t:1-3"))
                .difference(&g(&format!("{A}:1-3")))
                .to_string(),
            format!("{A}:t:1-3")
        );
        assert_eq!(g(&format!("{A}:_:1")).to_string(), format!("{A}:_:1"));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            String::new(),
            format!("{A}:1"),
            format!("{A}:1-5:7:9-11,{B}:3"),
            format!("{A}:1-2,{A}:x:4,{B}:1-9223372036854775807"),
        ] {
            assert_eq!(g(&s).to_string(), s);
            assert_eq!(g(&g(&s).to_string()), g(&s));
        }
    }

    #[test]
    fn difference_splits_intervals() {
        let d = g(&format!("{A}:1-10")).difference(&g(&format!("{A}:3-4")));
        assert_eq!(d.to_string(), format!("{A}:1-2:5-10"));
        let d =
            g(&format!("{A}:1-10:20-30,{B}:1-5")).difference(&g(&format!("{A}:1:5-25:30,{B}:1-5")));
        assert_eq!(d.to_string(), format!("{A}:2-4:26-29"));
        assert!(g(&format!("{A}:3-4"))
            .difference(&g(&format!("{A}:1-10")))
            .is_empty());
        assert_eq!(
            g(&format!("{A}:1-3")).difference(&g("")).to_string(),
            format!("{A}:1-3")
        );
    }

    #[test]
    fn union_merges_sets() {
        let u = g(&format!("{A}:1-3,{B}:1")).union(&g(&format!("{A}:4-6:9")));
        assert_eq!(u.to_string(), format!("{A}:1-6:9,{B}:1"));
        assert_eq!(g("").union(&g("")), g(""));
    }

    #[test]
    fn includes_is_subset() {
        let primary = g(&format!("{A}:1-100,{B}:1-5"));
        assert!(primary.includes(&g(&format!("{A}:1-100"))));
        assert!(primary.includes(&g(&format!("{A}:50:60-70,{B}:5"))));
        assert!(primary.includes(&g("")));
        assert!(primary.includes(&primary));
        assert!(!primary.includes(&g(&format!("{A}:101"))));
        assert!(!primary.includes(&g(&format!("{A}:1-100,{B}:1-6"))));
        assert!(!g("").includes(&g(&format!("{A}:1"))));
    }

    #[test]
    fn count_saturates() {
        assert_eq!(g(&format!("{A}:1-5:7")).count(), 6);
        let huge = g(&format!(
            "{A}:1-9223372036854775807,{B}:1-9223372036854775807,{A}:t:1-9"
        ));
        assert_eq!(huge.count(), u64::MAX);
    }

    #[test]
    fn errant_is_what_the_primary_never_had() {
        let primary = g(&format!("{A}:1-100"));
        assert!(errant(&g(&format!("{A}:1-90")), &primary).is_empty());
        assert_eq!(
            errant(&g(&format!("{A}:1-100,{B}:1")), &primary).to_string(),
            format!("{B}:1")
        );
        assert_eq!(
            errant(&g(&format!("{A}:1-101")), &primary).to_string(),
            format!("{A}:101")
        );
    }
}
