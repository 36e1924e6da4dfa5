//! Server settings set by `kubectl mysqlha set --set key=value`: checked against the running
//! server before anything changes, applied with SET GLOBAL on every member (no restart), and
//! kept in the cluster's ConfigMap (key settings.cnf, under a field manager of its own so that
//! re-rendering the ConfigMap keeps it) for every later start of a member.
use crate::cluster::Cluster;
use crate::sql;
use crate::sqltext::quote;
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::collections::BTreeMap;

/// The ConfigMap key write-config.sh includes after the role's settings.
pub const SETTINGS_KEY: &str = "settings.cnf";
const SETTINGS_MANAGER: &str = "kubectl-mysqlha-settings";

/// Settings the plugin itself manages (roles, replication, durability): never set by hand.
const MANAGED: &[&str] = &[
    "read_only",
    "super_read_only",
    "server_id",
    "log_bin",
    "log_bin_index",
    "relay_log",
    "relay_log_index",
    "log_slave_updates",
    "log_replica_updates",
    "binlog_format",
    "gtid_strict_mode",
    "gtid_mode",
    "enforce_gtid_consistency",
    "sync_binlog",
    "innodb_flush_log_at_trx_commit",
    "datadir",
    "socket",
    "port",
    "bind_address",
    "report_host",
    "skip_slave_start",
    "skip_replica_start",
];

/// `key=value` from the command line: the key a variable name, the value without newlines.
pub fn parse(text: &str) -> Result<(String, String)> {
    let Some((key, value)) = text.split_once('=') else {
        bail!("--set {text}: expected key=value");
    };
    let key = key.trim().replace('-', "_").to_ascii_lowercase();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("--set {text}: '{key}' is not a server variable name");
    }
    if value.is_empty() || value.contains(['\n', '\r']) {
        bail!("--set {text}: the value must be one non-empty line");
    }
    if MANAGED.contains(&key.as_str())
        || key.starts_with("rpl_semi_sync")
        || key.starts_with("gtid_")
    {
        bail!("--set {text}: {key} is managed by the plugin (roles, replication, durability)");
    }
    Ok((key, value.to_string()))
}

/// The value as SQL: numbers and words as they are (ON, 200, 1G), anything else quoted.
fn sql_value(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
    {
        value.to_string()
    } else {
        quote(value)
    }
}

/// Checks each setting on `pod`'s server: it must be dynamic and accept the value (set, then
/// set back to what it was, in one session). Nothing is left changed.
pub async fn check(cluster: &Cluster, pod: &str, settings: &[(String, String)]) -> Result<()> {
    for (key, value) in settings {
        let statements = format!(
            "SET @mysqlha_was = @@GLOBAL.{key};\nSET GLOBAL {key} = {};\nSET GLOBAL {key} = @mysqlha_was;\n",
            sql_value(value)
        );
        if let Err(e) = sql::execute(cluster.server(pod), &statements).await {
            // The server's own words: "ERROR 1232 (42000) at line 2: Incorrect argument ...".
            let all = format!("{e:#}").replace('\n', " ");
            let why = all
                .find("ERROR ")
                .map_or(all.as_str(), |at| &all[at..])
                .trim_end_matches(|c: char| c == ' ' || c == '|')
                .to_string();
            if why.contains("read only variable") || why.contains("read-only variable") {
                bail!("{key} cannot be changed on a running server ({why}); only dynamic settings can be set; nothing changed");
            }
            bail!("the server rejects {key}={value}: {why}; nothing changed");
        }
    }
    Ok(())
}

/// Applies the settings on `pod` (SET GLOBAL), no restart.
pub async fn apply_on(cluster: &Cluster, pod: &str, settings: &[(String, String)]) -> Result<()> {
    let statements: String = settings
        .iter()
        .map(|(k, v)| format!("SET GLOBAL {k} = {};\n", sql_value(v)))
        .collect();
    sql::execute(cluster.server(pod), &statements)
        .await
        .with_context(|| format!("{pod}: cannot apply the settings"))
}

/// The settings kept in the ConfigMap so far, merged with `new`, written back as settings.cnf.
pub async fn record(cluster: &Cluster, new: &[(String, String)]) -> Result<()> {
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let current = configs
        .get(&cluster.name)
        .await
        .with_context(|| format!("cannot read ConfigMap {}", cluster.name))?;
    let mut all: BTreeMap<String, String> = current
        .data
        .as_ref()
        .and_then(|d| d.get(SETTINGS_KEY))
        .map(|text| parse_cnf(text))
        .unwrap_or_default();
    all.extend(new.iter().cloned());
    let cnf: String = std::iter::once("[mysqld]\n".to_string())
        .chain(all.iter().map(|(k, v)| format!("{k}={v}\n")))
        .collect();
    let patch = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": cluster.name },
        "data": { SETTINGS_KEY: cnf },
    });
    configs
        .patch(
            &cluster.name,
            &PatchParams::apply(SETTINGS_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .with_context(|| format!("cannot record the settings in ConfigMap {}", cluster.name))?;
    Ok(())
}

fn parse_cnf(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_variable_names_and_one_line_values() {
        assert_eq!(
            parse("max-connections=300").unwrap(),
            ("max_connections".into(), "300".into())
        );
        assert!(parse("max_connections").is_err());
        assert!(parse("max connections=3").is_err());
        assert!(parse("x=;DROP DATABASE app").is_ok_and(|(_, v)| sql_value(&v).starts_with('\'')));
        assert!(parse("read_only=OFF").is_err());
        assert!(parse("rpl_semi_sync_master_enabled=OFF").is_err());
        assert_eq!(sql_value("ON"), "ON");
        assert_eq!(parse_cnf("[mysqld]\na=1\nb=x y\n")["b"], "x y");
    }
}
