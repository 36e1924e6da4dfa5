use super::{metadata, selector_labels, ClusterSpec, MYSQL_PORT};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// What a member Service's name adds to its pod's name.
const MEMBER_SERVICE_SUFFIX: &str = "-repl";

/// The headless Service (stable DNS per pod), the write Service (the primary of record, selected
/// by pod name so no controller is needed), the read Service (every ready member) and one
/// member Service per member (member_service).
pub fn services(spec: &ClusterSpec) -> Vec<Service> {
    let mut all = cluster_services(spec);
    all.extend((0..spec.replicas).map(|i| member_service(spec, &format!("{}-{i}", spec.name))));
    all
}

/// The member Service of `pod`: the address replicas replicate from (and clones are taken
/// from). A ClusterIP that stays while the pod is made anew at another pod address: a name
/// that followed the pod would be cached by DNS (negative answers too) for seconds after the
/// pod moved, and a connection to the address it left waits for the connect timeout.
/// Not-ready pods are served (a primary is not Ready until a replica receives from it).
pub fn member_service(spec: &ClusterSpec, pod: &str) -> Service {
    let mut selector = selector_labels(&spec.name);
    selector.insert(POD_NAME_LABEL.into(), pod.to_string());
    service(
        spec,
        member_service_name(pod),
        ServiceSpec {
            publish_not_ready_addresses: Some(true),
            selector: Some(selector),
            ..Default::default()
        },
    )
}

pub fn member_service_name(pod: &str) -> String {
    format!("{pod}{MEMBER_SERVICE_SUFFIX}")
}

/// The member a replica's source host names (a member Service's or a pod's DNS name).
pub fn member_of_host(host: &str) -> String {
    let first = host.split('.').next().unwrap_or_default();
    first
        .strip_suffix(MEMBER_SERVICE_SUFFIX)
        .unwrap_or(first)
        .to_string()
}

fn cluster_services(spec: &ClusterSpec) -> Vec<Service> {
    let mut primary_selector = selector_labels(&spec.name);
    primary_selector.insert(POD_NAME_LABEL.into(), spec.primary.clone());
    vec![
        service(
            spec,
            spec.name.clone(),
            ServiceSpec {
                cluster_ip: Some("None".into()),
                publish_not_ready_addresses: Some(true),
                selector: Some(selector_labels(&spec.name)),
                ..Default::default()
            },
        ),
        service(
            spec,
            spec.primary_service(),
            ServiceSpec {
                selector: Some(primary_selector),
                ..Default::default()
            },
        ),
        service(
            spec,
            spec.read_service(),
            ServiceSpec {
                selector: Some(selector_labels(&spec.name)),
                ..Default::default()
            },
        ),
    ]
}

fn service(spec: &ClusterSpec, name: String, mut svc: ServiceSpec) -> Service {
    svc.ports = Some(vec![ServicePort {
        name: Some("mysql".into()),
        port: MYSQL_PORT,
        target_port: Some(IntOrString::Int(MYSQL_PORT)),
        ..Default::default()
    }]);
    Service {
        metadata: metadata(spec, name),
        spec: Some(svc),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_service_selects_its_pod_ready_or_not_and_names_it_back() {
        let svc = member_service(&crate::manifests::test_spec(), "shop-1");
        assert_eq!(svc.metadata.name.as_deref(), Some("shop-1-repl"));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.selector.unwrap()[POD_NAME_LABEL], "shop-1");
        assert_eq!(spec.publish_not_ready_addresses, Some(true));
        assert_eq!(spec.cluster_ip, None);
        assert_eq!(member_of_host("shop-1-repl.ns.svc.cluster.local"), "shop-1");
        // A source set before member Services: the pod's own DNS name.
        assert_eq!(member_of_host("shop-1.shop.ns.svc.cluster.local"), "shop-1");
    }

    #[test]
    fn primary_service_selects_the_primary_pod_by_name() {
        let svcs = services(&crate::manifests::test_spec());
        let names: Vec<_> = svcs
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "shop",
                "shop-primary",
                "shop-read",
                "shop-0-repl",
                "shop-1-repl",
                "shop-2-repl"
            ]
        );
        let sel = svcs[1].spec.as_ref().unwrap().selector.as_ref().unwrap();
        assert_eq!(sel[POD_NAME_LABEL], "shop-0");
        assert_eq!(
            svcs[0].spec.as_ref().unwrap().cluster_ip.as_deref(),
            Some("None")
        );
        assert!(!svcs[2]
            .spec
            .as_ref()
            .unwrap()
            .selector
            .as_ref()
            .unwrap()
            .contains_key(POD_NAME_LABEL));
    }
}
