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
    pub async fn release(mut self) -> Result<()> {
        // No renewal in flight past this point: one that landed after the read below moved the
        // Lease on, the delete's precondition failed, and a release that took that conflict for
        // another holder's left the lock held by nobody running (a command started a moment
        // later was refused "busy" until the Lease expired: seen on the bed).
        self.renewer.abort();
        let _ = (&mut self.renewer).await;
        for _ in 0..RELEASE_TRIES {
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
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
                // Changed since the read: read it again (still ours, or taken over).
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot release Lease {}", self.name))
                }
            }
        }
        bail!(
            "cannot release Lease {}: it changed under each of {RELEASE_TRIES} deletes",
            self.name
        )
    }
}

/// Deletes a release tries, each on a fresh read of the Lease.
const RELEASE_TRIES: usize = 3;

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

/// The lock's API traffic, against a scripted API server.
#[cfg(test)]
mod api_tests {
    use super::*;
    use crate::k8s::mock::{apis, conflict, echo, failure, not_found, ok, success, Script, NS};
    use k8s_openapi::jiff::SignedDuration;
    use serde_json::Value;

    const LEASE: &str = "shop-operation";

    fn lease_path() -> String {
        apis("coordination.k8s.io/v1", "leases", LEASE)
    }

    fn leases_path() -> String {
        apis("coordination.k8s.io/v1", "leases", "")
    }

    /// The lock of cluster shop as `holder` left it, last renewed `ago` seconds back.
    fn held_by(holder: &str, ago: i64, resource_version: &str) -> Value {
        let renewed = Timestamp::now() - SignedDuration::from_secs(ago);
        let mut lease = new_lease("shop", LEASE, holder, "switchover", renewed, None);
        lease.metadata.resource_version = Some(resource_version.into());
        serde_json::to_value(lease).unwrap()
    }

    async fn acquire(client: &kube::Client, wait: Option<Duration>) -> Result<OperationLock> {
        OperationLock::acquire(client, NS, "shop", "scale", wait).await
    }

    #[tokio::test]
    async fn a_free_lock_is_taken_by_creating_its_lease() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .start();
        let lock = acquire(&client, None).await.unwrap();
        assert!(lock.ensure_held().is_ok());
        let calls = server.finish();
        let made = &calls[1].body;
        assert_eq!(made["spec"]["holderIdentity"], identity().as_str());
        assert_eq!(made["spec"]["leaseDurationSeconds"], LEASE_SECONDS);
        assert_eq!(
            made["metadata"]["annotations"][OPERATION_ANNOTATION],
            "scale"
        );
        assert_eq!(made["spec"]["leaseTransitions"], 0);
    }

    #[tokio::test]
    async fn a_lock_held_by_another_is_refused_naming_the_holder_and_nothing_is_written() {
        let (client, server) = Script::new()
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 1, "41")))
            .start();
        let error = acquire(&client, None).await.err().unwrap().to_string();
        assert!(error.starts_with("cluster shop is busy: ann@desk (pid 7) runs switchover since"));
        assert!(error.ends_with("try again when it ends, or add --wait 10m (Lease shop-operation)"));
        server.finish();
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over_by_replacing_it_at_its_resource_version() {
        let (client, server) = Script::new()
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 60, "41")))
            .put(lease_path(), echo())
            .start();
        acquire(&client, None).await.unwrap();
        let calls = server.finish();
        let replaced = &calls[1].body;
        assert_eq!(replaced["metadata"]["resourceVersion"], "41");
        assert_eq!(replaced["spec"]["holderIdentity"], identity().as_str());
        assert_eq!(replaced["spec"]["leaseTransitions"], 1);
    }

    #[tokio::test]
    async fn a_lock_taken_between_read_and_write_is_read_again_and_refused() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(
                leases_path(),
                conflict("leases \"shop-operation\" already exists"),
            )
            .get(lease_path(), ok(held_by("bob@laptop (pid 3)", 0, "42")))
            .start();
        let error = acquire(&client, None).await.err().unwrap().to_string();
        assert!(error.contains("is busy: bob@laptop (pid 3) runs switchover"));
        server.finish();
    }

    #[tokio::test]
    async fn a_missing_namespace_is_named_plainly() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), not_found("namespaces", NS))
            .start();
        let error = acquire(&client, None).await.err().unwrap().to_string();
        assert_eq!(error, "namespace ns not found");
        server.finish();
    }

    #[tokio::test]
    async fn a_refused_write_says_which_lease_could_not_be_taken() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(
                leases_path(),
                failure(403, "Forbidden", "leases is forbidden"),
            )
            .start();
        let error = acquire(&client, None).await.err().unwrap();
        assert_eq!(
            error.to_string(),
            "cannot take Lease shop-operation (the cluster's operation lock)"
        );
        server.finish();
    }

    #[tokio::test(start_paused = true)]
    async fn with_wait_a_held_lock_is_read_again_until_it_is_free() {
        let (client, server) = Script::new()
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 0, "41")))
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 0, "41")))
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .start();
        let lock = acquire(&client, Some(Duration::from_secs(60))).await;
        assert!(lock.is_ok());
        server.finish();
    }

    #[tokio::test(start_paused = true)]
    async fn with_wait_a_lock_still_held_at_the_deadline_is_refused() {
        let mut script = Script::new();
        // Read every 500 ms for the second waited, and once more at the deadline.
        for _ in 0..3 {
            script = script.get(lease_path(), ok(held_by("ann@desk (pid 7)", 0, "41")));
        }
        let (client, server) = script.start();
        let error = acquire(&client, Some(Duration::from_secs(1)))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(error.starts_with("cluster shop is still busy after waiting 1s: ann@desk (pid 7)"));
        server.finish();
    }

    #[tokio::test]
    async fn release_deletes_the_lease_on_the_condition_it_is_unchanged() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by(&identity(), 0, "43")))
            .delete(lease_path(), success())
            .start();
        acquire(&client, None)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        let calls = server.finish();
        assert_eq!(calls[3].body["preconditions"]["resourceVersion"], "43");
    }

    #[tokio::test]
    async fn release_leaves_a_lease_another_holder_has_taken_over() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by("bob@laptop (pid 3)", 0, "44")))
            .start();
        acquire(&client, None)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        server.finish();
    }

    #[tokio::test]
    async fn release_reads_a_lease_changed_meanwhile_again_and_deletes_it_while_still_ours() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by(&identity(), 0, "43")))
            // A renewal landed between the read and the delete.
            .delete(lease_path(), conflict("the object has been modified"))
            .get(lease_path(), ok(held_by(&identity(), 0, "44")))
            .delete(lease_path(), success())
            .start();
        acquire(&client, None)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        let calls = server.finish();
        assert_eq!(calls[5].body["preconditions"]["resourceVersion"], "44");
    }

    #[tokio::test]
    async fn release_of_a_lease_gone_or_taken_over_meanwhile_is_no_error() {
        for after_conflict in [
            not_found("leases", LEASE),
            ok(held_by("bob@laptop (pid 3)", 0, "45")),
        ] {
            let (client, server) = Script::new()
                .get(lease_path(), not_found("leases", LEASE))
                .post(leases_path(), echo())
                .get(lease_path(), ok(held_by(&identity(), 0, "43")))
                .delete(lease_path(), conflict("the object has been modified"))
                .get(lease_path(), after_conflict)
                .start();
            acquire(&client, None)
                .await
                .unwrap()
                .release()
                .await
                .unwrap();
            server.finish();
        }
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by(&identity(), 0, "43")))
            .delete(lease_path(), not_found("leases", LEASE))
            .start();
        acquire(&client, None)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        server.finish();
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_lock_is_renewed_every_two_seconds() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by(&identity(), 0, "50")))
            .put(lease_path(), echo())
            .get(lease_path(), ok(held_by(&identity(), 0, "51")))
            .put(lease_path(), echo())
            .start();
        let lock = acquire(&client, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(4500)).await;
        assert!(lock.ensure_held().is_ok());
        drop(lock);
        let calls = server.finish();
        assert_eq!(calls[3].body["metadata"]["resourceVersion"], "50");
        assert_eq!(calls[5].body["metadata"]["resourceVersion"], "51");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_taken_over_by_another_holder_is_lost_at_the_next_renewal() {
        let (client, server) = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo())
            .get(lease_path(), ok(held_by("bob@laptop (pid 3)", 0, "60")))
            .start();
        let lock = acquire(&client, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let error = lock.ensure_held().unwrap_err().to_string();
        assert_eq!(
            error,
            "lost the cluster's operation lock (Lease shop-operation): stopping before the next change"
        );
        server.finish();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_not_renewed_for_a_lease_duration_is_lost() {
        let mut script = Script::new()
            .get(lease_path(), not_found("leases", LEASE))
            .post(leases_path(), echo());
        for _ in 0..4 {
            script = script.get(lease_path(), failure(500, "InternalError", "etcd down"));
        }
        let (client, server) = script.start();
        let lock = acquire(&client, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(6500)).await;
        assert!(lock.ensure_held().is_ok(), "still within the lease at 6s");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(lock.ensure_held().is_err(), "given up 2s before it expires");
        drop(lock);
        server.finish();
    }

    #[tokio::test]
    async fn current_names_the_live_holder_and_nothing_for_an_expired_lock() {
        let (client, server) = Script::new()
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 2, "41")))
            .get(lease_path(), ok(held_by("ann@desk (pid 7)", 30, "41")))
            .get(lease_path(), not_found("leases", LEASE))
            .start();
        let holder = current(&client, NS, "shop").await.unwrap().unwrap();
        assert_eq!(holder.holder, "ann@desk (pid 7)");
        assert_eq!(holder.operation, "switchover");
        assert!(current(&client, NS, "shop").await.unwrap().is_none());
        assert!(current(&client, NS, "shop").await.unwrap().is_none());
        server.finish();
    }
}
