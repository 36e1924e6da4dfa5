//! The local terminal: raw mode for an interactive session in a pod (restored when the guard is
//! dropped, on every way out), and the terminal's size.
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::os::fd::{AsRawFd, RawFd};

/// Both stdin and stdout are a terminal: a session can be interactive.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The terminal in raw mode (no echo, no line editing, no signals from keys: every key goes to
/// the remote program as typed) until this guard is dropped.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Puts the terminal on stdin in raw mode.
    pub fn enable() -> Result<Self> {
        let fd = std::io::stdin().as_raw_fd();
        let saved = attributes(fd).context("cannot read the terminal's settings")?;
        let mut raw = saved;
        // SAFETY: cfmakeraw only edits the struct it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        set_attributes(fd, &raw).context("cannot put the terminal in raw mode")?;
        Ok(Self { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = set_attributes(self.fd, &self.saved);
    }
}

fn attributes(fd: RawFd) -> std::io::Result<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(t)
}

fn set_attributes(fd: RawFd, t: &libc::termios) -> std::io::Result<()> {
    // TCSADRAIN: what was written before the change is shown under the old settings.
    if unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Columns and rows of the terminal on stdout, if it is one (and knows its size).
pub fn size() -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let fd = std::io::stdout().as_raw_fd();
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 || ws.ws_col == 0 {
        return None;
    }
    Some((ws.ws_col, ws.ws_row))
}
