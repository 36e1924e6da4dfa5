//! Filling several members at once (create, scale): every member that waits for data is
//! cloned as soon as a donor has a free stream. Donors are the serving members, replicas before
//! the primary (whose write latency the streams would hurt), the least busy first; a member
//! that has joined serves as a donor for the rest. Each member then starts replication and
//! catches up on its own, at the same time as the others.
use crate::base::progress::{Progress, Task};
use crate::cluster::{pod_phase, Cluster, PodPhase};
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::Passwords;
use crate::ops::clone;
use anyhow::{anyhow, Result};
use std::sync::Mutex;
use tokio::sync::{oneshot, Notify};

/// How many clones one donor streams at once (never more than the engine allows:
/// Engine::clones_per_donor).
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    pub from_primary: usize,
    pub from_replica: usize,
}

/// A new cluster: nothing writes yet, so the primary serves every replica at once (MariaDB;
/// MySQL's donors serve one clone each, and a joined replica serves the next).
pub const CREATE: Streams = Streams {
    from_primary: usize::MAX,
    from_replica: usize::MAX,
};

/// A serving cluster: two streams per donor. Here every donor shares one disk and two cores
/// with the others, so a second stream mostly overlaps a backup's own fixed costs (its start,
/// its end) and a third would only split the same disk (a stream is given back when it ends,
/// before the recipient prepares and starts); replicas serve first to
/// spare the primary's commit latency (tests/bench/scale measures it).
pub const SCALE: Streams = Streams {
    from_primary: 2,
    from_replica: 2,
};

/// A member's own way to serving, after its donor was chosen (create and scale differ: scale
/// re-clones a returning member that diverged).
pub enum Fill {
    /// Clone if waiting for data, else finish what is left (replication, catch-up).
    Ensure,
    /// Throw the member's data away and re-clone it.
    Rebuild,
}

/// Brings every member in `targets` to serving at once, cloning from the members in `donors`
/// (serving already) and from each target as soon as it has joined. Every member is carried
/// as far as it goes; the error names each that failed.
pub async fn fill(
    ctx: &Context,
    cluster: &Cluster,
    progress: &Progress,
    donors: &[String],
    targets: Vec<(String, Fill)>,
    streams: Streams,
    passwords: &Passwords,
) -> Result<()> {
    let most = cluster.engine.clones_per_donor();
    let streams = Streams {
        from_primary: streams.from_primary.min(most),
        from_replica: streams.from_replica.min(most),
    };
    let pool = Pool::new(&cluster.primary, donors, streams);
    let work = targets.into_iter().map(|(pod, how)| {
        let task = progress.task(&pod);
        let pool = &pool;
        async move {
            let done = fill_one(ctx, cluster, pool, &pod, how, &task, passwords).await;
            match &done {
                Ok(()) => {
                    pool.add(&pod);
                    task.finish("replica ready");
                    ctx.member_event(
                        &pod,
                        Reason::MemberJoined,
                        format!("{pod} serves as a replica of {}", cluster.primary),
                    );
                }
                Err(e) => task.finish(&format!("failed: {e:#}")),
            }
            done.map_err(|e| e.context(format!("{pod} did not join")))
        }
    });
    let failed: Vec<anyhow::Error> = futures::future::join_all(work)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    let mut failed = failed.into_iter();
    match failed.next() {
        None => Ok(()),
        Some(first) => {
            let others = failed.map(|e| format!("{e:#}")).collect::<Vec<_>>();
            if others.is_empty() {
                Err(first)
            } else {
                Err(first.context(format!("also: {}", others.join("; "))))
            }
        }
    }
}

async fn fill_one(
    ctx: &Context,
    cluster: &Cluster,
    pool: &Pool,
    pod: &str,
    how: Fill,
    task: &Task,
    passwords: &Passwords,
) -> Result<()> {
    task.set("waiting for the pod");
    let phase = crate::k8s::wait::pod_until(&cluster.pods, pod, "starts", |p| {
        matches!(p, PodPhase::WaitingForData | PodPhase::Running { .. })
    })
    .await?;
    let needs_clone = phase == PodPhase::WaitingForData || matches!(how, Fill::Rebuild);
    if !needs_clone {
        clone::ensure_member(cluster, pod, passwords, task).await?;
        return clone::catch_up(cluster, pod, task).await;
    }
    if phase == PodPhase::WaitingForData && pod != cluster.primary {
        clone::prepare_to_receive(cluster, pod, task).await?;
    }
    task.set("waiting for a donor with a free stream");
    let stream = pool.take().await;
    let name = stream.name.clone();
    ctx.member_event(pod, Reason::Cloning, format!("{pod} is cloned from {name}"));
    let (donor, stream_ended) = clone::Donor::watched(&name);
    let clone = async {
        match how {
            Fill::Ensure => {
                clone::ensure_member_from(cluster, pod, Some(donor), passwords, task).await
            }
            Fill::Rebuild => clone::rebuild(cluster, pod, donor, passwords, task).await,
        }
    };
    // The donor serves the next member as soon as the stream to this one has ended, while this
    // one still prepares its data, starts and joins.
    let (cloned, ()) = tokio::join!(clone, stream.give_back_when(stream_ended));
    cloned?;
    clone::catch_up(cluster, pod, task).await
}

/// The donors and how many streams each serves now.
struct Pool {
    donors: Mutex<Vec<Donor>>,
    freed: Notify,
    streams: Streams,
    primary: String,
}

struct Donor {
    name: String,
    busy: usize,
}

/// A stream taken from a donor, given back when dropped.
struct Lease<'a> {
    pool: &'a Pool,
    name: String,
}

impl Lease<'_> {
    /// Holds the stream until `ended` says so: the clone's stream has ended, or the clone has
    /// let go of its donor (it failed, or had nothing to stream).
    async fn give_back_when(self, ended: oneshot::Receiver<()>) {
        let _ = ended.await;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Ok(mut donors) = self.pool.donors.lock() {
            if let Some(d) = donors.iter_mut().find(|d| d.name == self.name) {
                d.busy -= 1;
            }
        }
        self.pool.freed.notify_waiters();
    }
}

impl Pool {
    fn new(primary: &str, donors: &[String], streams: Streams) -> Self {
        Self {
            donors: Mutex::new(
                donors
                    .iter()
                    .map(|name| Donor {
                        name: name.clone(),
                        busy: 0,
                    })
                    .collect(),
            ),
            freed: Notify::new(),
            streams,
            primary: primary.to_string(),
        }
    }

    fn limit(&self, donor: &str) -> usize {
        if donor == self.primary {
            self.streams.from_primary
        } else {
            self.streams.from_replica
        }
    }

    /// A stream from the best donor that has one free, waiting until one has.
    async fn take(&self) -> Lease<'_> {
        loop {
            let freed = self.freed.notified();
            if let Some(name) = self.try_take() {
                return Lease { pool: self, name };
            }
            freed.await;
        }
    }

    fn try_take(&self) -> Option<String> {
        let mut donors = self.donors.lock().ok()?;
        let best = donors
            .iter_mut()
            .filter(|d| d.busy < self.limit(&d.name))
            .min_by_key(|d| (d.name == self.primary, d.busy))?;
        best.busy += 1;
        Some(best.name.clone())
    }

    /// `pod` has joined: it serves as a donor from now on.
    fn add(&self, pod: &str) {
        if let Ok(mut donors) = self.donors.lock() {
            donors.push(Donor {
                name: pod.to_string(),
                busy: 0,
            });
        }
        self.freed.notify_waiters();
    }
}

/// The members that serve now (their pod is ready): the donors a fill starts with.
pub fn serving(cluster: &Cluster) -> Vec<String> {
    cluster
        .members
        .iter()
        .filter(|m| pod_phase(m.pod.as_ref()) == (PodPhase::Running { ready: true }))
        .map(|m| m.name.clone())
        .collect()
}

/// No donor is serving: the error a fill with nothing to clone from gives.
pub fn no_donor(cluster: &Cluster) -> anyhow::Error {
    anyhow!(
        "no healthy donor: no member of cluster {} is ready (primary {})",
        cluster.name,
        cluster.primary
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(donors: &[&str], streams: Streams) -> Pool {
        let donors: Vec<String> = donors.iter().map(|d| d.to_string()).collect();
        Pool::new("db-0", &donors, streams)
    }

    #[test]
    fn replicas_serve_before_the_primary_the_least_busy_first() {
        let p = pool(&["db-0", "db-1", "db-2"], SCALE);
        let taken: Vec<String> = (0..6).filter_map(|_| p.try_take()).collect();
        assert_eq!(taken, ["db-1", "db-2", "db-1", "db-2", "db-0", "db-0"]);
        assert_eq!(p.try_take(), None, "every donor serves its limit");
    }

    #[test]
    fn a_freed_stream_and_a_joined_member_serve_the_next_clone() {
        let p = pool(&["db-0"], SCALE);
        let first = Lease {
            pool: &p,
            name: p.try_take().unwrap(),
        };
        assert_eq!(p.try_take().as_deref(), Some("db-0"));
        assert_eq!(p.try_take(), None);
        drop(first);
        assert_eq!(p.try_take().as_deref(), Some("db-0"));
        p.add("db-1");
        assert_eq!(p.try_take().as_deref(), Some("db-1"));
    }

    #[tokio::test]
    async fn a_stream_is_given_back_when_it_ends_or_its_clone_lets_go() {
        let one = Streams {
            from_primary: 1,
            from_replica: 1,
        };
        let p = pool(&["db-0"], one);
        let (ended, stream_ended) = oneshot::channel();
        let held = p.take().await.give_back_when(stream_ended);
        tokio::pin!(held);
        assert!(futures::poll!(&mut held).is_pending());
        assert_eq!(p.try_take(), None, "held until its stream ends");
        ended.send(()).unwrap();
        held.await;
        let (failed_clone, let_go) = oneshot::channel::<()>();
        let held = p.take().await.give_back_when(let_go);
        drop(failed_clone);
        held.await;
        assert_eq!(p.try_take().as_deref(), Some("db-0"));
    }

    #[test]
    fn a_new_cluster_clones_every_replica_from_the_primary_at_once() {
        let p = pool(&["db-0"], CREATE);
        assert!((0..8).all(|_| p.try_take().as_deref() == Some("db-0")));
    }
}
