//! The test bed's Prometheus (tests/testbed/up: a host process scraping every annotated pod
//! every 5 s): the plugin's alert rules loaded into it, and instant queries.
use super::{eventually, run, PLUGIN};
use std::time::Duration;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("${name} is not set: bring the test bed up with `eval \"$(tests/testbed/up)\"`")
    })
}

/// Writes `kubectl mysqlha alerts` into the bed's rules directory, checks it with promtool and
/// has Prometheus reload it (the same file every time: tests may do this concurrently).
pub fn load_alert_rules() {
    let rules = run(PLUGIN, &["alerts"], None).ok().stdout;
    let dir = var("MYSQLHA_PROMETHEUS_RULES");
    let scratch = format!("{dir}/.mysqlha.yaml.{}", std::process::id());
    std::fs::write(&scratch, &rules).unwrap();
    let checked = run(
        &var("MYSQLHA_PROMTOOL"),
        &["check", "rules", &scratch],
        None,
    );
    assert_eq!(
        checked.code, 0,
        "promtool refuses the rules: {}{}",
        checked.stdout, checked.stderr
    );
    std::fs::rename(&scratch, format!("{dir}/mysqlha.yaml")).unwrap();
    let url = format!("{}/-/reload", var("MYSQLHA_PROMETHEUS_URL"));
    run("curl", &["-sf", "-X", "POST", &url], None).ok();
}

/// One series of a query's answer: its labels and value.
#[derive(Debug, Clone)]
pub struct Series {
    pub labels: serde_json::Map<String, serde_json::Value>,
    pub value: f64,
}

impl Series {
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }
}

/// An instant query's series (empty when none, or when Prometheus did not answer).
pub fn query(expr: &str) -> Vec<Series> {
    let url = format!("{}/api/v1/query", var("MYSQLHA_PROMETHEUS_URL"));
    let q = format!("query={expr}");
    let out = run(
        "curl",
        &["-sG", "--max-time", "5", &url, "--data-urlencode", &q],
        None,
    );
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(&out.stdout) else {
        return vec![];
    };
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| Series {
            labels: s["metric"].as_object().cloned().unwrap_or_default(),
            value: s["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
        })
        .collect()
}

/// Waits until `expr` returns at least one series; returns them.
pub fn wait_for_series(what: &str, expr: &str, limit: Duration) -> Vec<Series> {
    let mut found = vec![];
    eventually(what, limit, || {
        found = query(expr);
        !found.is_empty()
    });
    found
}

/// The metrics docs/metrics.md documents (its table), with whether each needs backups.
pub fn documented_metrics() -> Vec<(String, bool)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    doc.lines()
        .filter_map(|l| {
            let name = l.strip_prefix("| `")?.split('`').next()?;
            name.starts_with("mysqlha_")
                .then(|| (name.to_string(), l.contains("(with backups)")))
        })
        .collect()
}

/// When the alert `name` on cluster `cluster` of `namespace` became active (Unix time), for
/// the first instance firing now that became active after `after` (Unix time).
pub fn firing_since(name: &str, namespace: &str, cluster: &str, after: f64) -> Option<f64> {
    let url = format!("{}/api/v1/alerts", var("MYSQLHA_PROMETHEUS_URL"));
    let out = run("curl", &["-s", "--max-time", "5", &url], None);
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    answer["data"]["alerts"]
        .as_array()?
        .iter()
        .filter(|a| {
            a["labels"]["alertname"] == name
                && a["labels"]["namespace"] == namespace
                && a["labels"]["cluster"] == cluster
                && a["state"] == "firing"
        })
        .filter_map(|a| {
            let at = a["activeAt"].as_str()?;
            let unix = run("date", &["-d", at, "+%s.%N"], None).stdout;
            unix.trim().parse::<f64>().ok()
        })
        .filter(|at| *at >= after)
        .reduce(f64::min)
}

/// Now, as Unix time.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
