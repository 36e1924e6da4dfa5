//! The cooldown rule, which stops automatic failovers from flapping:
//!
//! After an automatic failover, the agent makes **one more** within the cooldown when the
//! primary is lost again (the new primary lost too, confirmed the same way: silent for the
//! grace time, no replica receiving from it, a candidate the failover's safety checks accept).
//! That second failover starts a new cooldown in which a lost primary waits for a person
//! (`kubectl mysqlha failover`): two lost primaries in a row may be bad luck, a third is a
//! pattern (a query that kills every server it reaches, a node pool going down) that moving the
//! primary again would not cure.
//!
//! The state lives in an annotation of the agent's Lease, so a standby that takes over keeps it.
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The last automatic failover, as the Lease keeps it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct LastFailover {
    pub at: Timestamp,
    /// The member it promoted.
    pub promoted: String,
    /// It was the one failover allowed within a cooldown.
    pub within_cooldown: bool,
}

/// What the rule allows now.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// No cooldown runs: fail over.
    Free,
    /// A cooldown runs, and this is the one failover allowed within it.
    Second,
    /// A cooldown runs and its failover was used: wait for a person (the reason said).
    Wait(String),
}

impl LastFailover {
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("a serializable failover record")
    }

    /// The annotation's value; None when absent or unreadable (then no cooldown runs).
    pub fn from_annotation(value: Option<&str>) -> Option<Self> {
        serde_json::from_str(value?).ok()
    }

    /// When its cooldown ends.
    pub fn cooldown_until(&self, cooldown: Duration) -> Timestamp {
        self.at + SignedDuration::try_from(cooldown).unwrap_or_default()
    }
}

/// The rule (see the module's documentation).
pub fn decide(last: Option<&LastFailover>, cooldown: Duration, now: Timestamp) -> Verdict {
    let Some(last) = last else {
        return Verdict::Free;
    };
    if now >= last.cooldown_until(cooldown) {
        return Verdict::Free;
    }
    if !last.within_cooldown {
        return Verdict::Second;
    }
    Verdict::Wait(format!(
        "the last automatic failover (to {} at {}) was already the second within a cooldown; the next may run after {}",
        last.promoted,
        last.at,
        last.cooldown_until(cooldown)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(within_cooldown: bool) -> LastFailover {
        LastFailover {
            at: "2026-12-02T00:00:00Z".parse().unwrap(),
            promoted: "shop-1".into(),
            within_cooldown,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn one_more_failover_within_a_cooldown_then_a_person_decides() {
        let five_minutes = Duration::from_secs(300);
        assert_eq!(
            decide(None, five_minutes, at("2026-12-02T00:01:00Z")),
            Verdict::Free
        );
        let first = last(false);
        assert_eq!(
            decide(Some(&first), five_minutes, at("2026-12-02T00:01:00Z")),
            Verdict::Second
        );
        let second = last(true);
        let Verdict::Wait(why) = decide(Some(&second), five_minutes, at("2026-12-02T00:04:59Z"))
        else {
            panic!("a third failover within the cooldown");
        };
        assert!(
            why.contains("shop-1") && why.contains("2026-12-02T00:05:00Z"),
            "{why}"
        );
        assert_eq!(
            decide(Some(&second), five_minutes, at("2026-12-02T00:05:00Z")),
            Verdict::Free
        );
    }

    #[test]
    fn the_record_survives_the_lease_annotation() {
        let record = last(true);
        let kept = LastFailover::from_annotation(Some(&record.to_annotation()));
        assert_eq!(kept, Some(record));
        assert_eq!(LastFailover::from_annotation(Some("not json")), None);
        assert_eq!(LastFailover::from_annotation(None), None);
    }
}
