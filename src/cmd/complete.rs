//! Candidates for kubectl's plugin completion (`kubectl_complete-mysqlha`, cobra style).
use crate::cli::CompleteArgs;

pub async fn run(_global: &crate::cli::GlobalArgs, _args: &CompleteArgs) -> anyhow::Result<()> {
    println!(":4");
    Ok(())
}
