//! Kept data (after `delete --keep-data`): which member becomes the primary again. The member
//! whose binary log state includes every other member's is the only safe choice: promoting
//! any other would throw away a transaction that a member holds (and that may have been
//! acknowledged to a client). The record of the last primary is preferred when it is safe.
use crate::db::engine::Gtids;
use std::fmt::Write as _;

/// A member that holds data, and its history (MariaDB `@@gtid_binlog_state`, MySQL
/// `@@gtid_executed`).
#[derive(Debug, Clone)]
pub struct KeptMember {
    pub name: String,
    pub history: Gtids,
}

/// What create does with kept data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub primary: String,
    /// Members holding transactions the primary lacks (only when the user chose the primary):
    /// they are re-cloned from it.
    pub discard: Vec<(String, Gtids)>,
}

/// Chooses the primary among `members`. `record` is the primary of record kept by delete;
/// `chosen` is the user's `--primary`. Without `chosen`, diverged histories are an error that
/// names every member's transactions the others lack.
pub fn choose_primary(
    cluster: &str,
    members: &[KeptMember],
    record: Option<&str>,
    chosen: Option<&str>,
) -> Result<Choice, String> {
    if members.is_empty() {
        return Err(format!("cluster {cluster}: no member holds data"));
    }
    if let Some(chosen) = chosen {
        let Some(primary) = members.iter().find(|m| m.name == chosen) else {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "--primary {chosen} holds no kept data (members with data: {})",
                names.join(", ")
            ));
        };
        let discard = members
            .iter()
            .filter(|m| m.name != chosen)
            .map(|m| (m.name.clone(), m.history.errant_against(&primary.history)))
            .filter(|(_, extra)| !extra.is_empty())
            .collect();
        return Ok(Choice {
            primary: chosen.to_string(),
            discard,
        });
    }
    let includes_all = |c: &KeptMember| {
        members
            .iter()
            .all(|m| m.history.errant_against(&c.history).is_empty())
    };
    let candidates: Vec<&KeptMember> = members.iter().filter(|m| includes_all(m)).collect();
    let primary = candidates
        .iter()
        .find(|c| Some(c.name.as_str()) == record)
        .or_else(|| candidates.first());
    if let Some(primary) = primary {
        return Ok(Choice {
            primary: primary.name.clone(),
            discard: vec![],
        });
    }
    Err(divergence(cluster, members))
}

/// "histories diverge: db-0 holds 0-1-9 that db-1 lacks; …" and the way out.
fn divergence(cluster: &str, members: &[KeptMember]) -> String {
    let mut text = format!("the kept members of cluster {cluster} have diverged histories, so no member can be the primary without losing another's transactions:");
    for m in members {
        for other in members.iter().filter(|o| o.name != m.name) {
            let extra = m.history.errant_against(&other.history);
            if !extra.is_empty() {
                let _ = write!(
                    text,
                    " {} holds {} that {} lacks;",
                    m.name, extra, other.name
                );
            }
        }
    }
    let _ = write!(
        text,
        " nothing was changed. Way out: choose the member whose history to keep and run `kubectl mysqlha create {cluster} --primary POD`: members holding transactions it lacks are re-cloned from it and lose them"
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, state: &str) -> KeptMember {
        KeptMember {
            name: name.into(),
            history: crate::db::engine::Engine::Mariadb
                .parse_gtids(state)
                .unwrap(),
        }
    }

    #[test]
    fn the_member_that_includes_every_other_is_chosen_even_against_the_record() {
        // db-0 lagged: the record says db-0 (stale), but db-2 has everything.
        let members = [
            m("db-0", "0-1-5"),
            m("db-1", "0-1-5,0-3-7"),
            m("db-2", "0-1-5,0-3-9"),
        ];
        let c = choose_primary("db", &members, Some("db-0"), None).unwrap();
        assert_eq!(c.primary, "db-2");
        assert!(c.discard.is_empty());
    }

    #[test]
    fn the_record_wins_among_equals() {
        let members = [
            m("db-0", "0-1-5,0-3-9"),
            m("db-1", "0-1-5,0-3-9"),
            m("db-2", "0-1-5,0-3-9"),
        ];
        let c = choose_primary("db", &members, Some("db-2"), None).unwrap();
        assert_eq!(c.primary, "db-2");
        let c = choose_primary("db", &members, None, None).unwrap();
        assert_eq!(c.primary, "db-0");
    }

    #[test]
    fn diverged_histories_are_refused_naming_the_errant_gtids() {
        let members = [m("db-0", "0-1-12"), m("db-1", "0-1-10,0-2-3")];
        let e = choose_primary("db", &members, Some("db-0"), None).unwrap_err();
        assert!(e.contains("db-0 holds 0-1-12 that db-1 lacks"), "{e}");
        assert!(e.contains("db-1 holds 0-2-3 that db-0 lacks"), "{e}");
        assert!(e.contains("create db --primary POD"), "{e}");
    }

    #[test]
    fn a_chosen_primary_discards_the_members_that_hold_more() {
        let members = [
            m("db-0", "0-1-12"),
            m("db-1", "0-1-10,0-2-3"),
            m("db-2", "0-1-11"),
        ];
        let c = choose_primary("db", &members, None, Some("db-0")).unwrap();
        assert_eq!(c.primary, "db-0");
        assert_eq!(c.discard.len(), 1);
        assert_eq!(c.discard[0].0, "db-1");
        assert!(choose_primary("db", &members, None, Some("db-7")).is_err());
    }
}
