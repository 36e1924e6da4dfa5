//! Server settings set by `kubectl mysqlha set --set key=value`: checked against the running
//! server before anything changes, kept in the cluster's ConfigMap (key settings.cnf, under a
//! field manager of its own so that re-rendering the ConfigMap keeps it) for every later start
//! of a member, and applied with SET GLOBAL on every member when the server can change them at
//! runtime. The others take effect at a restart: the pod template names them (annotation
//! RESTART_ANNOTATION) so that a rolling restart knows which pods started without them.
use crate::cluster::Cluster;
use crate::db::sqltext::quote;
use crate::{cluster::sql, k8s::exec};
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::collections::BTreeMap;

/// The ConfigMap key write-config.sh includes after the role's settings.
pub const SETTINGS_KEY: &str = "settings.cnf";
const SETTINGS_MANAGER: &str = "kubectl-mysqlha-settings";

/// Pod template annotation: the settings that need a restart, one `key=value` a line. A pod
/// whose annotation differs started without some of them.
pub const RESTART_ANNOTATION: &str = "mysqlha.io/restart-settings";

/// `current` (an annotation's value) with `new` merged in, as the annotation's value.
pub fn merged_restart_settings(current: Option<&str>, new: &[(String, String)]) -> String {
    let mut all = current.map(parse_cnf).unwrap_or_default();
    all.extend(new.iter().cloned());
    all.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

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

/// Checks each setting on `pod`'s server before anything changes. A dynamic setting must accept
/// the value (set, then set back to what it was, in one session: nothing is left changed). A
/// setting the server cannot change at runtime needs a restart: its value is checked by the
/// server binary's own option parsing (`option_check`). Returns the settings that need a restart.
pub async fn check(
    cluster: &Cluster,
    pod: &str,
    settings: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut need_restart = Vec::new();
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
                .trim_end_matches([' ', '|'])
                .to_string();
            if why.contains("read only variable") || why.contains("read-only variable") {
                option_check(cluster, pod, key, value).await?;
                need_restart.push((key.clone(), value.clone()));
                continue;
            }
            bail!("the server rejects {key}={value}: {why}; nothing changed");
        }
    }
    Ok(need_restart)
}

/// Runs the server binary's check of `--key=value` in `pod`'s container: an error, or a warning
/// naming the option (a value adjusted into range), refuses the setting.
async fn option_check(cluster: &Cluster, pod: &str, key: &str, value: &str) -> Result<()> {
    let option = format!("--{key}={value}");
    let mut command = vec!["sh", "-c", "\"$@\" 2>&1 >/dev/null; echo \"exit $?\"", "sh"];
    command.extend(cluster.engine.option_check_command());
    command.push(&option);
    let out = exec::run(cluster.server(pod), &command, None)
        .await
        .with_context(|| format!("{pod}: cannot run the server's check of {key}={value}"))?;
    if let Some(why) = option_refusal(&out.stdout, key) {
        bail!("the server rejects {key}={value} at start: {why}; nothing changed");
    }
    Ok(())
}

/// Why the server's option check (its log lines, then "exit N") refuses `key`, if it does.
fn option_refusal(output: &str, key: &str) -> Option<String> {
    let failed = !output.lines().any(|l| l.trim() == "exit 0");
    let named = format!("'{key}'");
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("[ERROR]") || (l.contains("[Warning]") && l.contains(&named)))
        .filter(|l| !l.contains("Aborting"))
        .map(|l| {
            l.split("] ")
                .last()
                .unwrap_or(l)
                .trim()
                .trim_end_matches('.')
        })
        .collect();
    if lines.is_empty() && !failed {
        return None;
    }
    Some(if lines.is_empty() {
        output.trim().replace('\n', " ")
    } else {
        lines.join("; ")
    })
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

    #[test]
    fn the_option_check_refuses_errors_and_adjusted_values() {
        let mysql = "2026-12-01T20:50:27Z 0 [ERROR] [MY-000067] [Server] unknown variable 'x=4'.\n2026-12-01T20:50:27Z 0 [ERROR] [MY-010119] [Server] Aborting\nexit 1\n";
        assert_eq!(
            option_refusal(mysql, "x").unwrap(),
            "unknown variable 'x=4'"
        );
        let mariadb = "2026-12-01 20:51:07 0 [Warning] option 'table_open_cache_instances': unsigned value 999 adjusted to 64\n2026-12-01 20:51:07 0 [Warning] Could not increase number of max_open_files to more than 20000 (request: 256184)\nexit 0\n";
        assert_eq!(
            option_refusal(mariadb, "table_open_cache_instances").unwrap(),
            "option 'table_open_cache_instances': unsigned value 999 adjusted to 64"
        );
        assert_eq!(option_refusal(mariadb, "back_log"), None);
        assert!(option_refusal("exit 9\n", "a").is_some());
        let new = [("b".to_string(), "2".to_string())];
        assert_eq!(
            merged_restart_settings(Some("a=1\nb=1\n"), &new),
            "a=1\nb=2\n"
        );
        assert_eq!(merged_restart_settings(None, &new), "b=2\n");
    }
}
