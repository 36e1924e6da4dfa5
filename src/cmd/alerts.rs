//! `kubectl mysqlha alerts`: the alert rules shipped with this version of the plugin, printed
//! for Prometheus (manifests::alerts). Contacts nothing.
use crate::cli::{AlertsArgs, AlertsFormat, GlobalArgs};
use crate::manifests::alerts;
use anyhow::{Context, Result};

/// The PrometheusRule's name.
const RULE_NAME: &str = "mysqlha-alerts";

pub fn run(global: &GlobalArgs, args: &AlertsArgs) -> Result<()> {
    let yaml = match args.format {
        AlertsFormat::Rules => serde_yaml::to_string(&alerts::rules()),
        AlertsFormat::PrometheusRule => serde_yaml::to_string(&alerts::prometheus_rule(
            RULE_NAME,
            global.namespace.as_deref(),
        )),
    }
    .context("cannot write the rules as YAML")?;
    super::print_whole(&yaml);
    Ok(())
}
