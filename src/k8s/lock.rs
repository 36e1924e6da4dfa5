//! One operation at a time per cluster: a `coordination.k8s.io` Lease named `NAME-operation`
//! that Kubernetes arbitrates (create and replace are compare-and-swap on resourceVersion).
//! The holder renews it every RENEW_EVERY while its operation runs; a holder that dies stops
//! renewing and its lock expires LEASE_SECONDS after the last renewal. Every command that
//! changes a cluster takes it first; the automatic-failover agent takes the same lock.
use crate::manifests;
use anyhow::{bail, Context as _, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::Api;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A lock not renewed for this long is free.
pub const LEASE_SECONDS: i32 = 10;
const RENEW_EVERY: Duration = Duration::from_secs(2);
const OPERATION_ANNOTATION: &str = "mysqlha.io/operation";
const STARTED_ANNOTATION: &str = "mysqlha.io/started";

pub use crate::manifests::lock_lease_name as lease_name;

/// Who holds a cluster's lock, what it runs and since when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub holder: String,
    pub operation: String,
    pub started: String,
    /// Seconds since the last renewal.
    pub renewed_seconds_ago: i64,
}

impl Holder {
    /// "root@host (pid 42) runs switchover since 2026-12-01T11:02:03Z (12s ago)"
    pub fn describe(&self) -> String {
        let since = self
            .started
            .parse::<Timestamp>()
            .map(|t| format!(" ({}s ago)", (Timestamp::now() - t).get_seconds().max(0)))
            .unwrap_or_default();
        format!(
            "{} runs {} since {}{since}",
            self.holder, self.operation, self.started
        )
    }
}

/// The live holder of `lease`, if its lock has not expired.
pub fn live_holder(lease: &Lease, now: Timestamp) -> Option<Holder> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    let age = (now - renewed).get_seconds();
    if age >= duration {
        return None;
    }
    let annotations = lease.metadata.annotations.clone().unwrap_or_default();
    Some(Holder {
        holder,
        operation: annotations
            .get(OPERATION_ANNOTATION)
            .cloned()
            .unwrap_or_else(|| "an operation".into()),
        started: annotations
            .get(STARTED_ANNOTATION)
            .cloned()
            .unwrap_or_else(|| renewed.to_string()),
        renewed_seconds_ago: age.max(0),
    })
}

/// The operation running on cluster `name` right now, if any (read-only; takes nothing).
pub async fn current(client: &kube::Client, namespace: &str, name: &str) -> Result<Option<Holder>> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let lease = leases
        .get_opt(&lease_name(name))
        .await
        .with_context(|| format!("cannot read Lease {}", lease_name(name)))?;
    Ok(lease.and_then(|l| live_holder(&l, Timestamp::now())))
}

/// This process's identity as a holder: user@host (pid N), or the pod's name in a pod.
pub fn identity() -> String {
    let host = std::env::var("POD_NAME").ok().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown-host".into())
    });
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_of_this_process)
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

/// The name of this process's user in /etc/passwd (when $USER is not set, e.g. under cron).
fn user_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(':').collect();
        (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
    })
}

/// A held lock. Renewed in the background until `release`; dropping it without release stops
/// the renewal and lets it expire.
pub struct OperationLock {
    leases: Api<Lease>,
    name: String,
    identity: String,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for OperationLock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl OperationLock {
    /// Takes the lock of cluster `cluster` for `operation`. When another holder has it: fails
    /// at once naming the holder, or, with `wait`, retries until it is free or `wait` passed.
    pub async fn acquire(
        client: &kube::Client,
        namespace: &str,
        cluster: &str,
        operation: &str,
        wait: Option<Duration>,
    ) -> Result<Self> {
        let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let name = lease_name(cluster);
        let identity = identity();
        let deadline = wait.map(|w| tokio::time::Instant::now() + w);
        let mut announced = false;
        loop {
            let now = Timestamp::now();
            let existing = leases.get_opt(&name).await.with_context(|| {
                format!("cannot read Lease {name} (the cluster's operation lock)")
            })?;
            if let Some(holder) = existing.as_ref().and_then(|l| live_holder(l, now)) {
                match deadline {
                    Some(d) if tokio::time::Instant::now() < d => {
                        if !announced {
                            eprintln!("waiting for the lock of cluster {cluster}: {}", holder.describe());
                            announced = true;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                    Some(_) => bail!(
                        "cluster {cluster} is still busy after waiting {}s: {} (Lease {name})",
                        wait.unwrap_or_default().as_secs(),
                        holder.describe()
                    ),
                    None => bail!(
                        "cluster {cluster} is busy: {}; try again when it ends, or add --wait 10m (Lease {name})",
                        holder.describe()
                    ),
                }
            }
            let lease = new_lease(cluster, &name, &identity, operation, now, existing.as_ref());
            let result = match &existing {
                None => leases.create(&PostParams::default(), &lease).await,
                Some(_) => leases.replace(&name, &PostParams::default(), &lease).await,
            };
            match result {
                Ok(_) => break,
                // Someone else created or renewed it between our read and write: read again.
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(kube::Error::Api(e))
                    if e.code == 404
                        && e.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
                {
                    bail!("namespace {namespace} not found")
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot take Lease {name} (the cluster's operation lock)")
                    })
                }
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            leases.clone(),
            name.clone(),
            identity.clone(),
            lost.clone(),
        ));
        Ok(Self {
            leases,
            name,
            identity,
            lost,
            renewer,
        })
    }

    /// Fails when the lock could not be renewed in time or was taken over: the operation must
    /// not take its next irreversible step.
    pub fn ensure_held(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            bail!(
                "lost the cluster's operation lock (Lease {}): stopping before the next change",
                self.name
            );
        }
        Ok(())
    }

    /// Stops renewing and removes the lease, if it is still ours.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        let Some(lease) = self.leases.get_opt(&self.name).await? else {
            return Ok(());
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str());
        if !ours {
            return Ok(());
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: lease.metadata.resource_version.clone(),
                uid: None,
            }),
            ..Default::default()
        };
        match self.leases.delete(&self.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot release Lease {}", self.name)),
        }
    }
}

fn new_lease(
    cluster: &str,
    name: &str,
    identity: &str,
    operation: &str,
    now: Timestamp,
    existing: Option<&Lease>,
) -> Lease {
    let transitions = existing
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(manifests::labels(cluster)),
            annotations: Some(BTreeMap::from([
                (OPERATION_ANNOTATION.to_string(), operation.to_string()),
                (STARTED_ANNOTATION.to_string(), now.to_string()),
            ])),
            resource_version: existing.and_then(|l| l.metadata.resource_version.clone()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(identity.to_string()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions + i32::from(existing.is_some())),
            ..Default::default()
        }),
    }
}

/// Renews the lease every RENEW_EVERY; marks it lost when another holder took it or when no
/// renewal succeeded for a lease duration (others may then take it).
async fn renew(leases: Api<Lease>, name: String, identity: String, lost: Arc<AtomicBool>) {
    let mut last_success = tokio::time::Instant::now();
    let limit = Duration::from_secs(LEASE_SECONDS as u64);
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match renew_once(&leases, &name, &identity).await {
            Ok(true) => last_success = tokio::time::Instant::now(),
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                eprintln!("warning: the operation lock {name} was taken over by another holder");
                return;
            }
            Err(e) => {
                if last_success.elapsed() >= limit - RENEW_EVERY {
                    lost.store(true, Ordering::SeqCst);
                }
                eprintln!("warning: cannot renew the operation lock {name}: {e}");
            }
        }
    }
}

/// Ok(false) when the lease is no longer ours.
async fn renew_once(leases: &Api<Lease>, name: &str, identity: &str) -> Result<bool> {
    let Some(mut lease) = leases.get_opt(name).await? else {
        return Ok(false);
    };
    let spec = lease.spec.get_or_insert_with(Default::default);
    if spec.holder_identity.as_deref() != Some(identity) {
        return Ok(false);
    }
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    leases.replace(name, &PostParams::default(), &lease).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::SignedDuration;

    fn lease(holder: &str, renewed: Timestamp) -> Lease {
        new_lease(
            "shop",
            "shop-operation",
            holder,
            "switchover",
            renewed,
            None,
        )
    }

    #[test]
    fn a_fresh_lease_has_a_holder_an_expired_one_has_none() {
        let t = Timestamp::now();
        let l = lease("me@host (pid 1)", t);
        let h = live_holder(&l, t + SignedDuration::from_secs(3)).unwrap();
        assert_eq!(h.holder, "me@host (pid 1)");
        assert_eq!(h.operation, "switchover");
        assert_eq!(h.renewed_seconds_ago, 3);
        assert!(live_holder(&l, t + SignedDuration::from_secs(LEASE_SECONDS as i64)).is_none());
        assert!(lease("", t).spec.is_some() && live_holder(&lease("", t), t).is_none());
    }

    #[test]
    fn a_taken_over_lease_counts_its_transitions() {
        let t = Timestamp::now();
        let first = lease("a", t);
        let second = new_lease("shop", "shop-operation", "b", "scale", t, Some(&first));
        assert_eq!(second.spec.unwrap().lease_transitions, Some(1));
    }
}
