//! Running commands in pods over the API server's exec endpoint (WebSocket, v5 protocol so that
//! closing stdin reaches the process), and relaying a byte stream from one pod into another.
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess};
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 1 MiB: small relay buffers halve the throughput of a backup stream.
const STREAM_BUFFER: usize = 1 << 20;

pub struct Output {
    pub stdout: String,
}

/// Where to run: a pod's container (whose image holds `engine`'s tools).
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub pods: &'a Api<Pod>,
    pub pod: &'a str,
    pub container: &'a str,
    pub engine: crate::db::engine::Engine,
}

/// Runs `command` in the container, feeding `stdin` (if any), and returns its output; a
/// non-zero exit is an error carrying the command's stderr.
pub async fn run(target: Target<'_>, command: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    start(target, command, stdin).await?.wait().await
}

/// A command started in a pod, its stdin already fed and closed; its end is awaited later.
pub struct Started<'a> {
    process: AttachedProcess,
    target: Target<'a>,
    command: Vec<String>,
}

/// How an exec's streams are attached: stdin or not, and streaming buffers for a large stdin or
/// stdout (a backup stream).
#[derive(Clone, Copy)]
enum Streams {
    /// stdout and stderr only.
    Output,
    /// stdin too.
    Input,
    /// A large stream out of stdout.
    StreamOut,
    /// A large stream into stdin.
    StreamIn,
}

/// Starts `command` in `target` with `streams` attached.
async fn attach(target: Target<'_>, command: &[&str], streams: Streams) -> Result<AttachedProcess> {
    let params = AttachParams::default()
        .container(target.container)
        .stdin(matches!(streams, Streams::Input | Streams::StreamIn))
        .stdout(true)
        .stderr(true);
    let params = match streams {
        Streams::StreamOut => params.max_stdout_buf_size(STREAM_BUFFER),
        Streams::StreamIn => params.max_stdin_buf_size(STREAM_BUFFER),
        Streams::Output | Streams::Input => params,
    };
    let argv: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    target
        .pods
        .exec(target.pod, argv, &params)
        .await
        .with_context(|| format!("cannot exec in {}/{}", target.pod, target.container))
}

/// Starts `command` in the container and feeds it `stdin` (then closes it).
pub async fn start<'a>(
    target: Target<'a>,
    command: &[&str],
    stdin: Option<&[u8]>,
) -> Result<Started<'a>> {
    let streams = if stdin.is_some() {
        Streams::Input
    } else {
        Streams::Output
    };
    let mut process = attach(target, command, streams).await?;
    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    if let Some(input) = stdin {
        let mut writer = process.stdin().context("exec has no stdin")?;
        writer
            .write_all(input)
            .await
            .context("writing to exec stdin")?;
        writer.shutdown().await.ok();
    }
    Ok(Started {
        process,
        target,
        command,
    })
}

impl Started<'_> {
    /// Waits for the end; the whole output.
    pub async fn wait(self) -> Result<Output> {
        let mut stdout = Vec::new();
        self.wait_lines(|line| {
            stdout.extend_from_slice(line.as_bytes());
            stdout.push(b'\n');
        })
        .await?;
        Ok(Output {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
        })
    }

    /// Waits for the end, handing each line of stdout to `on_line` as it arrives.
    pub async fn wait_lines(mut self, mut on_line: impl FnMut(&str)) -> Result<()> {
        use tokio::io::AsyncBufReadExt;
        let stdout_reader = self.process.stdout().context("exec has no stdout")?;
        let mut stderr_reader = self.process.stderr().context("exec has no stderr")?;
        let lines = async {
            let mut lines = tokio::io::BufReader::new(stdout_reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                on_line(&line);
            }
        };
        let (_, stderr) = tokio::join!(lines, read_all(&mut stderr_reader));
        let command: Vec<&str> = self.command.iter().map(String::as_str).collect();
        finish(
            self.process,
            self.target,
            &command,
            &String::from_utf8_lossy(&stderr),
        )
        .await
    }
}

/// Waits for the exec to end and turns a failure status into an error.
async fn finish(
    mut process: AttachedProcess,
    target: Target<'_>,
    command: &[&str],
    stderr: &str,
) -> Result<()> {
    let status = process.take_status().context("exec has no status")?.await;
    process.join().await.ok();
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        Some(s) => {
            let code = s
                .details
                .and_then(|d| d.causes)
                .into_iter()
                .flatten()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message?.parse().ok());
            let detail = stderr.trim();
            let detail = if detail.is_empty() {
                without_url(&s.message.unwrap_or_default())
            } else {
                telling_lines(detail, 5)
            };
            Err(Failed {
                code,
                message: format!(
                    "`{}` failed in {}/{}: {detail}",
                    shown(command),
                    target.pod,
                    target.container
                ),
                detail,
            }
            .into())
        }
        None => bail!(
            "`{}` in {}/{}: the connection ended without an exit status",
            shown(command),
            target.pod,
            target.container
        ),
    }
}

/// A command as an error shows it: whole when short, else its first 100 bytes (the plugin's
/// own scripts run as `bash -c` with long bodies; what failed is said by their stderr).
fn shown(command: &[&str]) -> String {
    crate::base::truncate(&command.join(" "), 100)
}

/// A command that ran and ended with a failure status.
#[derive(Debug)]
pub struct Failed {
    /// The exit code, when the container runtime reported one (137: killed by SIGKILL).
    pub code: Option<i32>,
    /// The command, the container, and the end of its stderr (or the runtime's message).
    message: String,
    detail: String,
}

impl Failed {
    /// The end of its stderr, or the runtime's message.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}

/// Reads a stream to its end; a broken stream just ends the output early (the exit status tells).
async fn read_all(reader: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.ok();
    bytes
}

/// The exec failed because the API server could not reach the pod's node's kubelet.
pub fn kubelet_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Failed>()
            .is_some_and(|f| f.detail.starts_with(KUBELET_UNREACHABLE))
    })
}

const KUBELET_UNREACHABLE: &str = "its node's kubelet cannot be reached";

/// The API server's message for an exec it could not deliver to the pod's node, without the
/// exec's URL (every argument of the command, escaped): `Internal error occurred: error sending
/// request: Post "https://NODE:10250/exec/…": dial tcp NODE:10250: connect: connection refused`.
fn without_url(message: &str) -> String {
    const SENDING: &str = "error sending request: ";
    let Some(start) = message.find(SENDING) else {
        return message.to_string();
    };
    match message[start..].find("\": ") {
        Some(end) => format!("{KUBELET_UNREACHABLE} ({})", &message[start + end + 3..]),
        None => message.to_string(),
    }
}

/// At most `n` lines of a failed command's stderr, joined: the first `[ERROR]` lines when the
/// servers logged some (the cause comes first: `preallocating … failed with error 28`; the last
/// lines only say `Aborting`), else the last lines.
fn telling_lines(text: &str, n: usize) -> String {
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[ERROR]"))
        .take(n)
        .collect();
    if !errors.is_empty() {
        return errors.join(" | ");
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Runs `command` in `target` and copies its stdout into `sink` as it comes (a backup stream
/// on its way to object storage), calling `on_bytes` with the running count. Returns the
/// number of bytes copied; a failure status is an error with the end of the command's stderr.
pub async fn stdout_into(
    target: Target<'_>,
    command: &[&str],
    sink: &mut (impl tokio::io::AsyncWrite + Unpin),
    mut on_bytes: impl FnMut(u64),
) -> Result<u64> {
    let mut process = attach(target, command, Streams::StreamOut).await?;
    let mut input = process.stdout().context("exec has no stdout")?;
    let mut errors = process.stderr().context("exec has no stderr")?;
    let copy = async {
        let mut buf = vec![0u8; STREAM_BUFFER];
        let mut total = 0u64;
        loop {
            let n = input.read(&mut buf).await.context("reading the stream")?;
            if n == 0 {
                break;
            }
            sink.write_all(&buf[..n]).await?;
            total += n as u64;
            on_bytes(total);
        }
        Ok::<u64, anyhow::Error>(total)
    };
    let (copied, stderr) = tokio::join!(copy, read_all(&mut errors));
    let ended = finish(process, target, command, &String::from_utf8_lossy(&stderr)).await;
    ended?;
    copied
}

/// A command whose stdin is written to as a stream (`stdin`), ended by `finish`.
pub struct Feeding<'a> {
    process: AttachedProcess,
    target: Target<'a>,
    command: Vec<String>,
    /// The command's stdin: write, then `finish` closes it.
    pub stdin: Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
    drained: tokio::task::JoinHandle<Vec<u8>>,
}

/// Starts `command` in `target` with a streamed stdin (its stdout is discarded, its stderr kept
/// for the error).
pub async fn feeding<'a>(target: Target<'a>, command: &[&str]) -> Result<Feeding<'a>> {
    let mut process = attach(target, command, Streams::StreamIn).await?;
    let argv: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    let stdin = process.stdin().context("exec has no stdin")?;
    let mut out = process.stdout().context("exec has no stdout")?;
    let mut err = process.stderr().context("exec has no stderr")?;
    let drained = tokio::spawn(async move {
        let (_, stderr) = tokio::join!(read_all(&mut out), read_all(&mut err));
        stderr
    });
    Ok(Feeding {
        process,
        target,
        command: argv,
        stdin: Box::new(stdin),
        drained,
    })
}

impl Feeding<'_> {
    /// Closes stdin (if the feeder has not) and waits for the command's end.
    pub async fn finish(mut self) -> Result<()> {
        self.stdin.shutdown().await.ok();
        let stderr = self.drained.await.unwrap_or_default();
        let command: Vec<&str> = self.command.iter().map(String::as_str).collect();
        finish(
            self.process,
            self.target,
            &command,
            &String::from_utf8_lossy(&stderr),
        )
        .await
    }
}

/// Pipes the stdout of `source_cmd` in `source` into the stdin of `sink_cmd` in `sink`, through
/// this process, and closes the sink's stdin at the end of the stream. `on_bytes` is called
/// with the running byte count. Returns the number of bytes relayed.
pub async fn relay(
    source: Target<'_>,
    source_cmd: &[&str],
    sink: Target<'_>,
    sink_cmd: &[&str],
    mut on_bytes: impl FnMut(u64),
) -> Result<u64> {
    let mut sink_proc = attach(sink, sink_cmd, Streams::StreamIn).await?;
    let mut source_proc = attach(source, source_cmd, Streams::StreamOut).await?;

    let mut input = source_proc.stdout().context("source has no stdout")?;
    let mut output = sink_proc.stdin().context("sink has no stdin")?;
    let mut source_err = source_proc.stderr().context("source has no stderr")?;
    let mut sink_out = sink_proc.stdout().context("sink has no stdout")?;
    let mut sink_err = sink_proc.stderr().context("sink has no stderr")?;

    let copy = async {
        let mut buf = vec![0u8; STREAM_BUFFER];
        let mut total = 0u64;
        loop {
            let n = input
                .read(&mut buf)
                .await
                .context("reading the backup stream")?;
            if n == 0 {
                break;
            }
            output
                .write_all(&buf[..n])
                .await
                .context("writing the backup stream")?;
            total += n as u64;
            on_bytes(total);
        }
        output
            .shutdown()
            .await
            .context("closing the stream's end")?;
        Ok::<u64, anyhow::Error>(total)
    };
    let (copied, source_stderr, _, sink_stderr) = tokio::join!(
        copy,
        read_all(&mut source_err),
        read_all(&mut sink_out),
        read_all(&mut sink_err)
    );
    let (source_stderr, sink_stderr) = (
        String::from_utf8_lossy(&source_stderr),
        String::from_utf8_lossy(&sink_stderr),
    );
    let source_result = finish(source_proc, source, source_cmd, &source_stderr).await;
    let sink_result = finish(sink_proc, sink, sink_cmd, &sink_stderr).await;
    source_result.context("the backup failed on the donor")?;
    sink_result.context("extracting the backup failed on the target")?;
    copied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_that_could_not_reach_the_node_is_said_without_its_url() {
        let refused = "Internal error occurred: error sending request: Post \"https://10.245.0.13:10250/exec/ns/cx-0/mysql?command=mariadb&command=--batch&error=1\": dial tcp 10.245.0.13:10250: connect: connection refused";
        assert_eq!(
            without_url(refused),
            "its node's kubelet cannot be reached (dial tcp 10.245.0.13:10250: connect: connection refused)"
        );
        let other = "container not found (\"mysql\")";
        assert_eq!(without_url(other), other);
    }

    #[test]
    fn a_failed_servers_first_errors_are_shown_before_its_last_words() {
        // mariadb-install-db on a volume the mysql user cannot write to any more.
        let log = "2026-12-07 14:20:21 0 [Note] InnoDB: Using io_uring
2026-12-07 14:20:21 0 [ERROR] InnoDB: preallocating 536870912 bytes for file ./ib_logfile101 failed with error 28
2026-12-07 14:20:21 0 [ERROR] InnoDB: Cannot set log file ./ib_logfile101 size to 512.000MiB
2026-12-07 14:20:21 0 [Note] Plugin 'FEEDBACK' is disabled.
2026-12-07 14:20:21 0 [ERROR] Plugin 'InnoDB' registration as a STORAGE ENGINE failed.
2026-12-07 14:20:21 0 [ERROR] Unknown/unsupported storage engine: InnoDB
2026-12-07 14:20:21 0 [ERROR] Aborting
Please report bugs at https://mariadb.org/jira";
        let shown = telling_lines(log, 2);
        assert_eq!(
            shown,
            "2026-12-07 14:20:21 0 [ERROR] InnoDB: preallocating 536870912 bytes for file ./ib_logfile101 failed with error 28 | 2026-12-07 14:20:21 0 [ERROR] InnoDB: Cannot set log file ./ib_logfile101 size to 512.000MiB"
        );
        assert_eq!(telling_lines("one\ntwo\nthree", 2), "two | three");
        assert_eq!(telling_lines("only", 5), "only");
    }

    #[test]
    fn a_failed_command_is_shown_whole_when_short_and_by_its_start_when_long() {
        assert_eq!(shown(&["rm", "-rf", "/tmp/x"]), "rm -rf /tmp/x");
        let script = format!("socat {}", "x".repeat(300));
        let long = shown(&["bash", "-c", &script]);
        assert!(long.starts_with("bash -c socat xxx"), "{long}");
        assert!(long.ends_with("..."), "{long}");
        assert_eq!(long.len(), 100);
    }
}
