use super::{metadata, selector_labels, ClusterSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// At most one member of the cluster may be evicted at a time (`kubectl drain` of two nodes
/// never takes two members at once); it has the cluster's name.
pub fn pod_disruption_budget(spec: &ClusterSpec) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: metadata(spec, spec.name.clone()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(&spec.name)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_at_a_time_may_be_evicted() {
        let pdb = pod_disruption_budget(&crate::manifests::test_spec());
        let spec = pdb.spec.unwrap();
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(
            spec.selector.unwrap().match_labels.unwrap(),
            selector_labels("shop")
        );
        assert_eq!(pdb.metadata.name.as_deref(), Some("shop"));
    }
}
