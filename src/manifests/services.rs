use super::{metadata, selector_labels, ClusterSpec, MYSQL_PORT};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// The headless Service (stable DNS per pod), the write Service (the primary of record, selected
/// by pod name so no controller is needed) and the read Service (every ready member).
pub fn services(spec: &ClusterSpec) -> Vec<Service> {
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
    fn primary_service_selects_the_primary_pod_by_name() {
        let svcs = services(&crate::manifests::test_spec());
        let names: Vec<_> = svcs
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["shop", "shop-primary", "shop-read"]);
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
