//! One file per command.
pub mod agent;
pub mod complete;
pub mod create;
pub mod delete;
pub mod failover;
pub mod rebuild_replica;
pub mod report;
pub mod scale;
pub mod set;
pub mod sql;
pub mod status;
pub mod switchover;
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
