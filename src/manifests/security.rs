//! What every pod the plugin makes runs under: the `restricted` Pod Security Standard (a
//! non-root user, every capability dropped, no privilege escalation, the runtime's default
//! seccomp profile), so that a namespace enforcing it admits the members and the agent.
use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, SeccompProfile, SecurityContext,
};

/// The pod's part: `uid` for every container, `fs_group` (when given) owning its volumes.
pub fn restricted_pod(uid: i64, fs_group: Option<i64>) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group,
        // Volumes already owned by the group are not walked again at every start.
        fs_group_change_policy: fs_group.map(|_| "OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Each container's part.
pub fn restricted_container(uid: i64) -> SecurityContext {
    SecurityContext {
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        run_as_non_root: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Why `pod` would be refused under the `restricted` Pod Security Standard (its checks on what
/// the plugin's pods could hold), empty when admitted.
#[cfg(test)]
pub fn restricted_violations(pod: &k8s_openapi::api::core::v1::PodSpec) -> Vec<String> {
    let mut found = Vec::new();
    let pod_sc = pod.security_context.clone().unwrap_or_default();
    if pod.host_network == Some(true) || pod.host_pid == Some(true) || pod.host_ipc == Some(true) {
        found.push("host namespaces".to_string());
    }
    for v in pod.volumes.iter().flatten() {
        if v.host_path.is_some() {
            found.push(format!("hostPath volume {}", v.name));
        }
    }
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten());
    for c in containers {
        let sc = c.security_context.clone().unwrap_or_default();
        let name = &c.name;
        if sc.allow_privilege_escalation != Some(false) {
            found.push(format!("{name}: allowPrivilegeEscalation != false"));
        }
        if sc.privileged == Some(true) {
            found.push(format!("{name}: privileged"));
        }
        let drops_all = sc
            .capabilities
            .as_ref()
            .and_then(|c| c.drop.as_ref())
            .is_some_and(|d| d.iter().any(|x| x == "ALL"));
        if !drops_all {
            found.push(format!("{name}: capabilities.drop != [ALL]"));
        }
        let added = sc.capabilities.as_ref().and_then(|c| c.add.as_ref());
        if added.is_some_and(|a| a.iter().any(|x| x != "NET_BIND_SERVICE")) {
            found.push(format!("{name}: adds capabilities"));
        }
        let non_root = sc.run_as_non_root.or(pod_sc.run_as_non_root) == Some(true);
        if !non_root {
            found.push(format!("{name}: runAsNonRoot != true"));
        }
        if sc.run_as_user.or(pod_sc.run_as_user) == Some(0) {
            found.push(format!("{name}: runAsUser = 0"));
        }
        let seccomp = sc
            .seccomp_profile
            .as_ref()
            .or(pod_sc.seccomp_profile.as_ref())
            .map(|p| p.type_.as_str());
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            found.push(format!("{name}: seccompProfile not RuntimeDefault"));
        }
    }
    found
}
