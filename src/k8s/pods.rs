//! A member pod's phase as the plugin judges it, from the pod's status alone.
use crate::manifests::{DATA_CONTAINER, SERVER_CONTAINER};
use k8s_openapi::api::core::v1::Pod;

/// Where a member's pod is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodPhase {
    Missing,
    /// Init container "data" is running: the data directory waits to be filled.
    WaitingForData,
    /// The database server runs (ready or not).
    Running {
        ready: bool,
    },
    /// Starting, or stuck with a reason (image pull failure, crash loop, unschedulable…).
    Pending(Option<String>),
}

/// The pod is being deleted (drained, evicted, deleted) and its server container still runs
/// (its preStop hook keeps it serving until the agent has switched over).
pub fn server_runs_while_deleted(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        && pod.status.as_ref().is_some_and(|s| {
            s.container_statuses.iter().flatten().any(|c| {
                c.name == SERVER_CONTAINER && c.state.as_ref().is_some_and(|s| s.running.is_some())
            })
        })
}

pub fn pod_phase(pod: Option<&Pod>) -> PodPhase {
    let Some(pod) = pod else {
        return PodPhase::Missing;
    };
    if pod.metadata.deletion_timestamp.is_some() {
        return PodPhase::Pending(Some("terminating".into()));
    }
    let Some(status) = pod.status.as_ref() else {
        return PodPhase::Pending(None);
    };
    let running = |statuses: &Option<Vec<k8s_openapi::api::core::v1::ContainerStatus>>,
                   name: &str| {
        statuses
            .iter()
            .flatten()
            .any(|c| c.name == name && c.state.as_ref().is_some_and(|s| s.running.is_some()))
    };
    if running(&status.container_statuses, SERVER_CONTAINER) {
        let ready = status
            .container_statuses
            .iter()
            .flatten()
            .any(|c| c.name == SERVER_CONTAINER && c.ready);
        return PodPhase::Running { ready };
    }
    if running(&status.init_container_statuses, DATA_CONTAINER) {
        return PodPhase::WaitingForData;
    }
    PodPhase::Pending(stuck_reason(pod))
}

/// The reason a pod cannot start, if it is one that will not heal by waiting a little.
/// (Scheduling is not judged: a pod waits, unschedulable, while its volume is provisioned.)
pub fn stuck_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let all = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in all {
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.clone().unwrap_or_default();
            if matches!(
                reason.as_str(),
                "ErrImagePull"
                    | "ImagePullBackOff"
                    | "InvalidImageName"
                    | "CrashLoopBackOff"
                    | "CreateContainerConfigError"
                    | "CreateContainerError"
                    | "RunContainerError"
            ) {
                return Some(format!(
                    "container {}: {reason}: {}",
                    c.name,
                    w.message.clone().unwrap_or_default()
                ));
            }
        }
    }
    None
}
