//! Leader election among the agent's pods: Lease NAME-agent, held by one pod at a time and
//! renewed every step (about every second); a leader that stops renewing loses it after
//! LEASE_SECONDS and the standby takes it. A leader may also hand the Lease to the other pod
//! (`Leadership::hand_to`): it frees the Lease, reserved for that pod by name for LEASE_SECONDS
//! (HANDED_TO_ANNOTATION); if that pod does not take it by then, any pod may. The leader also
//! keeps its decisions' state in the Lease's annotations (read by `status`).
use crate::manifests;
use anyhow::{Context as _, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::Api;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::k8s::agent_lease::{
    COOLDOWN_UNTIL_ANNOTATION, HANDED_TO_ANNOTATION, LAST_FAILOVER_ANNOTATION,
    LAST_FAILOVER_RECORD_ANNOTATION, LEASE_SECONDS, WATCHING_ANNOTATION,
};

pub struct Election {
    leases: Api<Lease>,
    cluster: String,
    name: String,
    identity: String,
    /// This agent's pod (POD_NAME), the name a hand-off reserves the Lease for.
    pod: String,
    pub leadership: Leadership,
}

/// Shared between the renewal (its own task, so that a failover in progress never lets the
/// lease lapse) and the watch.
#[derive(Clone, Default)]
pub struct Leadership(Arc<Mutex<Shared>>);

#[derive(Default)]
struct Shared {
    /// When this pod last renewed its leadership.
    renewed: Option<Instant>,
    /// What the leader publishes in the Lease's annotations.
    annotations: BTreeMap<String, String>,
    /// A hand-off asked by the watch, done by the next renewal: the pod to reserve the Lease for.
    hand_to: Option<String>,
}

impl Leadership {
    /// Still leading: renewed within the lease's duration (less a second of margin).
    pub fn leads(&self) -> bool {
        self.0
            .lock()
            .expect("leadership")
            .renewed
            .is_some_and(|r| r.elapsed() < Duration::from_secs(LEASE_SECONDS as u64 - 1))
    }

    /// Gives the leadership to pod `peer` at the next renewal (this pod stops leading then).
    pub fn hand_to(&self, peer: &str) {
        self.0.lock().expect("leadership").hand_to = Some(peer.to_string());
    }

    fn take_hand_off(&self) -> Option<String> {
        self.0.lock().expect("leadership").hand_to.take()
    }

    pub fn annotate(&self, key: &str, value: String) {
        self.0
            .lock()
            .expect("leadership")
            .annotations
            .insert(key.into(), value);
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.0
            .lock()
            .expect("leadership")
            .annotations
            .get(key)
            .cloned()
    }

    /// Taking over: what the earlier leader published (the last failover and its cooldown)
    /// stands until this one says otherwise.
    fn adopt(&self, earlier: BTreeMap<String, String>) {
        let mut shared = self.0.lock().expect("leadership");
        shared.annotations.extend(earlier);
        shared.annotations.remove(HANDED_TO_ANNOTATION);
    }

    fn annotations(&self) -> BTreeMap<String, String> {
        self.0.lock().expect("leadership").annotations.clone()
    }

    fn set_renewed(&self, renewed: Option<Instant>) {
        self.0.lock().expect("leadership").renewed = renewed;
    }
}

impl Election {
    /// Takes or renews the lease every `every`, in its own task, until the process ends.
    pub fn keep_renewing(self, every: Duration) -> Leadership {
        let leadership = self.leadership.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.step().await {
                    eprintln!(
                        "{} not leading: {}",
                        Timestamp::now(),
                        crate::base::one_line(&e)
                    );
                }
                tokio::time::sleep(every).await;
            }
        });
        leadership
    }

    pub fn new(client: &kube::Client, namespace: &str, cluster: &str, identity: String) -> Self {
        Self {
            leases: Api::namespaced(client.clone(), namespace),
            cluster: cluster.into(),
            name: manifests::agent::agent_name(cluster),
            identity,
            pod: std::env::var("POD_NAME").unwrap_or_default(),
            leadership: Leadership::default(),
        }
    }

    /// Takes or renews the lease; true while this pod leads. An error (the API server cannot
    /// be reached) is not leading: no leader acts without a fresh lease.
    pub async fn step(&self) -> Result<bool> {
        let now = Timestamp::now();
        let hand_off = self.leadership.take_hand_off();
        let existing = self
            .leases
            .get_opt(&self.name)
            .await
            .with_context(|| format!("cannot read Lease {}", self.name))?;
        let held_by_other = existing
            .as_ref()
            .is_some_and(|l| held_for_another(l, &self.identity, &self.pod, now));
        if held_by_other {
            self.leadership.set_renewed(None);
            return Ok(false);
        }
        if let Some(earlier) = existing.as_ref().filter(|l| {
            l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) != Some(&self.identity)
        }) {
            // Taking over from another pod.
            self.leadership
                .adopt(earlier.metadata.annotations.clone().unwrap_or_default());
        }
        let mut lease = self.lease(now, existing.as_ref());
        if let Some(peer) = &hand_off {
            free_for(&mut lease, peer);
        }
        let written = match &existing {
            None => self.leases.create(&PostParams::default(), &lease).await,
            Some(_) => {
                self.leases
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(_) if hand_off.is_some() => {
                self.leadership.set_renewed(None);
                Ok(false)
            }
            Ok(_) => {
                self.leadership.set_renewed(Some(Instant::now()));
                Ok(true)
            }
            // Another pod wrote it first.
            Err(kube::Error::Api(e)) if e.code == 409 => {
                self.leadership.set_renewed(None);
                Ok(false)
            }
            Err(e) => {
                self.leadership.set_renewed(None);
                Err(e).with_context(|| format!("cannot renew Lease {}", self.name))
            }
        }
    }

    fn lease(&self, now: Timestamp, existing: Option<&Lease>) -> Lease {
        let spec = existing.and_then(|l| l.spec.clone()).unwrap_or_default();
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let transitions =
            spec.lease_transitions.unwrap_or(0) + i32::from(!ours && existing.is_some());
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(manifests::labels(&self.cluster)),
                annotations: Some(self.leadership.annotations()),
                resource_version: existing.and_then(|l| l.metadata.resource_version.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                acquire_time: if ours {
                    spec.acquire_time
                } else {
                    Some(MicroTime(now))
                },
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(transitions),
                ..Default::default()
            }),
        }
    }
}

/// Whether `lease` is held (renewed within its duration) by a pod other than `identity`, or
/// freed by a hand-off to a pod other than `pod` within its duration.
fn held_for_another(lease: &Lease, identity: &str, pod: &str, now: Timestamp) -> bool {
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.unwrap_or_default();
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    let fresh = spec
        .renew_time
        .is_some_and(|r| (now - r.0).get_seconds() < duration);
    let reserved_for = lease
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HANDED_TO_ANNOTATION))
        .filter(|p| !p.is_empty());
    fresh
        && if holder.is_empty() {
            reserved_for.is_some_and(|p| p != pod)
        } else {
            holder != identity
        }
}

/// The Lease as a hand-off writes it: no holder, reserved for `peer` (renewed now).
fn free_for(lease: &mut Lease, peer: &str) {
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
    }
    lease
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(HANDED_TO_ANNOTATION.into(), peer.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed_secs_ago: i64, handed_to: Option<&str>) -> Lease {
        let now = Timestamp::now();
        Lease {
            metadata: ObjectMeta {
                annotations: handed_to
                    .map(|p| BTreeMap::from([(HANDED_TO_ANNOTATION.to_string(), p.to_string())])),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(String::from),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(MicroTime(
                    now - k8s_openapi::jiff::SignedDuration::from_secs(renewed_secs_ago),
                )),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_handed_off_lease_is_reserved_for_its_pod_until_it_expires() {
        let now = Timestamp::now();
        let me = ("u@a-1 (pid 1)", "a-1");
        let other = ("u@a-2 (pid 1)", "a-2");
        // Held by the other, fresh: not ours; expired: free.
        let held = lease(Some(other.0), 1, None);
        assert!(held_for_another(&held, me.0, me.1, now));
        assert!(!held_for_another(
            &lease(Some(other.0), 9, None),
            me.0,
            me.1,
            now
        ));
        // Freed for a-2: a-1 (the leader that handed it off) keeps off, a-2 takes it.
        let freed = lease(None, 1, Some("a-2"));
        assert!(held_for_another(&freed, me.0, me.1, now));
        assert!(!held_for_another(&freed, other.0, other.1, now));
        // a-2 did not take it within the Lease's duration: anyone may.
        assert!(!held_for_another(
            &lease(None, 9, Some("a-2")),
            me.0,
            me.1,
            now
        ));
        // A hand-off writes the Lease that way.
        let mut ours = lease(Some(me.0), 0, None);
        free_for(&mut ours, "a-2");
        assert!(held_for_another(&ours, me.0, me.1, now));
        assert!(!held_for_another(&ours, other.0, other.1, now));
    }
}
