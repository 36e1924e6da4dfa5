//! A program in a pod wired to this process's stdin, stdout and stderr, like `kubectl exec -i`
//! (`-t` with a terminal: local raw mode, a tty in the pod, resizes forwarded), ending with the
//! program's exit status.
use crate::base::terminal;
use crate::k8s::exec::Target;
use anyhow::{bail, Context, Result};
use futures::SinkExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, TerminalSize};
use std::io::{Read, Write};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};

/// What the program reads.
pub enum Input {
    /// These bytes, then the end of input.
    Bytes(Vec<u8>),
    /// This process's stdin, piped through to its end.
    Stdin,
    /// This terminal: raw mode here, a tty in the pod.
    Terminal,
}

/// The program ended with this non-zero exit status (or was cut short by this signal, 128+n):
/// the plugin exits with it and prints nothing more, the program has said what went wrong.
#[derive(Debug)]
pub struct Exited(pub u8);

impl std::fmt::Display for Exited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with status {}", self.0)
    }
}

impl std::error::Error for Exited {}

/// Runs `command` in the target's container with `input`, its output copied to ours as it
/// comes; returns its exit status (128+n when this process got signal n and ended the session).
pub async fn run(target: Target<'_>, command: &[String], input: Input) -> Result<u8> {
    let tty = matches!(input, Input::Terminal);
    // Listening before raw mode begins: no signal finds the terminal raw and nobody to restore it.
    let stop = stop_signal();
    let params = AttachParams::default()
        .container(target.container)
        .stdin(true)
        .stdout(true)
        // A tty carries both streams in one.
        .stderr(!tty)
        .tty(tty);
    let mut process = target
        .pods
        .exec(target.pod, command.to_vec(), &params)
        .await
        .with_context(|| format!("cannot exec in {}/{}", target.pod, target.container))?;
    let raw = if tty {
        Some(terminal::RawMode::enable()?)
    } else {
        None
    };
    let mut background = Vec::new();
    if let Some(writer) = process.stdin() {
        background.push(tokio::spawn(feed(writer, input)));
    }
    if let Some(sizes) = process.terminal_size() {
        background.push(tokio::spawn(forward_resizes(sizes)));
    }
    let stdout = process.stdout().context("exec has no stdout")?;
    let stderr = process.stderr();
    let status = process.take_status().context("exec has no status")?;
    let output = async {
        let to_stderr = async {
            if let Some(stderr) = stderr {
                copy_out(stderr, std::io::stderr()).await;
            }
        };
        tokio::join!(copy_out(stdout, std::io::stdout()), to_stderr);
    };
    let ended_by = tokio::select! {
        _ = output => None,
        signal = stop => Some(signal),
    };
    for task in background {
        task.abort();
    }
    drop(raw);
    if let Some(signal) = ended_by {
        return Ok(128 + signal);
    }
    exit_status(status.await)
}

/// Copies `input` into the program's stdin and closes it at the end.
async fn feed(mut writer: impl AsyncWrite + Unpin, input: Input) {
    match input {
        Input::Bytes(bytes) => {
            writer.write_all(&bytes).await.ok();
        }
        Input::Stdin | Input::Terminal => {
            let mut chunks = read_stdin();
            while let Some(chunk) = chunks.recv().await {
                if writer.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
    }
    writer.shutdown().await.ok();
}

/// This process's stdin in chunks as they come, read by a thread of its own: a blocking read
/// of a terminal must not hold up the runtime when the session ends.
fn read_stdin() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if sender.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    receiver
}

/// Sends the terminal's size now and after each change of it (SIGWINCH).
async fn forward_resizes(mut sizes: futures::channel::mpsc::Sender<TerminalSize>) {
    let Ok(mut changes) = signal(SignalKind::window_change()) else {
        return;
    };
    loop {
        if let Some((width, height)) = terminal::size() {
            if sizes.send(TerminalSize { width, height }).await.is_err() {
                return;
            }
        }
        if changes.recv().await.is_none() {
            return;
        }
    }
}

/// Copies a stream of the program to ours, flushing each piece (a prompt has no newline). When
/// ours is closed the rest is read and dropped, so the program is never stuck writing.
async fn copy_out(mut reader: impl AsyncRead + Unpin, mut to: impl Write) {
    let mut buf = vec![0u8; 8192];
    let mut open = true;
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if open {
            open = to.write_all(&buf[..n]).and_then(|_| to.flush()).is_ok();
        }
    }
}

/// Listens for SIGINT, SIGTERM and SIGHUP from now on; resolves to the number of the first.
fn stop_signal() -> impl std::future::Future<Output = u8> {
    let listeners = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    async move {
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = listeners else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => libc::SIGINT as u8,
            _ = term.recv() => libc::SIGTERM as u8,
            _ = hup.recv() => libc::SIGHUP as u8,
        }
    }
}

/// The program's exit status from the API server's last word on the exec.
fn exit_status(status: Option<Status>) -> Result<u8> {
    let Some(status) = status else {
        bail!("the connection ended without an exit status");
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let code = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_deref()?.parse::<i64>().ok());
    match code {
        Some(code) => Ok(u8::try_from(code).unwrap_or(1).max(1)),
        None => bail!(
            "{}",
            status
                .message
                .unwrap_or_else(|| "the program failed without an exit status".into())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    fn failure(causes: Vec<StatusCause>, message: &str) -> Status {
        Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            message: Some(message.into()),
            details: Some(StatusDetails {
                causes: Some(causes),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn exit_status_comes_from_the_exit_code_cause() {
        let success = Status {
            status: Some("Success".into()),
            ..Default::default()
        };
        assert_eq!(exit_status(Some(success)).unwrap(), 0);
        let one = StatusCause {
            reason: Some("ExitCode".into()),
            message: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(
            exit_status(Some(failure(
                vec![one],
                "command terminated with non-zero exit code"
            )))
            .unwrap(),
            1
        );
        let e = exit_status(Some(failure(vec![], "container not found (\"mysql\")"))).unwrap_err();
        assert_eq!(e.to_string(), "container not found (\"mysql\")");
        assert!(exit_status(None).is_err());
    }
}
