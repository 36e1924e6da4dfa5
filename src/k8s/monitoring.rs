//! Whether the prometheus-operator's custom resources are served here (its CRDs installed).
use crate::manifests::monitoring::{GROUP, POD_MONITORS, VERSION};
use anyhow::{Context as _, Result};

/// The API server serves `monitoring.coreos.com/v1` PodMonitors.
pub async fn pod_monitors_served(client: &kube::Client) -> Result<bool> {
    match client
        .list_api_group_resources(&format!("{GROUP}/{VERSION}"))
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == POD_MONITORS)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e).with_context(|| {
            format!("cannot ask the API server whether it serves {GROUP}/{VERSION}")
        }),
    }
}
