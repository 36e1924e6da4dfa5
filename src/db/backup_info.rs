//! The position a physical backup was taken at, read from mariadb-backup's info files.
use crate::db::gtid::GtidList;
use anyhow::{bail, Context, Result};

/// `xtrabackup_binlog_info`: `file<TAB>position<TAB>gtid_list`.
pub fn gtid_from_binlog_info(text: &str) -> Result<GtidList> {
    let line = text.lines().next().unwrap_or("");
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() < 3 {
        bail!("xtrabackup_binlog_info has no GTID list: '{line}'");
    }
    fields[2].trim().parse().context("xtrabackup_binlog_info")
}

/// `xtrabackup_slave_info` (backup of a replica taken with --slave-info):
/// `SET GLOBAL gtid_slave_pos = '0-1-23';` then `CHANGE MASTER TO master_use_gtid = slave_pos;`.
pub fn gtid_from_slave_info(text: &str) -> Result<GtidList> {
    let start = text
        .find("gtid_slave_pos")
        .context("xtrabackup_slave_info names no gtid_slave_pos")?;
    let rest = &text[start..];
    let open = rest
        .find('\'')
        .context("xtrabackup_slave_info: no quoted GTID list")?;
    let close = rest[open + 1..]
        .find('\'')
        .context("xtrabackup_slave_info: unterminated GTID list")?;
    rest[open + 1..open + 1 + close]
        .parse()
        .context("xtrabackup_slave_info")
}

/// The position to replicate from: the replica's applied position when the donor was a
/// replica that had applied GTIDs, else the donor's binlog position. (A replica that has applied
/// nothing yet writes `CHANGE MASTER TO MASTER_LOG_FILE=…` without any gtid_slave_pos.)
pub fn backup_gtid(slave_info: Option<&str>, binlog_info: Option<&str>) -> Result<GtidList> {
    match (
        slave_info.filter(|s| s.contains("gtid_slave_pos")),
        binlog_info,
    ) {
        (Some(s), _) => gtid_from_slave_info(s),
        (None, Some(b)) => gtid_from_binlog_info(b),
        (None, None) => {
            bail!("the backup holds neither xtrabackup_slave_info nor xtrabackup_binlog_info")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_info_with_several_domains() {
        let g = gtid_from_binlog_info("mysql-bin.000003\t1234\t0-1-23743,1-2-5\n").unwrap();
        assert_eq!(g.to_string(), "0-1-23743,1-2-5");
    }

    #[test]
    fn binlog_info_of_a_fresh_primary_has_an_empty_list() {
        assert!(gtid_from_binlog_info("mysql-bin.000001\t329\t\n")
            .unwrap()
            .is_empty());
        assert!(gtid_from_binlog_info("garbage").is_err());
    }

    #[test]
    fn slave_info_wins_over_binlog_info() {
        let slave = "SET GLOBAL gtid_slave_pos = '0-1-23743,2-3-4';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n";
        let g = backup_gtid(Some(slave), Some("mysql-bin.000001\t1\t0-2-99")).unwrap();
        assert_eq!(g.to_string(), "0-1-23743,2-3-4");
        let g = backup_gtid(Some(""), Some("mysql-bin.000001\t1\t0-2-99")).unwrap();
        assert_eq!(g.to_string(), "0-2-99");
        assert!(backup_gtid(None, None).is_err());
        let fresh_replica =
            "CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=328;\n";
        let g = backup_gtid(Some(fresh_replica), Some("mysql-bin.000001\t328\t")).unwrap();
        assert!(g.is_empty());
    }
}
