//! The alert rules shipped with the plugin (`kubectl mysqlha alerts`), on the agent's metrics
//! (agent/metrics.rs, docs/metrics.md): as a Prometheus rules file, or as a PrometheusRule for
//! the prometheus-operator. Each alert's description names the command that fixes it, the same
//! remedies `status` gives.
use serde::Serialize;
use std::collections::BTreeMap;

/// How often Prometheus evaluates the shipped rules.
pub const RULES_INTERVAL: &str = "2s";

/// A rules file: its groups.
#[derive(Serialize, Debug)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Serialize, Debug)]
pub struct RuleGroup {
    pub name: String,
    /// How often Prometheus evaluates the group: short, so that an alert on a lost primary
    /// fires within a scrape or two of it.
    pub interval: String,
    pub rules: Vec<Rule>,
}

#[derive(Serialize, Debug)]
pub struct Rule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// How urgent an alert is (its `severity` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Writes stop or may be lost: a person now.
    Critical,
    /// Redundancy or recoverability is reduced: a person today.
    Warning,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// `{{ $labels.cluster }} in {{ $labels.namespace }}`, for the texts.
const WHERE: &str = "cluster {{ $labels.cluster }} in namespace {{ $labels.namespace }}";
/// The arguments every command in a remedy takes.
const NAME_NS: &str = "{{ $labels.cluster }} -n {{ $labels.namespace }}";

fn rule(
    alert: &str,
    severity: Severity,
    expr: &str,
    for_: Option<&str>,
    summary: String,
    remedy: String,
) -> Rule {
    Rule {
        alert: alert.into(),
        expr: expr.into(),
        for_: for_.map(str::to_string),
        labels: BTreeMap::from([("severity".to_string(), severity.word().to_string())]),
        annotations: BTreeMap::from([
            ("summary".to_string(), summary),
            ("description".to_string(), remedy),
        ]),
    }
}

/// Seconds a primary must have been silent before the alert, unless the agent judged it lost
/// sooner (a failover may end a silence within a second): 2 s is more than any switchover's.
pub const PRIMARY_SILENT_SECONDS: u32 = 2;
/// How long the alert on a lost primary stays after its silence ended (a failover may end it
/// within seconds: the alert must still be seen).
pub const PRIMARY_LOST_KEPT_SECONDS: u32 = 300;

/// Every alert, in one group.
pub fn rules() -> RuleFile {
    use Severity::{Critical, Warning};
    let rules = vec![
        rule(
            "MysqlhaPrimaryLost",
            Critical,
            &format!(
                "(mysqlha_primary_last_silence_seconds >= {PRIMARY_SILENT_SECONDS} or mysqlha_primary_last_silence_judged_lost == 1) and (time() - mysqlha_primary_last_silence_start_timestamp_seconds) < {PRIMARY_LOST_KEPT_SECONDS}"
            ),
            None,
            format!("The primary {{{{ $labels.member }}}} of {WHERE} stopped answering at {{{{ $labels.started }}}}"),
            format!("Writes stop while the primary is silent. The agent fails over by itself when the replicas agree it is lost; see what it did with `kubectl mysqlha status {NAME_NS}`. Without an agent: `kubectl mysqlha failover {NAME_NS}`. This alert stays {PRIMARY_LOST_KEPT_SECONDS}s after the silence ends."),
        ),
        rule(
            "MysqlhaFailoverRefused",
            Critical,
            "increase(mysqlha_agent_decisions_total{reason=\"FailoverRefused\"}[5m]) > 0",
            None,
            format!("The agent of {WHERE} refused an automatic failover"),
            format!("The agent found no safe candidate (the reason is its FailoverRefused Event). `kubectl mysqlha status {NAME_NS}` says what is wrong; `kubectl mysqlha failover {NAME_NS} --dry-run` shows what a failover by hand would do."),
        ),
        rule(
            "MysqlhaAgentWithoutLeader",
            Warning,
            "sum by (namespace, cluster) (mysqlha_agent_leader) < 1",
            Some("30s"),
            format!("No agent pod leads {WHERE}: no automatic failover"),
            format!("`kubectl mysqlha status {NAME_NS}` shows the agent's state; `kubectl -n {{{{ $labels.namespace }}}} get pods -l app.kubernetes.io/component=agent` why its pods do not run; `kubectl mysqlha agent enable {NAME_NS}` deploys it again."),
        ),
        rule(
            "MysqlhaReplicaStopped",
            Warning,
            "mysqlha_member_io_thread_connected == 0 or mysqlha_member_sql_thread_running == 0",
            Some("1m"),
            format!("Replica {{{{ $labels.member }}}} of {WHERE} does not replicate"),
            format!("`kubectl mysqlha status {NAME_NS}` shows its threads and their last error; `kubectl mysqlha rebuild-replica {NAME_NS} {{{{ $labels.member }}}}` clones it anew from a healthy member."),
        ),
        rule(
            "MysqlhaReplicaLagging",
            Warning,
            "mysqlha_member_lag_seconds > 30",
            Some("2m"),
            format!("Replica {{{{ $labels.member }}}} of {WHERE} is {{{{ $value }}}}s behind"),
            format!("A failover would wait for it to apply what it received. `kubectl mysqlha status {NAME_NS}` shows every member's lag; a replica that never catches up may need more resources or `kubectl mysqlha rebuild-replica {NAME_NS} {{{{ $labels.member }}}}`."),
        ),
        rule(
            "MysqlhaErrantTransactions",
            Critical,
            "mysqlha_member_errant_gtid_sets > 0",
            Some("30s"),
            format!("Member {{{{ $labels.member }}}} of {WHERE} holds transactions the primary lacks"),
            format!("It cannot become primary without losing or diverging data. `kubectl mysqlha status {NAME_NS}` names the GTIDs; `kubectl mysqlha rebuild-replica {NAME_NS} {{{{ $labels.member }}}}` replaces its data with the primary's (keep what you need first)."),
        ),
        rule(
            "MysqlhaSemiSyncWaiting",
            Warning,
            "mysqlha_semi_sync_longest_wait_seconds > 5",
            Some("15s"),
            format!("Commits on the primary of {WHERE} wait for a replica's acknowledgement"),
            format!("No replica acknowledges: commits hang until one does or the wait times out. `kubectl mysqlha status {NAME_NS}` shows the acknowledging replicas."),
        ),
        rule(
            "MysqlhaCommitsAsynchronous",
            Warning,
            "mysqlha_semi_sync_fell_back_to_async == 1",
            Some("1m"),
            format!("Commits on the primary of {WHERE} no longer wait for a replica"),
            format!("Semi-sync fell back to asynchronous: a failover now may lose acknowledged writes. `kubectl mysqlha status {NAME_NS}` shows which replicas are connected."),
        ),
        rule(
            "MysqlhaClusterNotHealthy",
            Warning,
            "mysqlha_cluster_verdict{verdict!=\"healthy\"} == 1",
            Some("2m"),
            format!("{WHERE} is {{{{ $labels.verdict }}}}"),
            format!("`kubectl mysqlha status {NAME_NS}` gives the reasons and the command that fixes each."),
        ),
        rule(
            "MysqlhaArchiveBehind",
            Warning,
            "mysqlha_archive_behind_seconds > 300 or mysqlha_archive_readable == 0",
            Some("5m"),
            format!("The binary-log archive of {WHERE} does not follow"),
            format!("Point-in-time recovery cannot reach the last minutes, and binary logs that are not archived are not purged (the disk fills). `kubectl mysqlha status {NAME_NS}` shows the archive's state and its error."),
        ),
        rule(
            "MysqlhaCertificateExpiring",
            Warning,
            "mysqlha_member_certificate_expiry_timestamp_seconds - time() < 30 * 86400",
            Some("1h"),
            format!("The TLS certificate of {{{{ $labels.member }}}} of {WHERE} expires within 30 days"),
            format!("Replicas stop connecting to a member whose certificate expired. `kubectl mysqlha tls rotate {NAME_NS}` issues new ones."),
        ),
        rule(
            "MysqlhaMetricsStale",
            Warning,
            "mysqlha_report_age_seconds > 60",
            Some("2m"),
            format!("The agent of {WHERE} has not read the cluster for over a minute"),
            format!("The other alerts see old figures. The agent's log says why (`kubectl -n {{{{ $labels.namespace }}}} logs deploy/{{{{ $labels.cluster }}}}-agent`); `kubectl mysqlha status {NAME_NS}` reads the cluster directly."),
        ),
    ];
    RuleFile {
        groups: vec![RuleGroup {
            name: "mysqlha".into(),
            // Every 2 s: a lost primary's silence reaches Prometheus with a scrape (every 5 s
            // here) and pages at the next evaluation; 5 s evaluations made the worst case
            // ~2 + 1 + 5 + 5 s, over the 10 s a page should take.
            interval: RULES_INTERVAL.into(),
            rules,
        }],
    }
}

/// The same rules as a PrometheusRule (monitoring.coreos.com/v1) named `name`, in `namespace`
/// when given (else `kubectl apply` puts it in its current one).
pub fn prometheus_rule(name: &str, namespace: Option<&str>) -> serde_yaml::Value {
    let spec = serde_yaml::to_value(rules()).expect("rules serialize");
    let mut object = serde_yaml::Mapping::new();
    object.insert("apiVersion".into(), "monitoring.coreos.com/v1".into());
    object.insert("kind".into(), "PrometheusRule".into());
    let mut metadata = serde_yaml::Mapping::new();
    metadata.insert("name".into(), name.into());
    if let Some(namespace) = namespace {
        metadata.insert("namespace".into(), namespace.into());
    }
    let mut labels = serde_yaml::Mapping::new();
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "kubectl-mysqlha".into(),
    );
    metadata.insert("labels".into(), labels.into());
    object.insert("metadata".into(), metadata.into());
    object.insert("spec".into(), spec);
    object.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_a_severity_a_summary_and_a_remedy_naming_a_command() {
        let file = rules();
        let rules = &file.groups[0].rules;
        assert!(rules.len() >= 10);
        let mut names: Vec<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rules.len(), "alert names are unique");
        for r in rules {
            assert!(r.alert.starts_with("Mysqlha"), "{}", r.alert);
            assert!(
                ["critical", "warning"].contains(&r.labels["severity"].as_str()),
                "{}",
                r.alert
            );
            assert!(r.expr.contains("mysqlha_"), "{}", r.alert);
            assert!(
                r.annotations["description"].contains("kubectl "),
                "{}: its description names no command",
                r.alert
            );
            assert!(
                r.annotations["summary"].contains("{{ $labels.cluster }}"),
                "{}",
                r.alert
            );
        }
    }

    #[test]
    fn the_primary_lost_alert_fires_at_once_and_stays_after_a_quick_failover() {
        let file = rules();
        let lost = file.groups[0]
            .rules
            .iter()
            .find(|r| r.alert == "MysqlhaPrimaryLost")
            .unwrap();
        // No `for`: the sticky silence figures make it last; a `for` would only delay it.
        assert_eq!(lost.for_, None);
        assert!(lost
            .expr
            .contains("mysqlha_primary_last_silence_seconds >= 2"));
        assert!(lost.expr.contains("< 300"));
        assert_eq!(file.groups[0].interval, "2s");
    }

    #[test]
    fn the_prometheus_rule_wraps_the_same_groups() {
        let object = prometheus_rule("shop-alerts", Some("apps"));
        assert_eq!(object["kind"], "PrometheusRule");
        assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(object["metadata"]["namespace"], "apps");
        assert_eq!(
            object["spec"]["groups"][0]["rules"][0]["alert"],
            "MysqlhaPrimaryLost"
        );
        let yaml = serde_yaml::to_string(&rules()).unwrap();
        assert!(yaml.contains("for: 1m"), "{yaml}");
        assert!(!yaml.contains("for_"), "{yaml}");
    }
}
