//! kubectl-mysqlha: a highly available MySQL or MariaDB primary/replica cluster on Kubernetes.
//! The binary parses the command line and runs it; everything else is the library.
use clap::Parser;
use kubectl_mysqlha::base::{one_line, UsageError};
use kubectl_mysqlha::cli::Cli;
use kubectl_mysqlha::k8s::session::Exited;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(kubectl_mysqlha::cmd::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(exited) = error.downcast_ref::<Exited>() {
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
