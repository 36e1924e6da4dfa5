//! `kubectl mysqlha status NAME`: every member's role, GTID position, threads, lag and error,
//! and one verdict with its reasons (see health.rs), as a table, JSON or YAML.
use crate::cli::{OutputFormat, StatusArgs};
use crate::cluster::Cluster;
use crate::context::Context;
use crate::health::{first_line, report, MemberState, Report, Role};
use anyhow::Result;

pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let report = report(&cluster).await;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&report)?),
        OutputFormat::Table => print!("{}", table(&report)),
    }
    Ok(())
}

/// Observes every member and judges the whole.
pub fn table(r: &Report) -> String {
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
    out += &format!(
        "Durability: {}{}\n",
        r.durability.mode,
        if r.durability.semi_sync_active {
            format!(
                " (active, {} replica(s) acknowledging)",
                r.durability.acknowledging_replicas
            )
        } else {
            " (not waiting for replicas)".into()
        }
    );
    if let Some(op) = &r.operation {
        out += &format!("Operation: {}\n", op.describe());
    }
    out += &format!("Verdict:   {}\n", r.verdict);
    for reason in &r.reasons {
        out += &format!("  - {reason}\n");
    }
    out += "\n";
    let header = [
        "MEMBER",
        "ROLE",
        "READY",
        "READ-ONLY",
        "IO",
        "SQL",
        "LAG",
        "GTID",
        "ERROR",
    ];
    let rows: Vec<Vec<String>> = r
        .members
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.role.to_string(),
                if m.state == MemberState::Running {
                    yes_no(m.ready)
                } else {
                    m.state.to_string()
                },
                m.read_only.map_or("-".into(), yes_no),
                m.io_thread.clone().unwrap_or_else(|| "-".into()),
                m.sql_thread.clone().unwrap_or_else(|| "-".into()),
                m.lag_seconds.map_or("-".into(), |l| format!("{l}s")),
                if m.gtid.is_empty() {
                    "-".into()
                } else {
                    m.gtid.clone()
                },
                m.error
                    .as_deref()
                    .map_or("-".into(), |e| first_line(e).to_string()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    out += &line(header.iter().map(|s| s.to_string()).collect());
    for row in rows {
        out += &line(row);
    }
    out += &events(r);
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

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}
