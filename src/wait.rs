//! Polling a pod until it reaches a phase, failing early when it is stuck for a reason that
//! waiting will not heal.
use crate::cluster::{pod_phase, stuck_reason, PodPhase};
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);

/// Waits until `pod`'s phase satisfies `wanted`; returns that phase.
pub async fn pod_until(
    pods: &Api<Pod>,
    pod: &str,
    what: &str,
    wanted: impl Fn(&PodPhase) -> bool,
) -> Result<PodPhase> {
    loop {
        let current = pods
            .get_opt(pod)
            .await
            .with_context(|| format!("cannot read pod {pod}"))?;
        let phase = pod_phase(current.as_ref());
        if wanted(&phase) {
            return Ok(phase);
        }
        if let Some(reason) = current.as_ref().and_then(stuck_reason) {
            bail!("pod {pod} cannot start ({reason}) while waiting until it {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

pub async fn until_ready(pods: &Api<Pod>, pod: &str) -> Result<()> {
    pod_until(pods, pod, "is ready", |p| {
        *p == PodPhase::Running { ready: true }
    })
    .await
    .map(|_| ())
}

pub async fn until_server_runs(pods: &Api<Pod>, pod: &str) -> Result<()> {
    pod_until(pods, pod, "runs mariadbd", |p| {
        matches!(p, PodPhase::Running { .. })
    })
    .await
    .map(|_| ())
}

/// Runs `work` with a deadline; the error names what was being waited for.
pub async fn with_timeout<T>(
    limit: Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => bail!("timed out after {}s while {what}", limit.as_secs()),
    }
}

/// Retries `attempt` every half second until it succeeds (e.g. a server that is still starting).
pub async fn retry<T, F, Fut>(mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    loop {
        if let Ok(value) = attempt().await {
            return value;
        }
        tokio::time::sleep(POLL).await;
    }
}
