//! SQL in a member, run by the engine's client (`mariadb` or `mysql`) inside its server
//! container as the socket-authenticated `mysql` account; results parsed from batch
//! (tab-separated) output.
use crate::k8s::exec::{self, Target};
use crate::manifests::RUN_CNF;
use anyhow::Result;

use crate::db::sqltext::parse_batch;
pub use crate::db::sqltext::Row;

/// Runs `sql` (fed on stdin, so no secret reaches a process list) and returns the rows of the
/// last result set.
pub async fn query(target: Target<'_>, sql: &str) -> Result<Vec<Row>> {
    Ok(parse_batch(
        &run_client(target, sql, WORK_CONNECT_TIMEOUT).await?,
    ))
}

/// Seconds the client waits for the server's greeting: ample for work on a loaded server, and
/// short for a probe that must tell a silent (frozen, hung) server quickly.
pub const WORK_CONNECT_TIMEOUT: u32 = 20;
pub const PROBE_CONNECT_TIMEOUT: u32 = 1;

/// The column of the marker row that `query_sets` puts after each statement.
const END_OF_SET: &str = "mysqlha_end_of_result_set";

/// Runs `statements` in one exec (one round trip) and returns one result set per statement,
/// empty for a statement that returns no rows.
pub async fn query_sets(
    target: Target<'_>,
    statements: &[&str],
    connect_timeout: u32,
) -> Result<Vec<Vec<Row>>> {
    Ok(split_sets(
        &run_client(target, &marked_batch(statements), connect_timeout).await?,
    ))
}

/// `query_sets`, after the shell command `first` has succeeded in the same exec (no round trip
/// more): the statements run only once it has.
pub async fn query_sets_after(
    target: Target<'_>,
    first: &str,
    statements: &[&str],
    connect_timeout: u32,
) -> Result<Vec<Vec<Row>>> {
    let batch = marked_batch(statements);
    let client = client_command(target, connect_timeout);
    let script = format!("{first} && exec \"$@\"");
    let mut command = vec!["sh", "-c", script.as_str(), "sh"];
    command.extend(client.iter().map(String::as_str));
    let out = exec::run(target, &command, Some(batch.as_bytes())).await?;
    Ok(split_sets(&out.stdout))
}

/// `statements` as one batch with a marker row after each, for `split_sets`.
pub fn marked_batch(statements: &[&str]) -> String {
    statements
        .iter()
        .map(|s| format!("{s}\nSELECT 1 AS {END_OF_SET};\n"))
        .collect()
}

/// The engine's client in batch mode, `sql` on stdin; its stdout.
async fn run_client(target: Target<'_>, sql: &str, connect_timeout: u32) -> Result<String> {
    let cmd = client_command(target, connect_timeout);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    Ok(exec::run(target, &cmd, Some(sql.as_bytes())).await?.stdout)
}

/// The engine's client in batch mode as the socket account, reading SQL on stdin.
fn client_command(target: Target<'_>, connect_timeout: u32) -> [String; 5] {
    [
        target.engine.client().to_string(),
        format!("--defaults-file={RUN_CNF}"),
        "-umysql".to_string(),
        "--batch".to_string(),
        format!("--connect-timeout={connect_timeout}"),
    ]
}

/// Splits the output of a `marked_batch` at its marker rows (header `END_OF_SET`, value 1).
pub fn split_sets(text: &str) -> Vec<Vec<Row>> {
    let mut sets = Vec::new();
    let mut current = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == END_OF_SET {
            lines.next(); // its value
            sets.push(parse_batch(&current));
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    sets
}

/// Runs statements whose results are not needed.
pub async fn execute(target: Target<'_>, sql: &str) -> Result<()> {
    query(target, sql).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_sets_are_split_at_their_markers() {
        let text =
            format!("a\tb\n1\t2\n{END_OF_SET}\n1\n{END_OF_SET}\n1\nc\n3\n4\n{END_OF_SET}\n1\n");
        let sets = split_sets(&text);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0][0]["b"], "2");
        assert!(
            sets[1].is_empty(),
            "a statement without rows gives an empty set"
        );
        assert_eq!(sets[2].len(), 2);
        assert_eq!(sets[2][1]["c"], "4");
    }
}
