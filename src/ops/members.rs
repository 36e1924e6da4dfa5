//! The seam between the moves of the primary (failover, switchover) and the members they move:
//! every step they take on a member (fence, stop receiving, promote, follow, record...) is a
//! method of `Members`. `ClusterMembers` takes each step on the real cluster through
//! `topology`; tests script a fake (`fake::Scripted`) and read back the steps taken, in order.
use crate::cluster::{observe, observe_after, Cluster, ServerState};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::k8s::wait;
use crate::manifests::Passwords;
use crate::ops::topology;
use anyhow::{Context as _, Result};
use kube::api::DeleteParams;
use std::future::Future;
use std::time::Duration;

#[cfg(test)]
pub mod fake;

/// The steps a move of the primary takes on a cluster's members, and what it records beside
/// them (events, the operation lock). Each step is one of `topology`'s, unchanged.
pub trait Members: Sync {
    /// The cluster's name (for the commands a message suggests).
    fn cluster_name(&self) -> &str;

    /// Every member's name, in ordinal order.
    fn member_names(&self) -> Vec<String>;

    /// Fails when the operation lock was lost: called before each step that cannot be undone.
    fn ensure_lock_held(&self) -> Result<()>;

    /// Records a step of the operation (an Event; about member `pod` when given).
    fn event(&self, pod: Option<&str>, reason: Reason, note: String);

    /// Points the write Service at `pod`, or at no pod.
    fn point_write_service(&self, pod: Option<&str>) -> impl Future<Output = Result<()>> + Send;

    /// What `pod`'s server says about itself.
    fn observe(&self, pod: &str) -> impl Future<Output = Result<ServerState>> + Send;

    /// Stops writes on `pod` (read-only, held, sessions cut); the GTID position it wrote.
    fn fence(&self, pod: &str) -> impl Future<Output = Result<String>> + Send;

    /// Kills the server of a `pod` that does not answer SQL, so that it restarts held
    /// read-only; fails within `limit` when its container cannot be reached.
    fn stop_and_hold(&self, pod: &str, limit: Duration) -> impl Future<Output = Result<()>> + Send;

    /// Stops `pod` receiving from its source, then reads its state.
    fn stop_receiving(&self, pod: &str) -> impl Future<Output = Result<ServerState>> + Send;

    /// Makes `pod` the writable primary once it has applied `position` (within `limit`); a
    /// wait that runs out leaves it a replica.
    fn promote(
        &self,
        pod: &str,
        position: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Makes `pod` replicate from `primary` (`former_primary`: it was writable, and loses its
    /// hold once it follows).
    fn follow(
        &self,
        pod: &str,
        primary: &str,
        former_primary: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Makes `pod` writable again (a switchover given up).
    fn set_writable(&self, pod: &str) -> impl Future<Output = Result<()>> + Send;

    /// Removes the hold a fence or stop_and_hold left on `pod`.
    fn release_hold(&self, pod: &str) -> impl Future<Output = Result<()>> + Send;

    /// Makes `pod` the primary of record (ConfigMap, write Service, members' copies).
    fn record_primary(&self, pod: &str) -> impl Future<Output = Result<()>> + Send;

    /// Deletes `pod` at once (one already gone is no error): it restarts in its role of record.
    fn restart_now(&self, pod: &str) -> impl Future<Output = Result<()>> + Send;

    /// Waits until `pod` is ready.
    fn wait_ready(&self, pod: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The members of a real cluster, reached through the API server and exec.
pub struct ClusterMembers<'a> {
    ctx: &'a Context,
    cluster: &'a Cluster,
    passwords: &'a Passwords,
}

impl<'a> ClusterMembers<'a> {
    /// The members of `cluster`, moved under `ctx` (its lock and events), repointed with
    /// `passwords`.
    pub fn new(ctx: &'a Context, cluster: &'a Cluster, passwords: &'a Passwords) -> Self {
        ClusterMembers {
            ctx,
            cluster,
            passwords,
        }
    }
}

impl Members for ClusterMembers<'_> {
    fn cluster_name(&self) -> &str {
        &self.cluster.name
    }

    fn member_names(&self) -> Vec<String> {
        self.cluster
            .members
            .iter()
            .map(|m| m.name.clone())
            .collect()
    }

    fn ensure_lock_held(&self) -> Result<()> {
        self.ctx.ensure_lock_held()
    }

    fn event(&self, pod: Option<&str>, reason: Reason, note: String) {
        match pod {
            Some(pod) => self.ctx.member_event(pod, reason, note),
            None => self.ctx.event(reason, note),
        }
    }

    async fn point_write_service(&self, pod: Option<&str>) -> Result<()> {
        topology::point_write_service(self.cluster, pod).await
    }

    async fn observe(&self, pod: &str) -> Result<ServerState> {
        observe(self.cluster.server(pod)).await
    }

    async fn fence(&self, pod: &str) -> Result<String> {
        topology::fence(self.cluster, pod).await
    }

    async fn stop_and_hold(&self, pod: &str, limit: Duration) -> Result<()> {
        topology::stop_and_hold(self.cluster, pod, limit).await
    }

    async fn stop_receiving(&self, pod: &str) -> Result<ServerState> {
        let statements = self.cluster.engine.stop_receiving_statements();
        let stop: Vec<&str> = statements.iter().map(String::as_str).collect();
        observe_after(self.cluster.server(pod), &stop).await
    }

    async fn promote(&self, pod: &str, position: &str, limit: Duration) -> Result<()> {
        topology::promote(self.cluster, pod, position, limit).await
    }

    async fn follow(&self, pod: &str, primary: &str, former_primary: bool) -> Result<()> {
        topology::follow(self.cluster, pod, primary, self.passwords, former_primary).await
    }

    async fn set_writable(&self, pod: &str) -> Result<()> {
        let cluster = self.cluster;
        crate::cluster::sql::execute(cluster.server(pod), cluster.engine.writable_statements())
            .await
    }

    async fn release_hold(&self, pod: &str) -> Result<()> {
        topology::release_hold(self.cluster, pod).await
    }

    async fn record_primary(&self, pod: &str) -> Result<()> {
        topology::record_primary(self.cluster, pod)
            .await
            .map(|_| ())
    }

    async fn restart_now(&self, pod: &str) -> Result<()> {
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        match self.cluster.pods.delete(pod, &now).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e).context("cannot restart the old primary"),
        }
    }

    async fn wait_ready(&self, pod: &str) -> Result<()> {
        wait::until_ready(&self.cluster.pods, pod).await
    }
}
