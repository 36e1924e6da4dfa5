//! kubectl-mysqlha: a highly available MySQL or MariaDB primary/replica cluster on Kubernetes.
mod agent;
mod apply;
mod archive;
mod backup_info;
mod cli;
mod clone;
mod cluster;
mod cmd;
mod context;
mod diagnostics;
mod engine;
mod events;
mod exec;
mod failover;
mod fanout;
mod gtid;
mod gtid_set;
mod health;
mod input;
mod lock;
mod manifests;
mod member_services;
mod placement;
mod plan;
mod progress;
mod redact;
mod restore;
mod rolling;
mod server_version;
mod session;
mod settings;
mod sql;
mod sqltext;
mod storage;
mod style;
mod survey;
mod switchover;
mod terminal;
mod topology;
mod wait;

use clap::Parser;
use cli::{AgentArgs, AgentCommand, Cli, Command};
use context::Context;
use std::process::ExitCode;

pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MYSQLHA_GIT_COMMIT"),
    ")"
);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(exited) = error.downcast_ref::<session::Exited>() {
                // A program in a pod (the client of `sql`) said what went wrong; its status
                // is the plugin's.
                return ExitCode::from(exited.0);
            }
            eprintln!("error: {}", one_line(&error));
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A bad argument, found before anything is contacted: exit status 2, like clap's own.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(error: anyhow::Error) -> anyhow::Error {
    UsageError(one_line(&error)).into()
}

/// The error and its causes on one line, most general first. An API error shows the API
/// server's message, never the raw response structure.
fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = match cause.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) => api_message(status),
            _ => cause.to_string(),
        }
        .replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// What the API server said, in its words (e.g. `namespaces "shop" not found (NotFound)`).
fn api_message(status: &kube::core::Status) -> String {
    match (status.message.is_empty(), status.reason.is_empty()) {
        (false, false) => format!("{} ({})", status.message, status.reason),
        (false, true) => status.message.clone(),
        (true, false) => format!("{} (HTTP {})", status.reason, status.code),
        (true, true) => format!("the API server answered HTTP {}", status.code),
    }
}

/// Resolves when the user interrupts (Ctrl-C) or the process is asked to stop (SIGTERM).
async fn interrupted() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Version => {
            println!("kubectl-mysqlha {VERSION_LINE}");
            return Ok(());
        }
        Command::Completion(args) => {
            use std::io::Write;
            // A closed pipe (`completion bash | head`) is not an error worth a panic.
            let _ = std::io::stdout().write_all(cmd::complete::script(args.shell).as_bytes());
            return Ok(());
        }
        Command::Complete(args) => return cmd::complete::run(&cli.global, args).await,
        Command::Agent(AgentArgs {
            command: AgentCommand::Run(args),
        }) => return cmd::agent::run(&cli.global, args).await,
        Command::Create(args) => {
            cmd::create::validate(args).map_err(usage)?;
            if args.dry_run {
                let namespace = cli
                    .global
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                return cmd::create::dry_run(args, &namespace);
            }
        }
        Command::Scale(args) => cmd::scale::validate(args).map_err(usage)?,
        Command::Status(args) => cmd::status::validate(args).map_err(usage)?,
        Command::Sql(args) => cmd::sql::validate(args).map_err(usage)?,
        Command::Report(args) => cmd::report::validate(args).map_err(usage)?,
        Command::Upgrade(args) => cmd::upgrade::validate(args).map_err(usage)?,
        Command::Set(args) => cmd::set::validate(args).map_err(usage)?,
        _ => {}
    }
    let mut ctx = Context::connect(&cli.global).await?;
    let Some((cluster, operation, wait)) = cli.command.operation() else {
        return run(&ctx, &cli.command).await;
    };
    ctx.lock = Some(
        lock::OperationLock::acquire(&ctx.client, &ctx.namespace, cluster, operation, wait).await?,
    );
    // The history: started here, the steps in the commands, done/failed/interrupted below.
    let events = events::Recorder::new(&ctx.client, &ctx.namespace, cluster, operation);
    events.started();
    ctx.events = Some(events);
    // The lock is released however the command ends; on Ctrl-C or SIGTERM too.
    let outcome = tokio::select! {
        result = run(&ctx, &cli.command) => Ok(result),
        how = interrupted() => Err(how),
    };
    if let Some(events) = ctx.events.take() {
        match &outcome {
            Ok(Ok(())) => events.done().await,
            Ok(Err(e)) => events.failed(&one_line(e)).await,
            Err(how) => events.interrupted(how).await,
        }
    }
    if let Some(held) = ctx.lock.take() {
        if let Err(e) = held.release().await {
            eprintln!(
                "warning: {} (it expires by itself within {}s)",
                one_line(&e),
                lock::LEASE_SECONDS
            );
        }
    }
    match outcome {
        Ok(result) => result,
        Err(how) => {
            eprintln!("error: {how} during {operation} of cluster {cluster}; the operation lock is released; run the command again to finish it");
            std::process::exit(130);
        }
    }
}

async fn run(ctx: &Context, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => cmd::create::run(ctx, args).await,
        Command::Status(args) => cmd::status::run(ctx, args).await,
        Command::Scale(args) => cmd::scale::run(ctx, args).await,
        Command::RebuildReplica(args) => cmd::rebuild_replica::run(ctx, args).await,
        Command::Switchover(args) => cmd::switchover::run(ctx, args).await,
        Command::Failover(args) => cmd::failover::run(ctx, args).await,
        Command::Delete(args) => cmd::delete::run(ctx, args).await,
        Command::Sql(args) => cmd::sql::run(ctx, args).await,
        Command::Report(args) => cmd::report::run(ctx, args).await,
        Command::Upgrade(args) => cmd::upgrade::run(ctx, args).await,
        Command::Set(args) => cmd::set::run(ctx, args).await,
        Command::Agent(AgentArgs { command }) => match command {
            AgentCommand::Enable(args) => cmd::agent::enable(ctx, args).await,
            AgentCommand::Disable(args) => cmd::agent::disable(ctx, args).await,
            AgentCommand::Run(_) => unreachable!("handled above"),
        },
        Command::Version | Command::Completion(_) | Command::Complete(_) => {
            unreachable!("handled above")
        }
    }
}
