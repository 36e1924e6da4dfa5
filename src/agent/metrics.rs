//! What the agent exports on `/metrics` (Prometheus text format, on port
//! `manifests::agent::METRICS_PORT` of both its pods): what only the agent knows (who leads, the
//! primary's last answer, its decisions and failovers), and, from its leader, the report
//! `status` shows (cluster::health), taken every REFRESH_EVERY. A scrape renders the last
//! snapshot: it never waits on a member or the API server. docs/metrics.md lists every metric.
use crate::base::exposition::{flag, Page, CONTENT_TYPE};
use crate::cluster::health::{Report, Verdict};
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use crate::k8s::events::Reason;
use crate::manifests::agent as objects;
use anyhow::{Context as _, Result};
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How often the leader takes the cluster's report for the page.
const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// The longest one report may take (a member that does not answer is said so by then).
const REFRESH_LIMIT: Duration = Duration::from_secs(8);

/// What this agent process has seen, for the page.
#[derive(Debug, Default)]
pub struct Seen {
    leading: bool,
    /// The leader's last probe of the primary of record.
    primary: Option<PrimarySeen>,
    /// The last silence of a primary of record this pod saw while leading (going on or ended),
    /// kept after it ends and after the lead passes on: a scrape every few seconds must not
    /// miss a silence that a failover ended quickly, nor one whose leader handed on its lead.
    silence: Option<Silence>,
    /// Decisions said (Events) since this process started, by reason.
    decisions: BTreeMap<&'static str, u64>,
    /// Automatic failovers run since this process started: done, failed.
    failovers: [u64; 2],
    last_failover: Option<Duration>,
    /// The last report the leader took, and when.
    report: Option<(Report, Instant)>,
}

#[derive(Debug)]
struct PrimarySeen {
    name: String,
    answered: bool,
    last_answer: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Silence {
    /// The primary of record that went silent.
    member: String,
    started: Instant,
    /// When it started, as Unix time.
    started_unix: f64,
    /// How long it lasted (so far, while it goes on).
    lasted: Duration,
    going_on: bool,
    /// The agent judged the primary lost during it (its PrimaryLost decision): a failover can
    /// end a silence within a second of its start, before it looks long.
    lost: bool,
}

impl Silence {
    /// The silence after a probe at `at` (`at_unix` as Unix time): the last one, gone on,
    /// ended or begun.
    fn after(
        last: Option<Silence>,
        primary: &str,
        answered: bool,
        at: Instant,
        at_unix: f64,
    ) -> Option<Silence> {
        match (last, answered) {
            (Some(s), _) if s.going_on => Some(Silence {
                lasted: at.saturating_duration_since(s.started),
                going_on: !answered,
                ..s
            }),
            (last, true) => last,
            (_, false) => Some(Silence {
                member: primary.to_string(),
                started: at,
                started_unix: at_unix,
                lasted: Duration::ZERO,
                going_on: true,
                lost: false,
            }),
        }
    }
}

/// The decisions of the agent's rules (agent/machine.rs), counted from 0.
const DECISIONS: &[Reason] = &[
    Reason::AgentLeader,
    Reason::PrimaryUnreachable,
    Reason::PrimaryAnswersAgain,
    Reason::AgentPartitioned,
    Reason::FailoverCooldown,
    Reason::FailoverRefused,
    Reason::PrimaryLost,
    Reason::AutomaticFailover,
    Reason::AgentHandOff,
    Reason::PrimaryLeaving,
    Reason::PrimaryNotReady,
    Reason::PrimaryNotServing,
    Reason::PrimaryMadeWritable,
    Reason::ReplicasReconnected,
    Reason::Rejoined,
    Reason::OutOfService,
    Reason::AutoRebuild,
    Reason::Rebuilt,
];

static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Default::default);

fn seen() -> std::sync::MutexGuard<'static, Seen> {
    // A panic while holding it leaves numbers, not invariants: keep serving them.
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// This pod leads, or not (then it exports no cluster figures: the leader does).
pub fn leading(leads: bool) {
    let mut s = seen();
    if s.leading != leads {
        s.leading = leads;
        // The last silence stays: a leadership handed on right after a failover (the new
        // primary on the leader's node) must not take the silence with it before a scrape.
        s.primary = None;
        s.report = None;
    }
}

/// The leader probed `primary`.
pub fn probed(primary: &str, answered: bool, at: Instant) {
    let mut s = seen();
    let last_answer = match &s.primary {
        Some(p) if p.name == primary => p.last_answer,
        _ => None,
    };
    s.primary = Some(PrimarySeen {
        name: primary.to_string(),
        answered,
        last_answer: if answered { Some(at) } else { last_answer },
    });
    let at_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(Instant::now().saturating_duration_since(at))
        .as_secs_f64();
    s.silence = Silence::after(s.silence.take(), primary, answered, at, at_unix);
}

/// The agent said a decision (an Event).
pub fn decided(reason: Reason) {
    let mut s = seen();
    *s.decisions.entry(reason.as_str()).or_default() += 1;
    if reason == Reason::PrimaryLost {
        if let Some(silence) = s.silence.as_mut().filter(|s| s.going_on) {
            silence.lost = true;
        }
    }
}

/// An automatic failover ended, well or not, after `took`.
pub fn failed_over(done: bool, took: Duration) {
    let mut s = seen();
    s.failovers[usize::from(!done)] += 1;
    s.last_failover = Some(took);
}

/// The leader's report, kept for the page.
fn reported(report: Report, at: Instant) {
    let mut s = seen();
    if s.leading {
        s.report = Some((report, at));
    }
}

/// While this pod leads, takes the cluster's report every REFRESH_EVERY (each within
/// REFRESH_LIMIT) for the page.
pub async fn keep_reporting(ctx: Context, name: String, leadership: super::leader::Leadership) {
    let mut ticks = tokio::time::interval(REFRESH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if !leadership.leads() {
            continue;
        }
        let taken = async {
            let cluster = Cluster::load(&ctx, &name).await?;
            Ok::<_, anyhow::Error>(crate::cluster::health::report(&cluster).await)
        };
        match tokio::time::timeout(REFRESH_LIMIT, taken).await {
            Ok(Ok(report)) => reported(report, Instant::now()),
            Ok(Err(e)) => super::say(&format!(
                "metrics: cannot read cluster {name}: {}",
                crate::base::one_line(&e)
            )),
            Err(_) => super::say(&format!(
                "metrics: the report of cluster {name} took over {}s",
                REFRESH_LIMIT.as_secs()
            )),
        }
    }
}

/// Serves the page on `port` (any address), one short connection at a time per client.
pub async fn serve(port: u16, cluster: String, namespace: String) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on port {port} for metrics"))?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (cluster, namespace) = (cluster.clone(), namespace.clone());
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), answer(stream, &cluster, &namespace))
                    .await;
        });
    }
}

/// Reads one request's head and answers it: the page for `GET /metrics`, 404 otherwise.
async fn answer(mut stream: tokio::net::TcpStream, cluster: &str, namespace: &str) -> Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let (status, body) = match route(&head) {
        Route::Metrics => {
            let page = render(&seen(), cluster, namespace, Instant::now());
            ("200 OK", page)
        }
        Route::NotFound => ("404 Not Found", "only /metrics here\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await.ok();
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
}

/// `GET /metrics` (a query string allowed) or nothing.
fn route(head: &[u8]) -> Route {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(path)) if path.split('?').next() == Some(objects::METRICS_PATH) => {
            Route::Metrics
        }
        _ => Route::NotFound,
    }
}

/// The page: the agent's own figures, and the leader's last report.
pub fn render(s: &Seen, cluster: &str, namespace: &str, now: Instant) -> String {
    let mut page = Page::with_labels(&[("namespace", namespace), ("cluster", cluster)]);
    page.gauge("mysqlha_agent_info", "The agent's version (always 1).")
        .sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    page.gauge(
        "mysqlha_agent_leader",
        "1 when this agent pod leads (probes the primary, fails over); 0 for its standby.",
    )
    .sample(&[], flag(s.leading));
    let decisions = page.counter(
        "mysqlha_agent_decisions_total",
        "Decisions this agent pod said (each an Event), by reason, since it started.",
    );
    // Every reason the agent decides on is there from the start (at 0): an alert on an
    // increase needs the series before its first decision.
    let mut counts: BTreeMap<&str, u64> = DECISIONS.iter().map(|r| (r.as_str(), 0)).collect();
    counts.extend(s.decisions.iter().map(|(r, n)| (*r, *n)));
    for (reason, n) in &counts {
        decisions.sample(&[("reason", reason)], *n as f64);
    }
    page.counter(
        "mysqlha_agent_failovers_total",
        "Automatic failovers this agent pod ran since it started, by outcome (done, failed).",
    )
    .sample(&[("outcome", "done")], s.failovers[0] as f64)
    .sample(&[("outcome", "failed")], s.failovers[1] as f64);
    if let Some(took) = s.last_failover {
        page.gauge(
            "mysqlha_agent_last_failover_duration_seconds",
            "How long this agent pod's last automatic failover took, from its decision to its end.",
        )
        .sample(&[], took.as_secs_f64());
    }
    if let Some(silence) = &s.silence {
        page.gauge(
            "mysqlha_primary_silence_seconds",
            "How long the primary of record has not answered the leader's probes (0 while it answers).",
        )
        .sample(&[], if silence.going_on { silence.lasted.as_secs_f64() } else { 0.0 });
        // Labelled with the silent member and when the silence began: each silence is a series
        // (and an alert) of its own, the last one only.
        let started = rfc3339(silence.started_unix);
        let which = [
            ("member", silence.member.as_str()),
            ("started", started.as_str()),
        ];
        page.gauge(
            "mysqlha_primary_last_silence_seconds",
            "How long the leader's last silence of a primary lasted (so far, while it goes on); kept after it ends.",
        )
        .sample(&which, silence.lasted.as_secs_f64());
        page.gauge(
            "mysqlha_primary_last_silence_start_timestamp_seconds",
            "When that silence began (Unix time).",
        )
        .sample(&which, silence.started_unix.floor());
        page.gauge(
            "mysqlha_primary_last_silence_judged_lost",
            "1 when the agent judged the primary lost during that silence (its PrimaryLost decision).",
        )
        .sample(&which, flag(silence.lost));
    }
    if !s.leading {
        return page.render();
    }
    if let Some(p) = &s.primary {
        page.gauge(
            "mysqlha_primary_up",
            "1 when the primary of record answered the leader's last probe (every second), else 0.",
        )
        .sample(&[("member", &p.name)], flag(p.answered));
        if let Some(at) = p.last_answer {
            page.gauge(
                "mysqlha_primary_last_answer_age_seconds",
                "Seconds since the primary of record last answered the leader's probe.",
            )
            .sample(&[("member", &p.name)], now.duration_since(at).as_secs_f64());
        }
    }
    if let Some((report, at)) = &s.report {
        page.gauge(
            "mysqlha_report_age_seconds",
            "Seconds since the leader took the report the cluster figures below come from.",
        )
        .sample(&[], now.duration_since(*at).as_secs_f64());
        report_figures(&mut page, report);
    }
    page.render()
}

/// Unix time `t` as RFC 3339 (UTC, whole seconds).
fn rfc3339(t: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.floor() as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A per-member figure: its name, its help, and its value for a member (None: no sample).
type MemberFigure = (
    &'static str,
    &'static str,
    fn(&crate::cluster::health::MemberReport) -> Option<f64>,
);

/// The figures of `status`'s report.
fn report_figures(page: &mut Page, r: &Report) {
    let verdict = page.gauge(
        "mysqlha_cluster_verdict",
        "The cluster's verdict as status says it: 1 for the current one (healthy, degraded, broken).",
    );
    for v in [Verdict::Healthy, Verdict::Degraded, Verdict::Broken] {
        verdict.sample(&[("verdict", &v.to_string())], flag(r.verdict == v));
    }
    page.gauge(
        "mysqlha_cluster_problems",
        "Reasons the verdict is not healthy (status lists them with their remedies).",
    )
    .sample(&[], r.reasons.len() as f64);
    page.gauge("mysqlha_members", "Members of record.")
        .sample(&[], r.members.len() as f64);
    page.gauge("mysqlha_members_ready", "Members whose pod is ready.")
        .sample(&[], r.members.iter().filter(|m| m.ready).count() as f64);

    let ready = page.gauge("mysqlha_member_ready", "1 when the member's pod is ready.");
    for m in &r.members {
        ready.sample(
            &[("member", &m.name), ("role", &m.role.to_string())],
            flag(m.ready),
        );
    }
    use crate::db::engine::{Applier, Receiver};
    let rows: [MemberFigure; 10] = [
        (
            "mysqlha_member_primary",
            "1 for the primary of record, 0 for a replica.",
            |m| Some(flag(m.role == crate::cluster::health::Role::Primary)),
        ),
        (
            "mysqlha_member_read_only",
            "The member's read_only, as its server says it (absent when it could not be asked).",
            |m| m.read_only.map(flag),
        ),
        (
            "mysqlha_member_io_thread_connected",
            "1 when the replica's receiving (IO) thread is connected to its source (replicas only).",
            |m| m.io_thread.as_ref().map(|io| flag(*io == Receiver::Connected)),
        ),
        (
            "mysqlha_member_sql_thread_running",
            "1 when the replica's applying (SQL) thread runs (replicas only).",
            |m| m.sql_thread.as_ref().map(|sql| flag(*sql == Applier::Running)),
        ),
        (
            "mysqlha_member_lag_seconds",
            "The replica's lag behind its source, as its server says it (absent when unknown).",
            |m| m.lag_seconds.map(|l| l as f64),
        ),
        (
            "mysqlha_member_errant_gtid_sets",
            "GTID sets the member holds that the primary lacks (errant transactions); 0 when none.",
            |m| Some(m.errant.len() as f64),
        ),
        (
            "mysqlha_member_error",
            "1 when the member could not be asked or reported an error (status shows it), else 0.",
            |m| Some(flag(m.error.is_some())),
        ),
        (
            "mysqlha_member_binlog_bytes",
            "Bytes of binary logs on the member's disk.",
            |m| m.binary_logs.map(|b| b.bytes as f64),
        ),
        (
            "mysqlha_member_binlog_files",
            "Binary log files on the member's disk.",
            |m| m.binary_logs.map(|b| b.files as f64),
        ),
        (
            "mysqlha_member_certificate_expiry_timestamp_seconds",
            "When the TLS certificate the member's server presents expires (Unix time).",
            |m| {
                let end = m.tls_not_after.as_deref()?;
                let end = time::OffsetDateTime::parse(
                    end,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                Some(end.unix_timestamp() as f64)
            },
        ),
    ];
    for (name, help, value) in rows {
        let family = page.gauge(name, help);
        for m in &r.members {
            if let Some(v) = value(m) {
                family.sample(&[("member", &m.name)], v);
            }
        }
    }

    let d = &r.durability;
    page.gauge(
        "mysqlha_semi_sync_active",
        "1 when the primary waits for a replica's acknowledgement before a commit returns.",
    )
    .sample(&[], flag(d.semi_sync_active));
    page.gauge(
        "mysqlha_semi_sync_fell_back_to_async",
        "1 when semi-sync is the cluster's mode and the primary has replicas, yet commits do not wait.",
    )
    .sample(&[], flag(d.fell_back_to_async));
    page.gauge(
        "mysqlha_semi_sync_acknowledging_replicas",
        "Replicas connected to the primary that acknowledge commits.",
    )
    .sample(&[], d.acknowledging_replicas as f64);
    page.gauge(
        "mysqlha_semi_sync_waiting_sessions",
        "Sessions of the primary waiting for an acknowledgement right now.",
    )
    .sample(&[], d.waiting_sessions as f64);
    page.gauge(
        "mysqlha_semi_sync_longest_wait_seconds",
        "How long the longest of those sessions has waited so far (0 when none waits).",
    )
    .sample(&[], d.longest_wait_seconds as f64);

    page.gauge(
        "mysqlha_operation_running",
        "1 while an operation holds the cluster's lock (a command or the agent), else 0.",
    )
    .sample(&[], flag(r.operation.is_some()));
    if let Some(archive) = &r.archive {
        page.gauge(
            "mysqlha_archive_readable",
            "1 when the binary-log archive's head could be read from the object store.",
        )
        .sample(&[], flag(archive.error.is_none()));
        if let Some(behind) = archive.behind_seconds {
            page.gauge(
                "mysqlha_archive_behind_seconds",
                "Seconds since the archive last held everything its member had logged.",
            )
            .sample(&[], behind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::{Durability, Endpoints, MemberReport, Role};
    use crate::db::engine::{Applier, Receiver};

    fn report() -> Report {
        let member = |name: &str, role, ready| MemberReport {
            name: name.into(),
            role,
            ready,
            read_only: Some(role == Role::Replica),
            ..Default::default()
        };
        let mut replica = member("shop-1", Role::Replica, true);
        replica.io_thread = Some(Receiver::Connected);
        replica.sql_thread = Some(Applier::Running);
        replica.lag_seconds = Some(0);
        let mut stopped = member("shop-2", Role::Replica, false);
        stopped.io_thread = Some(Receiver::Stopped);
        stopped.sql_thread = Some(Applier::Stopped);
        stopped.errant = vec!["0-2-7".into()];
        stopped.tls_not_after = Some("2028-12-06T07:38:09Z".into());
        Report {
            name: "shop".into(),
            namespace: "apps".into(),
            primary: "shop-0".into(),
            healthy: false,
            verdict: Verdict::Degraded,
            reasons: vec!["shop-2 has errant transactions".into()],
            notes: vec![],
            endpoints: Endpoints {
                write: String::new(),
                read: String::new(),
            },
            durability: Durability {
                mode: "semi-sync".into(),
                semi_sync_active: true,
                acknowledging_replicas: 1,
                ..Default::default()
            },
            engine: "mariadb".into(),
            tls: "verified".into(),
            members: vec![member("shop-0", Role::Primary, true), replica, stopped],
            operation: None,
            events: vec![],
            agent: None,
            backups: None,
            archive: None,
        }
    }

    /// The tests of the process-wide figures, one at a time.
    static GLOBAL: Mutex<()> = Mutex::new(());

    fn lines(page: &str) -> Vec<&str> {
        page.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn the_standby_exports_only_the_agents_own_figures_and_a_silence_it_saw() {
        let mut s = Seen {
            primary: Some(PrimarySeen {
                name: "shop-0".into(),
                answered: true,
                last_answer: None,
            }),
            ..Default::default()
        };
        s.decisions.insert("FailoverRefused", 2);
        // A silence it saw while it led (the lead passed on since).
        s.silence = Some(Silence {
            member: "shop-0".into(),
            started: Instant::now(),
            started_unix: 1_700_000_000.0,
            lasted: Duration::from_secs(4),
            going_on: false,
            lost: true,
        });
        let page = render(&s, "shop", "apps", Instant::now());
        let samples = lines(&page);
        assert!(samples.contains(&"mysqlha_agent_leader{namespace=\"apps\",cluster=\"shop\"} 0"));
        assert!(samples.contains(
            &"mysqlha_agent_decisions_total{namespace=\"apps\",cluster=\"shop\",reason=\"FailoverRefused\"} 2"
        ));
        // Reasons not decided yet are there at 0.
        assert!(samples.contains(
            &"mysqlha_agent_decisions_total{namespace=\"apps\",cluster=\"shop\",reason=\"PrimaryLost\"} 0"
        ));
        assert!(samples.contains(
            &"mysqlha_primary_last_silence_seconds{namespace=\"apps\",cluster=\"shop\",member=\"shop-0\",started=\"2023-11-14T22:13:20Z\"} 4"
        ));
        assert!(!page.contains("mysqlha_primary_up"), "{page}");
        assert!(!page.contains("mysqlha_cluster_verdict"), "{page}");
    }

    #[test]
    fn the_leader_exports_the_primarys_answer_and_the_reports_figures() {
        let now = Instant::now();
        let s = Seen {
            leading: true,
            primary: Some(PrimarySeen {
                name: "shop-0".into(),
                answered: false,
                last_answer: Some(now - Duration::from_secs(3)),
            }),
            silence: Some(Silence {
                member: "shop-0".into(),
                started: now - Duration::from_secs(3),
                started_unix: 1_700_000_000.5,
                lasted: Duration::from_millis(2500),
                going_on: true,
                lost: false,
            }),
            failovers: [1, 0],
            last_failover: Some(Duration::from_millis(3500)),
            report: Some((report(), now - Duration::from_secs(4))),
            ..Default::default()
        };
        let page = render(&s, "shop", "apps", now);
        let l = |rest: &str| format!("{{namespace=\"apps\",cluster=\"shop\"{rest}");
        let want = [
            format!("mysqlha_agent_leader{} 1", l("}")),
            format!("mysqlha_primary_up{} 0", l(",member=\"shop-0\"}")),
            format!(
                "mysqlha_primary_last_answer_age_seconds{} 3",
                l(",member=\"shop-0\"}")
            ),
            format!("mysqlha_agent_failovers_total{} 1", l(",outcome=\"done\"}")),
            format!("mysqlha_agent_last_failover_duration_seconds{} 3.5", l("}")),
            format!("mysqlha_report_age_seconds{} 4", l("}")),
            format!("mysqlha_primary_silence_seconds{} 2.5", l("}")),
            format!(
                "mysqlha_primary_last_silence_seconds{} 2.5",
                l(",member=\"shop-0\",started=\"2023-11-14T22:13:20Z\"}")
            ),
            format!(
                "mysqlha_primary_last_silence_start_timestamp_seconds{} 1700000000",
                l(",member=\"shop-0\",started=\"2023-11-14T22:13:20Z\"}")
            ),
            format!("mysqlha_cluster_verdict{} 1", l(",verdict=\"degraded\"}")),
            format!("mysqlha_cluster_verdict{} 0", l(",verdict=\"healthy\"}")),
            format!("mysqlha_cluster_problems{} 1", l("}")),
            format!("mysqlha_members{} 3", l("}")),
            format!("mysqlha_members_ready{} 2", l("}")),
            format!(
                "mysqlha_member_ready{} 0",
                l(",member=\"shop-2\",role=\"replica\"}")
            ),
            format!("mysqlha_member_primary{} 1", l(",member=\"shop-0\"}")),
            format!("mysqlha_member_read_only{} 0", l(",member=\"shop-0\"}")),
            format!(
                "mysqlha_member_io_thread_connected{} 1",
                l(",member=\"shop-1\"}")
            ),
            format!(
                "mysqlha_member_io_thread_connected{} 0",
                l(",member=\"shop-2\"}")
            ),
            format!(
                "mysqlha_member_sql_thread_running{} 0",
                l(",member=\"shop-2\"}")
            ),
            format!("mysqlha_member_lag_seconds{} 0", l(",member=\"shop-1\"}")),
            format!(
                "mysqlha_member_errant_gtid_sets{} 1",
                l(",member=\"shop-2\"}")
            ),
            format!(
                "mysqlha_member_certificate_expiry_timestamp_seconds{} 1859701089",
                l(",member=\"shop-2\"}")
            ),
            format!("mysqlha_semi_sync_active{} 1", l("}")),
            format!("mysqlha_semi_sync_acknowledging_replicas{} 1", l("}")),
            format!("mysqlha_operation_running{} 0", l("}")),
        ];
        let samples = lines(&page);
        for w in &want {
            assert!(samples.contains(&w.as_str()), "missing {w}\n{page}");
        }
        // The primary has no replication threads; a member's lag only when known.
        assert!(!page.contains("mysqlha_member_io_thread_connected{namespace=\"apps\",cluster=\"shop\",member=\"shop-0\"}"));
        assert!(!page.contains(
            "mysqlha_member_lag_seconds{namespace=\"apps\",cluster=\"shop\",member=\"shop-2\"}"
        ));
        // No backups: no archive figures.
        assert!(!page.contains("mysqlha_archive"), "{page}");
    }

    #[test]
    fn a_silence_goes_on_ends_and_is_kept_until_the_next_one() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // Answers: no silence.
        assert!(Silence::after(None, "a-0", true, at(0), 100.0).is_none());
        // The first unanswered probe begins one.
        let begun = Silence::after(None, "a-0", false, at(1), 101.0).unwrap();
        assert!(begun.going_on);
        assert_eq!((begun.lasted, begun.started_unix), (Duration::ZERO, 101.0));
        // It goes on.
        let on = Silence::after(Some(begun), "a-0", false, at(4), 104.0).unwrap();
        assert!(on.going_on);
        assert_eq!(
            (on.lasted, on.started_unix),
            (Duration::from_secs(3), 101.0)
        );
        // An answer (the old primary's, or a new primary's after a failover) ends it.
        let ended = Silence::after(Some(on), "a-1", true, at(5), 105.0).unwrap();
        assert!(!ended.going_on);
        assert_eq!(ended.lasted, Duration::from_secs(4));
        // Kept while the primary answers.
        let kept = Silence::after(Some(ended), "a-1", true, at(60), 160.0).unwrap();
        assert_eq!(kept.member, "a-0");
        assert_eq!(
            (kept.lasted, kept.started_unix),
            (Duration::from_secs(4), 101.0)
        );
        // The next silence replaces it.
        let next = Silence::after(Some(kept), "a-1", false, at(70), 170.0).unwrap();
        assert_eq!(next.member, "a-1");
        assert!(next.going_on);
        assert_eq!((next.lasted, next.started_unix), (Duration::ZERO, 170.0));
    }

    #[test]
    fn a_primary_judged_lost_marks_the_silence_going_on_only() {
        let _one = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
        let t0 = Instant::now();
        leading(true);
        probed("b-0", false, t0);
        decided(Reason::PrimaryLost);
        assert!(seen().silence.as_ref().unwrap().lost);
        // The failover ended it within a second: still marked, still there.
        probed("b-1", true, t0 + Duration::from_millis(900));
        let s = seen().silence.clone().unwrap();
        assert!(s.lost && !s.going_on && s.lasted < Duration::from_secs(1));
        // A decision with no silence going on marks nothing.
        probed("b-1", false, t0 + Duration::from_secs(5));
        probed("b-1", true, t0 + Duration::from_secs(6));
        decided(Reason::PrimaryLost);
        assert!(!seen().silence.as_ref().unwrap().lost);
        leading(false);
    }

    #[test]
    fn only_get_metrics_is_served() {
        let cases: [(&[u8], Route); 5] = [
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", Route::Metrics),
            (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", Route::Metrics),
            (b"GET / HTTP/1.1\r\n\r\n", Route::NotFound),
            (b"POST /metrics HTTP/1.1\r\n\r\n", Route::NotFound),
            (b"", Route::NotFound),
        ];
        for (head, want) in cases {
            assert_eq!(route(head), want, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_probe_keeps_the_last_answer_of_the_same_primary_only() {
        let _one = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        leading(true);
        probed("a-0", true, t0);
        probed("a-0", false, t1);
        {
            let s = seen();
            let p = s.primary.as_ref().unwrap();
            assert!(!p.answered);
            assert_eq!(p.last_answer, Some(t0));
        }
        // Another primary of record: its own history.
        probed("a-1", false, t1);
        assert_eq!(seen().primary.as_ref().unwrap().last_answer, None);
        leading(false);
        assert!(seen().primary.is_none());
    }
}
