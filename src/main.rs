//! kubectl-mysqlha: a highly available MariaDB primary/replica cluster on Kubernetes.
mod backup_info;
mod cli;
mod clone;
mod cluster;
mod cmd;
mod context;
mod exec;
mod gtid;
mod manifests;
mod progress;
mod sql;
mod topology;
mod wait;

use clap::Parser;
use cli::{Cli, Command};
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
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, most general first.
fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
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
        Command::Create(args) => {
            cmd::create::validate(args)?;
            if args.dry_run {
                let namespace = cli
                    .global
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into());
                return cmd::create::dry_run(args, &namespace);
            }
        }
        Command::Scale(args) => cmd::scale::validate(args)?,
        _ => {}
    }
    let ctx = Context::connect(&cli.global).await?;
    match &cli.command {
        Command::Create(args) => cmd::create::run(&ctx, args).await,
        Command::Status(args) => cmd::status::run(&ctx, args).await,
        Command::Scale(args) => cmd::scale::run(&ctx, args).await,
        Command::RebuildReplica(args) => cmd::rebuild_replica::run(&ctx, args).await,
        Command::Switchover(args) => cmd::switchover::run(&ctx, args).await,
        Command::Failover(args) => cmd::failover::run(&ctx, args).await,
        Command::Delete(args) => cmd::delete::run(&ctx, args).await,
        Command::Version | Command::Completion(_) | Command::Complete(_) => {
            unreachable!("handled above")
        }
    }
}
