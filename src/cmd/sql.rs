//! `kubectl mysqlha sql NAME`: the engine's client on a member (the primary of record, the
//! least-lagging healthy replica, or a named member), as the plugin's own socket-authenticated
//! account inside the server container: no password is asked, sent or shown. Interactive on a
//! terminal, plain pipes otherwise; the client's exit status is the plugin's.
use crate::base::terminal;
use crate::cli::SqlArgs;
use crate::cluster::{observe, pod_phase, Cluster, PodPhase};
use crate::k8s::context::Context;
use crate::k8s::session::{self, Exited, Input};
use crate::manifests::RUN_CNF;
use anyhow::{bail, Context as _, Result};

/// Long client options (or abbreviations of them, which the client accepts) that would change
/// the account, the password or the way to the server.
const FORBIDDEN_LONG: &[&str] = &[
    "user",
    "password",
    "host",
    "port",
    "socket",
    "protocol",
    "pipe",
    "shared-memory-base-name",
    "bind-address",
    "dns-srv-name",
    "defaults-file",
    "defaults-extra-file",
    "defaults-group-suffix",
    "no-defaults",
    "login-path",
    "default-auth",
    "plugin-dir",
];

/// Short client options that would do the same: -u, -p, -h, -P (port), -S (socket), -W (pipe).
const FORBIDDEN_SHORT: &[char] = &['u', 'p', 'h', 'P', 'S', 'W'];

/// Short options whose value may follow in the same word (`-Dshop`, `-eSELECT…`).
const SHORT_WITH_VALUE: &[char] = &['D', 'e', '#'];

/// Long-option prefixes the client strips before matching an option's name.
const OPTION_PREFIXES: &[&str] = &["loose-", "skip-", "enable-", "disable-", "maximum-"];

/// Checks the extra client arguments before anything is contacted.
pub fn validate(args: &SqlArgs) -> Result<()> {
    for arg in &args.client_args {
        if sets_the_init_command(arg) {
            bail!(
                "client argument '{arg}' is not allowed: kubectl mysqlha sql sets the session's init command itself (read-only on a replica)"
            );
        }
        if changes_the_connection(arg) {
            bail!(
                "client argument '{arg}' is not allowed: kubectl mysqlha sql always connects as the plugin's own account through the server's socket (no user, password, host, port, socket or defaults file to give)"
            );
        }
    }
    Ok(())
}

/// `--init-command` (or an abbreviation the client accepts): it would replace the read-only
/// session of a replica.
fn sets_the_init_command(arg: &str) -> bool {
    let Some(long) = arg.strip_prefix("--") else {
        return false;
    };
    let name = long.split('=').next().unwrap_or_default().replace('_', "-");
    name.len() >= 3 && "init-command".starts_with(&name)
}

fn changes_the_connection(arg: &str) -> bool {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or_default().replace('_', "-");
        let name = OPTION_PREFIXES
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(&name);
        // `--password1` (MySQL's multi-factor passwords); any abbreviation of a forbidden name.
        return !name.is_empty()
            && (name.starts_with("password")
                || name.starts_with("authentication-")
                || FORBIDDEN_LONG.iter().any(|f| f.starts_with(name)));
    }
    let Some(short) = arg.strip_prefix('-') else {
        return false;
    };
    for c in short.chars() {
        if FORBIDDEN_SHORT.contains(&c) {
            return true;
        }
        if SHORT_WITH_VALUE.contains(&c) {
            return false;
        }
    }
    false
}

pub async fn run(ctx: &Context, args: &SqlArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let pod = choose_member(&cluster, args).await?;
    let input = match &args.execute {
        Some(sql) => Input::Bytes(format!("{sql}\n").into_bytes()),
        None if terminal::is_interactive() => Input::Terminal,
        None => Input::Stdin,
    };
    if matches!(input, Input::Terminal) {
        eprintln!("{}", connecting_to(&cluster, &pod));
    }
    let command = client_command(&cluster, &pod, &args.client_args);
    match session::run(cluster.server(&pod), &command, input)
        .await
        .with_context(|| format!("the client session on {pod}"))?
    {
        0 => Ok(()),
        code => Err(Exited(code).into()),
    }
}

/// The engine's client as the socket-authenticated `mysql` account, then the user's arguments.
/// On a member other than the primary of record the session is read-only: the plugin's account
/// may write where read_only is on (MariaDB grants it READ_ONLY ADMIN), and a write there would
/// be an errant transaction.
fn client_command(cluster: &Cluster, pod: &str, extra: &[String]) -> Vec<String> {
    let mut command = vec![
        cluster.engine.client().to_string(),
        format!("--defaults-file={RUN_CNF}"),
        "-umysql".to_string(),
    ];
    if pod != cluster.primary {
        command.push(format!("--init-command={READ_ONLY_SESSION}"));
    }
    command.extend(extra.iter().cloned());
    command
}

/// The statement that makes a `sql` session on a replica read-only (both engines refuse every
/// write in it, DDL included: ERROR 1792).
const READ_ONLY_SESSION: &str = "SET SESSION TRANSACTION READ ONLY";

fn connecting_to(cluster: &Cluster, pod: &str) -> String {
    let role = if pod == cluster.primary {
        "the primary"
    } else {
        "a replica"
    };
    format!(
        "Connecting to {pod}, {role} of cluster {} ({} client as the plugin's account; `exit` ends the session)",
        cluster.name,
        cluster.engine.client()
    )
}

/// The member the session runs on: --pod, --replica, or the primary of record.
async fn choose_member(cluster: &Cluster, args: &SqlArgs) -> Result<String> {
    let pod = match (&args.pod, args.replica) {
        (Some(pod), _) => {
            cluster.require_member(pod)?;
            pod.clone()
        }
        (None, true) => return least_lagging_replica(cluster).await,
        (None, false) => cluster.primary.clone(),
    };
    let phase = pod_phase(cluster.member(&pod).and_then(|m| m.pod.as_ref()));
    if !matches!(phase, PodPhase::Running { .. }) {
        bail!(
            "member {pod} of cluster {} is not running ({})",
            cluster.name,
            describe(&phase)
        );
    }
    Ok(pod)
}

/// The replica whose server runs, replicates (both threads, connected) and lags least.
async fn least_lagging_replica(cluster: &Cluster) -> Result<String> {
    let candidates: Vec<&str> = cluster
        .members
        .iter()
        .filter(|m| m.name != cluster.primary)
        .filter(|m| matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { .. }))
        .map(|m| m.name.as_str())
        .collect();
    let states =
        futures::future::join_all(candidates.iter().map(|pod| observe(cluster.server(pod)))).await;
    candidates
        .iter()
        .zip(states)
        .filter_map(|(pod, state)| {
            let replication = state.ok()?.replication.filter(|r| r.is_connected())?;
            Some((replication.seconds_behind.unwrap_or(u64::MAX), *pod))
        })
        .min()
        .map(|(_, pod)| pod.to_string())
        .with_context(|| {
            format!(
                "cluster {} has no healthy replica (one that runs and replicates); see kubectl mysqlha status {}",
                cluster.name, cluster.name
            )
        })
}

fn describe(phase: &PodPhase) -> String {
    match phase {
        PodPhase::Missing => "its pod does not exist".into(),
        PodPhase::WaitingForData => "it waits for data".into(),
        PodPhase::Pending(Some(reason)) => format!("pending: {reason}"),
        PodPhase::Pending(None) => "starting".into(),
        PodPhase::Running { .. } => "running".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_change_the_account_or_the_connection_are_refused() {
        for arg in [
            "-u",
            "-uroot",
            "-p",
            "-psecret",
            "-h",
            "-hdb.example",
            "-P3306",
            "-S/tmp/x.sock",
            "-W",
            "-Nuroot",
            "-Bp",
            "--user=root",
            "--user",
            "--us=root",
            "--password",
            "--password=x",
            "--pass",
            "--password1=x",
            "--host=db",
            "--ho",
            "--port=3307",
            "--socket=/tmp/x",
            "--protocol=tcp",
            "--defaults-file=/x",
            "--defaults-extra-file=/x",
            "--no-defaults",
            "--login-path=x",
            "--loose-user=root",
            "--skip-password",
            "--default_auth=x",
            "--plugin-dir=/x",
            "--authentication-oci-client-config-profile=x",
        ] {
            assert!(changes_the_connection(arg), "{arg} should be refused");
        }
    }

    #[test]
    fn the_init_command_is_the_plugins_own() {
        for arg in [
            "--init-command=SET x=1",
            "--init_command=x",
            "--init-com",
            "--ini",
        ] {
            assert!(sets_the_init_command(arg), "{arg} should be refused");
        }
        for arg in ["--in", "-i", "--ignore-spaces", "shop"] {
            assert!(!sets_the_init_command(arg), "{arg} should pass");
        }
    }

    #[test]
    fn output_and_behaviour_arguments_pass() {
        for arg in [
            "--table",
            "-t",
            "-N",
            "-B",
            "-E",
            "--vertical",
            "--batch",
            "--skip-column-names",
            "--force",
            "--pager=less -S",
            "--html",
            "--help",
            "-Dshop",
            "-Dhost",
            "--database=shop",
            "-eSELECT 1",
            "-NBe",
            "--execute=SELECT user, host FROM mysql.user",
            "--show-warnings",
            "shop",
            "SELECT -u",
        ] {
            assert!(!changes_the_connection(arg), "{arg} should pass");
        }
    }
}
