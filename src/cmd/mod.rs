//! One file per command.
pub mod complete;
pub mod create;
pub mod delete;
pub mod failover;
pub mod rebuild_replica;
pub mod scale;
pub mod status;
pub mod switchover;

use anyhow::{bail, Context, Result};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::io::{BufRead, IsTerminal, Write};

/// Server-side apply of one typed object under the plugin's field manager.
pub async fn apply<K>(api: &Api<K>, object: &K) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = object
        .meta()
        .name
        .clone()
        .context("object without a name")?;
    let params = PatchParams::apply(crate::manifests::FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .with_context(|| format!("cannot apply {} {name}", K::kind(&())))
}

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
