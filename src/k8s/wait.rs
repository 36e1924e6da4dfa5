//! Polling a pod until it reaches a phase, failing early when it is stuck for a reason that
//! waiting will not heal. A deadline that passes says what was last seen, not just "timed out".
use crate::k8s::pods::{pod_phase, stuck_reason, PodPhase};
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::ListParams;
use kube::Api;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);

tokio::task_local! {
    /// What the waits inside the innermost `with_timeout` last saw (a pod's phase, a failing
    /// attempt's error): its timeout error reports it.
    static LAST_SEEN: Arc<Mutex<Option<String>>>;
}

/// Records what a wait last saw, for the deadline's error (no-op outside `with_timeout` and
/// `until_some`): a check of `until_some` calls it to say what it saw instead of what it awaits.
pub fn note(seen: String) {
    let _ = LAST_SEEN.try_with(|last| {
        if let Ok(mut last) = last.lock() {
            *last = Some(seen);
        }
    });
}

/// Waits until `pod`'s phase satisfies `wanted`; returns that phase.
pub async fn pod_until(
    pods: &Api<Pod>,
    pod: &str,
    what: &str,
    wanted: impl Fn(&PodPhase) -> bool,
) -> Result<PodPhase> {
    let started = Timestamp::now();
    let mut missing_since: Option<std::time::Instant> = None;
    loop {
        let current = pods
            .get_opt(pod)
            .await
            .with_context(|| format!("cannot read pod {pod}"))?;
        let phase = pod_phase(current.as_ref());
        if wanted(&phase) {
            return Ok(phase);
        }
        if let Some(reason) = current.as_ref().and_then(stuck_reason) {
            bail!("pod {pod} cannot start ({reason}) while waiting until it {what}");
        }
        // A pod the API server refuses to create never appears: its StatefulSet's event says
        // why (admission: Pod Security, a quota, a missing ServiceAccount), at once.
        if current.is_none() {
            let since = *missing_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= REFUSAL_AFTER {
                if let Some(refusal) = creation_refused(pods, pod, started).await {
                    bail!("pod {pod} cannot be created: {refusal}");
                }
            }
        } else {
            missing_since = None;
        }
        note(format!("pod {pod} is {phase:?}, waiting until it {what}"));
        tokio::time::sleep(POLL).await;
    }
}

/// How long a pod may be missing before its StatefulSet's events are read for a refusal.
const REFUSAL_AFTER: Duration = Duration::from_secs(2);

/// The API server's refusal of `pod` as its StatefulSet's newest FailedCreate event (since
/// `since`) tells it: only a refusal ("is forbidden"), not a pod still terminating.
async fn creation_refused(pods: &Api<Pod>, pod: &str, since: Timestamp) -> Option<String> {
    let owner = pod.rsplit_once('-')?.0;
    let namespace = pods.namespace()?.to_string();
    let events: Api<Event> = Api::namespaced(pods.clone().into_client(), &namespace);
    let selector =
        format!("involvedObject.kind=StatefulSet,involvedObject.name={owner},reason=FailedCreate");
    let listed = events
        .list(&ListParams::default().fields(&selector))
        .await
        .ok()?;
    refusal_among(&listed.items, pod, since)
}

/// Of `events` (a StatefulSet's FailedCreate events), the newest refusal of `pod` at or after
/// `since`: its message from "is forbidden: " on.
fn refusal_among(events: &[Event], pod: &str, since: Timestamp) -> Option<String> {
    let named = format!("Pod {pod} ");
    events
        .iter()
        .filter_map(|e| {
            let when = e
                .last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))?;
            // The event's time has a second's resolution.
            (when.as_second() + 1 >= since.as_second()).then_some((when, e.message.as_deref()?))
        })
        .filter(|(_, m)| m.contains(&named))
        .filter_map(|(when, m)| Some((when, m.split_once("is forbidden: ")?.1.trim())))
        .max_by_key(|(when, _)| *when)
        .map(|(_, why)| why.to_string())
}

pub async fn until_ready(pods: &Api<Pod>, pod: &str) -> Result<()> {
    pod_until(pods, pod, "is ready", |p| {
        *p == PodPhase::Running { ready: true }
    })
    .await
    .map(|_| ())
}

pub async fn until_server_runs(pods: &Api<Pod>, pod: &str) -> Result<()> {
    pod_until(pods, pod, "runs its database server", |p| {
        matches!(p, PodPhase::Running { .. })
    })
    .await
    .map(|_| ())
}

/// Waits until no object of `api` carries `labels` (pods stopped, claims gone); `on_count` hears
/// each new count of what is left.
pub async fn until_none_left<K>(
    api: &Api<K>,
    labels: &str,
    mut on_count: impl FnMut(usize),
) -> Result<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut last = 0;
    loop {
        let left = api
            .list(&kube::api::ListParams::default().labels(labels))
            .await
            .with_context(|| format!("cannot list {}s", K::kind(&())))?
            .items
            .len();
        if left == 0 {
            return Ok(());
        }
        if left != last {
            last = left;
            note(format!("{left} {}(s) left", K::kind(&())));
            on_count(left);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `work` with a deadline; the error names what was being waited for and, when a wait
/// inside recorded it, what it saw last.
pub async fn with_timeout<T>(
    limit: Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let seen = Arc::new(Mutex::new(None));
    match tokio::time::timeout(limit, LAST_SEEN.scope(seen.clone(), work)).await {
        Ok(result) => result,
        Err(_) => {
            let last = seen.lock().ok().and_then(|mut s| s.take());
            match last {
                Some(last) => bail!(
                    "timed out after {}s while {what} (last seen: {last})",
                    limit.as_secs()
                ),
                None => bail!("timed out after {}s while {what}", limit.as_secs()),
            }
        }
    }
}

/// The error of an `until_some` whose time ran out: what it waited for and what its checks
/// last saw. A caller that tells a timeout in its own words tests for it (`error.is::<TimedOut>()`).
#[derive(Debug)]
pub struct TimedOut {
    pub after: Duration,
    pub what: String,
    pub last_seen: Option<String>,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {}s waiting until {}",
            self.after.as_secs(),
            self.what
        )?;
        match &self.last_seen {
            Some(last) => write!(f, " (last seen: {last})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TimedOut {}

/// Polls `check` every half second until it gives a value, for at most `limit` (it is asked at
/// least once, and once more when the time is up); an error of `check` ends the wait at once.
/// What `check` notes (`note`) is what the timeout error (`TimedOut`) and an enclosing
/// `with_timeout` say was last seen.
pub async fn until_some<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let outer = LAST_SEEN.try_with(Arc::clone).ok();
    let seen = Arc::new(Mutex::new(None));
    let started = tokio::time::Instant::now();
    loop {
        let timed_out = started.elapsed() >= limit;
        if let Some(value) = LAST_SEEN.scope(seen.clone(), check()).await? {
            return Ok(value);
        }
        let last = seen.lock().ok().and_then(|s| s.clone());
        if let (Some(outer), Some(last)) = (&outer, &last) {
            if let Ok(mut outer) = outer.lock() {
                *outer = Some(last.clone());
            }
        }
        if timed_out {
            return Err(TimedOut {
                after: limit,
                what: what.into(),
                last_seen: last,
            }
            .into());
        }
        tokio::time::sleep(POLL.min(limit.saturating_sub(started.elapsed()))).await;
    }
}

/// Retries `attempt` every half second until it succeeds (e.g. a server that is still starting),
/// for at most `limit`; then fails with the last error.
pub async fn retry<T, F, Fut>(limit: Duration, what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if started.elapsed() >= limit => {
                return Err(error.context(format!(
                    "still failing after {}s while {what}",
                    started.elapsed().as_secs()
                )))
            }
            Err(error) => note(format!("{what}: {error:#}")),
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_refused_pod_is_told_by_its_statefulsets_newest_refusal() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let event = |second: i64, message: &str| Event {
            last_timestamp: Some(Time(at(second))),
            message: Some(message.into()),
            ..Default::default()
        };
        let psa = "create Pod db-1 in StatefulSet db failed error: pods \"db-1\" is forbidden: violates PodSecurity \"restricted:latest\": runAsNonRoot != true";
        let quota = "create Pod db-1 in StatefulSet db failed error: pods \"db-1\" is forbidden: exceeded quota: none, requested: pods=1";
        let events = [
            event(90, psa),
            event(105, "create Pod db-1 in StatefulSet db failed error: object is being deleted: pods \"db-1\" already exists"),
            event(106, quota.replace("db-1", "db-2").as_str()),
            event(104, quota),
        ];
        assert_eq!(
            refusal_among(&events, "db-1", at(100)).as_deref(),
            Some("exceeded quota: none, requested: pods=1")
        );
        // Older than the wait: not this wait's refusal.
        assert_eq!(refusal_among(&events[..1], "db-1", at(100)), None);
        // A pod still being deleted is no refusal.
        assert_eq!(refusal_among(&events[1..2], "db-1", at(100)), None);
        assert_eq!(refusal_among(&events, "db-3", at(0)), None);
        assert!(refusal_among(&events[..1], "db-1", at(0))
            .unwrap()
            .starts_with("violates PodSecurity"));
    }

    use super::*;
    use anyhow::anyhow;

    #[tokio::test]
    async fn retry_gives_up_with_the_last_error() {
        let mut n = 0;
        let error = retry(Duration::from_millis(100), "waiting for the server", || {
            n += 1;
            let attempt = n;
            async move { Err::<(), _>(anyhow!("attempt {attempt} refused")) }
        })
        .await
        .unwrap_err();
        assert_eq!(n, 2);
        assert_eq!(
            format!("{error:#}"),
            "still failing after 0s while waiting for the server: attempt 2 refused"
        );
    }

    #[tokio::test]
    async fn retry_returns_the_first_success() {
        let mut n = 0;
        let value = retry(Duration::from_secs(10), "counting", || {
            n += 1;
            let attempt = n;
            async move {
                if attempt < 2 {
                    bail!("not yet")
                }
                Ok(attempt)
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn until_some_polls_until_the_check_gives_a_value() {
        let mut looks = 0;
        let started = tokio::time::Instant::now();
        let value = until_some(Duration::from_secs(10), "the third look", || {
            looks += 1;
            let look = looks;
            async move {
                note(format!("look {look}"));
                Ok((look == 3).then_some(look * 10))
            }
        })
        .await
        .unwrap();
        assert_eq!((value, looks), (30, 3));
        assert_eq!(started.elapsed(), 2 * POLL);
    }

    #[tokio::test(start_paused = true)]
    async fn until_some_times_out_saying_what_it_saw_last() {
        let mut looks = 0;
        let started = tokio::time::Instant::now();
        let error = until_some(Duration::from_secs(2), "pod shop-1 is made anew", || {
            looks += 1;
            let look = looks;
            async move {
                note(format!("pod shop-1 is the old one (look {look})"));
                Ok(None::<()>)
            }
        })
        .await
        .unwrap_err();
        // Asked at 0, 0.5, 1, 1.5 and when the time is up.
        assert_eq!(looks, 5);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(
            error.to_string(),
            "timed out after 2s waiting until pod shop-1 is made anew (last seen: pod shop-1 is the old one (look 5))"
        );
        let timed_out = error.downcast_ref::<TimedOut>().unwrap();
        assert_eq!(timed_out.after, Duration::from_secs(2));

        // Nothing noted: nothing said; an error of the check ends the wait at once.
        let error = until_some(Duration::from_secs(1), "never", || async { Ok(None::<()>) })
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "timed out after 1s waiting until never");
        let error = until_some(Duration::from_secs(60), "never", || async {
            Err::<Option<()>, _>(anyhow!("cannot read pod shop-1"))
        })
        .await
        .unwrap_err();
        assert!(!error.is::<TimedOut>());
        assert_eq!(error.to_string(), "cannot read pod shop-1");
    }

    #[tokio::test(start_paused = true)]
    async fn an_enclosing_timeout_hears_what_until_some_saw() {
        let error = with_timeout(
            Duration::from_secs(3),
            "scaling shop to 1",
            until_some(
                Duration::from_secs(600),
                "pod shop-1 is removed",
                || async {
                    note("pod shop-1 still exists".into());
                    Ok(None::<()>)
                },
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "timed out after 3s while scaling shop to 1 (last seen: pod shop-1 still exists)"
        );
    }

    #[tokio::test]
    async fn a_timeout_says_what_it_saw_last() {
        let error = with_timeout(
            Duration::from_millis(800),
            "bringing up shop-1",
            retry(Duration::from_secs(60), "asking mariadbd", || async {
                Err::<(), _>(anyhow!("connection refused"))
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "timed out after 0s while bringing up shop-1 (last seen: asking mariadbd: connection refused)"
        );
        let error = with_timeout(Duration::from_millis(10), "idling", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(error.to_string(), "timed out after 0s while idling");
    }
}
