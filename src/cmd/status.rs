//! `kubectl mysqlha status NAME`: every member's role, node, GTID position, threads, lag, binary
//! logs and error, the durability picture, and one verdict with its reasons and notes (see
//! health.rs), as a table, JSON or YAML; `--watch` redraws the table until Ctrl-C.
use crate::base::style::{Color, Style};
use crate::cli::{OutputFormat, StatusArgs};
use crate::cluster::health::{
    first_line, report, MemberReport, MemberState, Report, Role, Verdict,
};
use crate::cluster::Cluster;
use crate::k8s::context::Context;
use anyhow::{bail, Result};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Checks made before anything is contacted.
pub fn validate(args: &StatusArgs) -> Result<()> {
    if args.watch.is_some() && args.output != OutputFormat::Table {
        bail!(
            "--watch shows the table only: leave out -o/--output, or run status -o json in a loop"
        );
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<()> {
    let style = Style::for_stdout(ctx.color);
    if let Some(interval) = args.watch {
        return watch(ctx, args, interval, style).await;
    }
    let cluster = Cluster::load(ctx, &args.name).await?;
    let report = report(&cluster).await;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&report)?),
        OutputFormat::Table => print!("{}", table(&report, style)),
    }
    Ok(())
}

/// Shows the table every `interval` until Ctrl-C (or SIGTERM), which ends it with status 0. On a
/// terminal each report replaces the last (cursor home, clear screen); elsewhere reports follow
/// each other, a blank line between. A failure after the first report is shown and retried.
async fn watch(ctx: &Context, args: &StatusArgs, interval: Duration, style: Style) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let terminal = std::io::stdout().is_terminal();
    let mut first = true;
    loop {
        let rendered = tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            rendered = render_table(ctx, &args.name, style) => rendered,
        };
        let body = match rendered {
            Ok(text) => text,
            Err(e) if first => return Err(e),
            Err(e) => format!("error: {}\n", first_line(&format!("{e:#}"))),
        };
        first = false;
        let frame = if terminal {
            format!(
                "\x1b[H\x1b[2JEvery {}s: kubectl mysqlha status {}    {}\n\n{body}",
                interval.as_secs(),
                args.name,
                k8s_openapi::jiff::Timestamp::now().round(k8s_openapi::jiff::Unit::Second)?
            )
        } else {
            format!("{body}\n")
        };
        let mut out = std::io::stdout().lock();
        if out
            .write_all(frame.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            return Ok(()); // the reader went away (`| head`)
        }
        drop(out);
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

async fn render_table(ctx: &Context, name: &str, style: Style) -> Result<String> {
    let cluster = Cluster::load(ctx, name).await?;
    Ok(table(&report(&cluster).await, style))
}

/// The report as text: a header, the verdict with its reasons and notes, the member table and
/// the members' errant sets in full.
pub fn table(r: &Report, style: Style) -> String {
    let mut out = header(r, style);
    out += &verdict(r, style);
    out += "\n";
    out += &member_table(&r.members, style);
    out += &errant_section(r);
    out += &events(r);
    out
}

/// The cluster's TLS mode, where clients find its CA, and the first member certificate to end.
fn tls(r: &Report) -> String {
    let ca = format!("CA in ConfigMap {}-ca", r.name);
    let first_end = r
        .members
        .iter()
        .filter_map(|m| Some((m.tls_not_after.as_deref()?, &m.name)))
        .min()
        .map(|(until, name)| {
            format!(
                "; certificates valid until {} ({name})",
                &until[..until.len().min(10)]
            )
        })
        .unwrap_or_default();
    match r.tls.as_str() {
        "verified" => format!("verified between members, offered to clients ({ca}){first_end}"),
        "required" => {
            format!("required of every client, verified between members ({ca}){first_end}")
        }
        _ => "off (replication and clones as the engine does without certificates)".into(),
    }
}

fn header(r: &Report, style: Style) -> String {
    let mut out = format!("Cluster {} in namespace {}\n", r.name, r.namespace);
    out += &format!(
        "Primary:   {}\nWrite:     {}\nRead:      {}\n",
        r.primary, r.endpoints.write, r.endpoints.read
    );
    let version = r
        .members
        .iter()
        .find(|m| m.role == Role::Primary && !m.version.is_empty())
        .map(|m| format!(" {}", m.version))
        .unwrap_or_default();
    out += &format!("Engine:    {}{version}\n", r.engine);
    out += &format!("Durability: {}\n", durability(r, style));
    out += &format!("TLS:       {}\n", tls(r));
    if let Some(op) = &r.operation {
        out += &format!("Operation: {}\n", op.describe());
    }
    if let Some(agent) = &r.agent {
        out += &format!("Agent:     {}\n", agent.describe());
    }
    if let Some(backups) = &r.backups {
        out += &format!("Backups:   {}\n", backups.describe());
    }
    if let Some(archive) = &r.archive {
        out += &format!("Archive:   {}\n", archive.describe());
    }
    out
}

/// `semi-sync (active, 2 replica(s) acknowledging; 1 session(s) waiting 12s for an
/// acknowledgement)`.
fn durability(r: &Report, style: Style) -> String {
    let d = &r.durability;
    let waiting = (d.waiting_sessions > 0).then(|| {
        format!(
            "; {} session(s) waiting {}s for an acknowledgement",
            d.waiting_sessions, d.longest_wait_seconds
        )
    });
    let (detail, color) = if d.semi_sync_active {
        (
            format!(
                "active, {} replica(s) acknowledging{}",
                d.acknowledging_replicas,
                waiting.clone().unwrap_or_default()
            ),
            (d.acknowledging_replicas == 0 || waiting.is_some()).then_some(Color::Yellow),
        )
    } else if d.fell_back_to_async {
        (
            "fell back to async: not waiting for replicas".to_string(),
            Some(Color::Yellow),
        )
    } else {
        ("not waiting for replicas".to_string(), None)
    };
    format!("{} ({})", d.mode, style.paint(&detail, color))
}

fn verdict(r: &Report, style: Style) -> String {
    let color = match r.verdict {
        Verdict::Healthy => Color::Green,
        Verdict::Degraded => Color::Yellow,
        Verdict::Broken => Color::Red,
    };
    let mut out = format!(
        "Verdict:   {}\n",
        style.paint(&r.verdict.to_string(), Some(color))
    );
    for reason in &r.reasons {
        out += &format!("  - {reason}\n");
    }
    if !r.notes.is_empty() {
        out += "Notes:\n";
        for note in &r.notes {
            out += &format!("  - {note}\n");
        }
    }
    out
}

/// One table cell: its text, and the colour it is painted in (after padding, so that columns
/// stay aligned).
struct Cell {
    text: String,
    color: Option<Color>,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        color: None,
    }
}

fn painted(text: impl Into<String>, color: Option<Color>) -> Cell {
    Cell {
        text: text.into(),
        color,
    }
}

const HEADER: [&str; 12] = [
    "MEMBER",
    "ROLE",
    "NODE",
    "VERSION",
    "READY",
    "READ-ONLY",
    "IO",
    "SQL",
    "LAG",
    "BINLOG",
    "GTID",
    "ERROR",
];

fn member_row(m: &MemberReport) -> Vec<Cell> {
    let primary = m.role == Role::Primary;
    use crate::db::engine::{Applier, Receiver};
    let receiver = |t: &Option<Receiver>| match t {
        None => cell("-"),
        Some(Receiver::Connected) => cell("Yes"),
        Some(r @ Receiver::Connecting) => painted(r.as_str(), Some(Color::Yellow)),
        Some(r) => painted(r.as_str(), Some(Color::Red)),
    };
    let applier = |t: &Option<Applier>| match t {
        None => cell("-"),
        Some(Applier::Running) => cell("Yes"),
        Some(a) => painted(a.as_str(), Some(Color::Red)),
    };
    vec![
        cell(m.name.clone()),
        painted(
            m.role.to_string(),
            Some(if primary { Color::Magenta } else { Color::Cyan }),
        ),
        cell(m.node.clone().unwrap_or_else(|| "-".into())),
        // "11.8.9-MariaDB-0+deb13u1 from Debian-log" → "11.8.9": members differ while upgrading.
        cell(match m.version.split('-').next() {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => "-".into(),
        }),
        if m.state == MemberState::Running {
            painted(yes_no(m.ready), (!m.ready).then_some(Color::Red))
        } else {
            painted(m.state.to_string(), Some(Color::Red))
        },
        match m.read_only {
            None => cell("-"),
            // The primary takes writes; a replica never does.
            Some(ro) => painted(yes_no(ro), (ro == primary).then_some(Color::Red)),
        },
        receiver(&m.io_thread),
        applier(&m.sql_thread),
        match m.lag_seconds {
            None => cell("-"),
            Some(l) => painted(format!("{l}s"), (l > 0).then_some(Color::Yellow)),
        },
        cell(m.binary_logs.map_or("-".into(), |b| {
            let files = if b.files == 1 { "file" } else { "files" };
            format!("{} ({} {files})", bytes(b.bytes), b.files)
        })),
        cell(if m.gtid.is_empty() {
            "-".into()
        } else {
            m.gtid.clone()
        }),
        match m.error.as_deref() {
            None => cell("-"),
            Some(e) => painted(first_line(e), Some(Color::Red)),
        },
    ]
}

fn member_table(members: &[MemberReport], style: Style) -> String {
    let rows: Vec<Vec<Cell>> = members.iter().map(member_row).collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].text.chars().count())
                .chain([HEADER[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[Cell]| {
        let last = cells.len() - 1;
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let text = if i == last {
                    c.text.clone()
                } else {
                    format!("{:<w$}", c.text)
                };
                style.paint(&text, c.color)
            })
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&HEADER.map(cell));
    for row in &rows {
        out += &line(row);
    }
    out
}

/// The cluster's last events, one line each.
fn events(r: &Report) -> String {
    if r.events.is_empty() {
        return String::new();
    }
    let width = r.events.iter().map(|e| e.reason.len()).max().unwrap_or(0);
    let mut out = String::from("\nLast events:\n");
    for e in &r.events {
        out += &format!(
            "  {}  {:<7}  {:<width$}  {}\n",
            e.time, e.kind, e.reason, e.note
        );
    }
    out
}

/// Every member's errant transactions, in full.
fn errant_section(r: &Report) -> String {
    let with_errant: Vec<&MemberReport> =
        r.members.iter().filter(|m| !m.errant.is_empty()).collect();
    if with_errant.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nErrant transactions (the primary never had them; run kubectl mysqlha rebuild-replica {} POD):\n",
        r.name
    );
    for m in with_errant {
        out += &format!("  {}: {}\n", m.name, m.errant.join(","));
    }
    out
}

/// Bytes for people: `328 B`, `1.5 KiB`, `12.0 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::{BinaryLogs, Durability, Endpoints};

    fn member(name: &str, role: Role, node: &str) -> MemberReport {
        MemberReport {
            name: name.into(),
            role,
            node: Some(node.into()),
            ready: true,
            state: MemberState::Running,
            replicating: role == Role::Replica,
            lag_seconds: (role == Role::Replica).then_some(0),
            gtid: "0-1-42".into(),
            read_only: Some(role == Role::Replica),
            io_thread: (role == Role::Replica).then_some(crate::db::engine::Receiver::Connected),
            sql_thread: (role == Role::Replica).then_some(crate::db::engine::Applier::Running),
            source: (role == Role::Replica).then(|| "ha-0".into()),
            binary_logs: Some(BinaryLogs {
                files: 2,
                bytes: 3 * 1024 * 1024 / 2,
            }),
            ..Default::default()
        }
    }

    fn sample() -> Report {
        Report {
            name: "ha".into(),
            namespace: "ns".into(),
            primary: "ha-0".into(),
            healthy: false,
            verdict: Verdict::Degraded,
            reasons: vec!["replica ha-2 has errant transactions: run kubectl mysqlha rebuild-replica ha ha-2".into()],
            notes: vec!["members ha-0, ha-1, ha-2 share node node-a: a lost node takes them all; add nodes so members can run apart (kubectl get nodes)".into()],
            endpoints: Endpoints {
                write: "ha-primary.ns.svc:3306".into(),
                read: "ha-read.ns.svc:3306".into(),
            },
            durability: Durability {
                mode: "semi-sync".into(),
                semi_sync_active: true,
                acknowledging_replicas: 2,
                waiting_sessions: 1,
                longest_wait_seconds: 12,
                fell_back_to_async: false,
            },
            engine: "mariadb".into(),
            tls: "verified".into(),
            members: vec![
                member("ha-0", Role::Primary, "node-a"),
                member("ha-1", Role::Replica, "node-a"),
                MemberReport {
                    errant: vec!["0-3-7".into(), "1-3-2".into()],
                    lag_seconds: Some(3),
                    io_thread: Some(crate::db::engine::Receiver::Stopped),
                    ..member("ha-2", Role::Replica, "node-long-name")
                },
            ],
            operation: None,
            agent: None,
            events: vec![],
            backups: None,
            archive: None,
        }
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn node_column_and_shared_node_note() {
        let text = table(&sample(), Style::default());
        let header = text.lines().find(|l| l.starts_with("MEMBER")).unwrap();
        assert!(header.contains("  NODE  "), "{text}");
        let row = text.lines().find(|l| l.starts_with("ha-2 ")).unwrap();
        assert!(row.contains("node-long-name"), "{text}");
        assert!(
            text.contains("Notes:\n  - members ha-0, ha-1, ha-2 share node node-a"),
            "{text}"
        );
        // The node column starts at the same place in every line.
        let at = header.find("NODE").unwrap();
        for l in text.lines().filter(|l| l.starts_with("ha-")) {
            assert!(l[at..].starts_with("node-"), "{l}");
        }
    }

    #[test]
    fn errant_sets_are_listed_in_full() {
        let text = table(&sample(), Style::default());
        assert!(
            text.contains("\nErrant transactions (the primary never had them; run kubectl mysqlha rebuild-replica ha POD):\n  ha-2: 0-3-7,1-3-2\n"),
            "{text}"
        );
        let mut healthy = sample();
        healthy.members[2].errant.clear();
        assert!(!table(&healthy, Style::default()).contains("Errant"));
    }

    #[test]
    fn waiting_sessions_in_the_durability_line() {
        let text = table(&sample(), Style::default());
        assert!(
            text.contains("Durability: semi-sync (active, 2 replica(s) acknowledging; 1 session(s) waiting 12s for an acknowledgement)\n"),
            "{text}"
        );
        let mut r = sample();
        r.durability.waiting_sessions = 0;
        assert!(table(&r, Style::default())
            .contains("Durability: semi-sync (active, 2 replica(s) acknowledging)\n"));
        r.durability.semi_sync_active = false;
        r.durability.fell_back_to_async = true;
        assert!(table(&r, Style::default())
            .contains("Durability: semi-sync (fell back to async: not waiting for replicas)\n"));
    }

    #[test]
    fn binary_logs_column() {
        let text = table(&sample(), Style::default());
        assert!(text.contains("BINLOG"), "{text}");
        assert!(text.contains("1.5 MiB (2 files)"), "{text}");
        assert_eq!(bytes(328), "328 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn colour_keeps_columns_aligned() {
        let plain = table(&sample(), Style { enabled: false });
        let coloured = table(&sample(), Style { enabled: true });
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(coloured.contains("\x1b["), "{coloured}");
        assert_eq!(strip_ansi(&coloured), plain);
        assert!(
            coloured.contains("Verdict:   \x1b[33mdegraded\x1b[0m"),
            "{coloured}"
        );
        // Role cells are painted after padding: the colour codes wrap "replica" and its spaces.
        assert!(coloured.contains("\x1b[36mreplica\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[35mprimary\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[31mNo \x1b[0m"), "{coloured}");
        let mut healthy = sample();
        healthy.verdict = Verdict::Healthy;
        assert!(
            table(&healthy, Style { enabled: true }).contains("Verdict:   \x1b[32mhealthy\x1b[0m")
        );
        healthy.verdict = Verdict::Broken;
        assert!(
            table(&healthy, Style { enabled: true }).contains("Verdict:   \x1b[31mbroken\x1b[0m")
        );
    }

    #[test]
    fn watch_refuses_other_outputs() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            let cli = crate::cli::Cli::try_parse_from(args).unwrap();
            let crate::cli::Command::Status(a) = cli.command else {
                panic!()
            };
            a
        };
        let a = parse(&["kubectl-mysqlha", "status", "ha", "--watch"]);
        assert_eq!(a.watch, Some(Duration::from_secs(2)));
        assert!(validate(&a).is_ok());
        let a = parse(&["kubectl-mysqlha", "status", "ha", "--watch", "5s"]);
        assert_eq!(a.watch, Some(Duration::from_secs(5)));
        let a = parse(&["kubectl-mysqlha", "status", "ha", "--watch", "-o", "json"]);
        assert!(validate(&a).unwrap_err().to_string().contains("--watch"));
    }
}
