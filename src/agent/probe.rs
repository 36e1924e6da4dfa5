//! Is the primary's server alive, seen from the agent's pod: a TCP connection to its pod IP and
//! the server's first packet (the handshake a MySQL or MariaDB server sends before anything is
//! asked), within a short time. No SQL, no credentials: a frozen server accepts the connection
//! (the kernel does) but sends nothing; a dead one refuses it.
use anyhow::{bail, Context as _, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Protocol version 10: the handshake of every MySQL and MariaDB server.
const HANDSHAKE_V10: u8 = 10;
/// An error packet (e.g. too many connections): the server runs and answers.
const ERROR_PACKET: u8 = 0xff;

/// Ok when the server at `addr` sent its handshake (or an error packet) within `limit`.
pub async fn handshake(addr: SocketAddr, limit: Duration) -> Result<()> {
    tokio::time::timeout(limit, read_first_packet(addr))
        .await
        .with_context(|| format!("no handshake from {addr} within {}ms", limit.as_millis()))?
}

async fn read_first_packet(addr: SocketAddr) -> Result<()> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let mut header = [0u8; 5];
    stream
        .read_exact(&mut header)
        .await
        .with_context(|| format!("{addr} closed the connection before its handshake"))?;
    let length = u32::from_le_bytes([header[0], header[1], header[2], 0]);
    match header[4] {
        HANDSHAKE_V10 | ERROR_PACKET if length > 0 => Ok(()),
        other => bail!("{addr} sent no MySQL handshake (first byte {other:#x})"),
    }
}

/// The server's port refused the connection, or reset or closed it before the greeting: the
/// pod answers, its server process is ending or not running (it restarts in place: the
/// kubelet restarts the container), unlike a silent one (frozen, or its pod or node
/// unreachable: nothing answers at all).
pub fn restarting(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::{ConnectionRefused, ConnectionReset, UnexpectedEof};
    error.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| {
            matches!(
                e.kind(),
                ConnectionRefused | ConnectionReset | UnexpectedEof
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn server(first: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            if !first.is_empty() {
                s.write_all(first).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_handshake_is_alive_silence_and_refusal_are_not() {
        let alive = server(&[0x4a, 0, 0, 0, 10, b'1', b'1']).await;
        assert!(handshake(alive, Duration::from_secs(1)).await.is_ok());
        let silent = server(b"").await;
        let e = handshake(silent, Duration::from_millis(200)).await;
        assert!(e.unwrap_err().to_string().contains("no handshake"));
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let e = handshake(addr, Duration::from_secs(1)).await.unwrap_err();
        assert!(restarting(&e), "{e:#}");
        assert!(!restarting(
            &handshake(silent, Duration::from_millis(200))
                .await
                .unwrap_err()
        ));
        // A server ending: it closes the connection before its greeting.
        let closing = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closing.local_addr().unwrap();
        tokio::spawn(async move { drop(closing.accept().await) });
        let e = handshake(addr, Duration::from_secs(1)).await.unwrap_err();
        assert!(restarting(&e), "{e:#}");
    }
}
