//! One file per command.
pub mod agent;
pub mod alerts;
pub mod backup;
pub mod complete;
pub mod create;
pub mod delete;
pub mod failover;
pub mod rebuild_replica;
pub mod report;
pub mod restore;
pub mod scale;
pub mod set;
pub mod sql;
pub mod status;
pub mod switchover;
pub mod tls;
pub mod upgrade;

use anyhow::{bail, Result};
use std::io::{BufRead, IsTerminal, Write};

/// Asks on the terminal; without a terminal a destructive command needs --yes.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing without --yes: {question} (no terminal to confirm on)");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("cancelled")
    }
}

use crate::cli::{AgentArgs, AgentCommand, Cli, Command};
use crate::k8s::context::Context;

/// Resolves when the user interrupts (Ctrl-C) or the process is asked to stop (SIGTERM).
async fn interrupted() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

/// Prints a generated text (a completion script, the alert rules) to stdout: a closed pipe
/// (`… | head`) is not an error worth a panic, as `print!` would make it.
pub(crate) fn print_whole(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// Runs the command `cli` names: checks its arguments, connects, takes the cluster's operation
/// lock and records its history when it changes a cluster, and releases both however it ends.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Version => {
            println!("kubectl-mysqlha {}", crate::base::VERSION_LINE);
            return Ok(());
        }
        Command::Completion(args) => {
            print_whole(&complete::script(args.shell));
            return Ok(());
        }
        Command::Complete(args) => return complete::run(&cli.global, args).await,
        Command::Alerts(args) => return alerts::run(&cli.global, args),
        Command::Agent(AgentArgs {
            command: AgentCommand::Run(args),
        }) => return agent::run(&cli.global, args).await,
        Command::Create(args) => {
            create::validate(args).map_err(crate::base::usage)?;
            if args.dry_run {
                let namespace = cli
                    .global
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                return create::dry_run(args, &namespace);
            }
        }
        Command::Scale(args) => scale::validate(args).map_err(crate::base::usage)?,
        Command::Status(args) => status::validate(args).map_err(crate::base::usage)?,
        Command::Sql(args) => sql::validate(args).map_err(crate::base::usage)?,
        Command::Report(args) => report::validate(args).map_err(crate::base::usage)?,
        Command::Upgrade(args) => upgrade::validate(args).map_err(crate::base::usage)?,
        Command::Set(args) => set::validate(args).map_err(crate::base::usage)?,
        Command::Backup(args) => backup::validate(args).map_err(crate::base::usage)?,
        Command::Restore(args) => restore::validate(args).map_err(crate::base::usage)?,
        _ => {}
    }
    let mut ctx = cli.global.connect().await?;
    let Some((cluster, operation, wait)) = cli.command.operation() else {
        return run(&ctx, &cli.command).await;
    };
    ctx.lock = Some(
        crate::k8s::lock::OperationLock::acquire(
            &ctx.client,
            &ctx.namespace,
            cluster,
            operation,
            wait,
        )
        .await?,
    );
    // The history: started here, the steps in the commands, done/failed/interrupted below.
    let events = crate::k8s::events::Recorder::new(&ctx.client, &ctx.namespace, cluster, operation);
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
            Ok(Err(e)) => events.failed(&crate::base::one_line(e)).await,
            Err(how) => events.interrupted(how).await,
        }
    }
    if let Some(held) = ctx.lock.take() {
        if let Err(e) = held.release().await {
            eprintln!(
                "warning: {} (it expires by itself within {}s)",
                crate::base::one_line(&e),
                crate::k8s::lock::LEASE_SECONDS
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
        Command::Create(args) => create::run(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::Scale(args) => scale::run(ctx, args).await,
        Command::RebuildReplica(args) => rebuild_replica::run(ctx, args).await,
        Command::Switchover(args) => switchover::run(ctx, args).await,
        Command::Failover(args) => failover::run(ctx, args).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Sql(args) => sql::run(ctx, args).await,
        Command::Report(args) => report::run(ctx, args).await,
        Command::Upgrade(args) => upgrade::run(ctx, args).await,
        Command::Set(args) => set::run(ctx, args).await,
        Command::Backup(args) => backup::run(ctx, args).await,
        Command::Restore(args) => restore::run(ctx, args).await,
        Command::Tls(args) => tls::run(ctx, args).await,
        Command::Agent(AgentArgs { command }) => match command {
            AgentCommand::Enable(args) => agent::enable(ctx, args).await,
            AgentCommand::Disable(args) => agent::disable(ctx, args).await,
            AgentCommand::Run(_) => unreachable!("handled above"),
        },
        Command::Version | Command::Completion(_) | Command::Complete(_) | Command::Alerts(_) => {
            unreachable!("handled above")
        }
    }
}
