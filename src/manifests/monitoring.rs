//! The prometheus-operator's `PodMonitor` (monitoring.coreos.com/v1): what a Prometheus run by
//! that operator reads to scrape the agent's pods. Typed here with only the fields the plugin
//! sets (k8s-openapi has no custom resources); created only where the CRD is served.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const GROUP: &str = "monitoring.coreos.com";
pub const VERSION: &str = "v1";
pub const POD_MONITORS: &str = "podmonitors";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitor {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: PodMonitorSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    pub selector: LabelSelector,
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

/// One scraped port of the selected pods.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// The container port's name.
    pub port: String,
    pub path: String,
    /// Prometheus' duration, e.g. "5s".
    pub interval: String,
}

impl PodMonitor {
    pub fn new(metadata: ObjectMeta, spec: PodMonitorSpec) -> Self {
        PodMonitor {
            api_version: format!("{GROUP}/{VERSION}"),
            kind: "PodMonitor".into(),
            metadata,
            spec,
        }
    }
}

impl kube::Resource for PodMonitor {
    type DynamicType = ();
    type Scope = kube::core::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "PodMonitor".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        GROUP.into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        VERSION.into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        POD_MONITORS.into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
