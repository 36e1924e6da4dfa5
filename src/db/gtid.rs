//! MariaDB GTID lists (`domain-server-seq,…`): parsing, comparison, errant detection.
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

/// A GTID list as MariaDB prints it: at most one GTID per domain (a position) or per
/// (domain, server) pair (a binlog state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidList(pub Vec<Gtid>);

impl std::str::FromStr for GtidList {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut list = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let parts: Vec<&str> = item.split('-').collect();
            if parts.len() != 3 {
                bail!("malformed GTID '{item}' (expected domain-server-seq)");
            }
            let num = |p: &str| {
                p.parse::<u64>()
                    .with_context(|| format!("malformed GTID '{item}'"))
            };
            list.push(Gtid {
                domain: num(parts[0])? as u32,
                server: num(parts[1])? as u32,
                seq: num(parts[2])?,
            });
        }
        Ok(GtidList(list))
    }
}

impl fmt::Display for GtidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|g| format!("{}-{}-{}", g.domain, g.server, g.seq))
            .collect();
        f.write_str(&items.join(","))
    }
}

impl GtidList {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Highest sequence number per domain.
    fn by_domain(&self) -> BTreeMap<u32, u64> {
        let mut map = BTreeMap::new();
        for g in &self.0 {
            let e = map.entry(g.domain).or_insert(0);
            *e = (*e).max(g.seq);
        }
        map
    }

    /// True when this position is at or past `other` in every domain of `other`.
    pub fn includes(&self, other: &GtidList) -> bool {
        let mine = self.by_domain();
        other
            .by_domain()
            .iter()
            .all(|(d, seq)| mine.get(d).is_some_and(|m| m >= seq))
    }

    /// GTIDs in this binlog state that `reference` (another binlog state) never had: for each
    /// (domain, server) we hold, the reference must hold a sequence at least as high.
    pub fn errant_against(&self, reference: &GtidList) -> Vec<Gtid> {
        self.0
            .iter()
            .filter(|g| {
                !reference
                    .0
                    .iter()
                    .any(|r| r.domain == g.domain && r.server == g.server && r.seq >= g.seq)
            })
            .copied()
            .collect()
    }

    /// What this position holds that position `other` lacks: per domain, the sequence numbers
    /// past `other`'s, as (first, last) GTIDs. A domain's sequence numbers follow one another,
    /// so the range is exact; it carries the server id of its last GTID.
    pub fn beyond(&self, other: &GtidList) -> Vec<(Gtid, Gtid)> {
        let theirs = other.by_domain();
        let mut last: BTreeMap<u32, Gtid> = BTreeMap::new();
        for g in &self.0 {
            let entry = last.entry(g.domain).or_insert(*g);
            if g.seq > entry.seq {
                *entry = *g;
            }
        }
        last.into_values()
            .filter_map(|g| {
                let from = theirs.get(&g.domain).copied().unwrap_or(0) + 1;
                (from <= g.seq).then_some((Gtid { seq: from, ..g }, g))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> GtidList {
        s.parse().unwrap()
    }

    #[test]
    fn parses_multi_domain_lists() {
        let list = l("0-1-23743,1-2-5");
        assert_eq!(list.0.len(), 2);
        assert_eq!(
            list.0[1],
            Gtid {
                domain: 1,
                server: 2,
                seq: 5
            }
        );
        assert_eq!(list.to_string(), "0-1-23743,1-2-5");
        assert!(l("").is_empty());
        assert!("0-1".parse::<GtidList>().is_err());
        assert!("0-x-1".parse::<GtidList>().is_err());
    }

    #[test]
    fn includes_compares_per_domain() {
        assert!(l("0-1-10").includes(&l("0-1-10")));
        assert!(l("0-2-11").includes(&l("0-1-10")));
        assert!(!l("0-1-9").includes(&l("0-1-10")));
        assert!(!l("0-1-10").includes(&l("0-1-10,1-1-1")));
        assert!(l("0-1-10").includes(&l("")));
    }

    #[test]
    fn errant_transactions_are_found_per_server() {
        let primary = l("0-1-100,0-2-50");
        assert!(l("0-1-100").errant_against(&primary).is_empty());
        assert!(l("0-1-90,0-2-50").errant_against(&primary).is_empty());
        assert_eq!(
            l("0-3-1").errant_against(&primary),
            vec![Gtid {
                domain: 0,
                server: 3,
                seq: 1
            }]
        );
        assert_eq!(l("0-1-101").errant_against(&primary).len(), 1);
    }

    #[test]
    fn beyond_lists_the_sequence_numbers_the_other_lacks() {
        let g = |d, s, n| Gtid {
            domain: d,
            server: s,
            seq: n,
        };
        assert_eq!(
            l("0-1-7").beyond(&l("0-1-6")),
            vec![(g(0, 1, 7), g(0, 1, 7))]
        );
        assert_eq!(
            l("0-2-9,1-1-3").beyond(&l("0-1-5")),
            vec![(g(0, 2, 6), g(0, 2, 9)), (g(1, 1, 1), g(1, 1, 3))]
        );
        assert!(l("0-1-6").beyond(&l("0-1-6")).is_empty());
        assert!(l("0-1-5").beyond(&l("0-1-6")).is_empty());
    }
}
