//! Terminals on the engine's side: the pty master an OCI runtime hands back over
//! `--console-socket` (for `run -t` in the monitor, for `exec -t` in the caller), window
//! sizes, and the user's terminal in raw mode for `run -it`, `attach`, `exec -it`.
//!
//! The engine drives the runtime as a binary, so it does not share the runtime's own
//! console code: the protocol between them is runc's (the master sent with SCM_RIGHTS,
//! the pty's name as the data).

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use crate::monitor::attach::Resize;

/// A listening console socket and the path to give the runtime's `--console-socket`.
pub struct ConsoleSocket {
    listener: UnixListener,
    /// The socket's path as bound (removed on drop).
    bound: PathBuf,
    /// What the runtime connects to: `bound`, or a `/proc/<pid>/fd/<dir>/<name>` alias
    /// when `bound` is longer than a socket address holds.
    for_runtime: PathBuf,
    /// Keeps the directory fd of the alias open.
    _dir: Option<std::fs::File>,
}

impl ConsoleSocket {
    /// Binds a console socket at `path` (any length; an existing file there is replaced).
    pub fn bind(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let _ = std::fs::remove_file(path);
        let listener = crate::monitor::attach::bind(path)?;
        let (for_runtime, dir) = if path.as_os_str().as_bytes().len() < 100 {
            (path.to_path_buf(), None)
        } else {
            // The runtime is another process: it reaches our directory fd through our pid.
            let dir = std::fs::File::open(path.parent().unwrap_or(Path::new("/")))?;
            let alias = PathBuf::from(format!(
                "/proc/{}/fd/{}",
                std::process::id(),
                dir.as_raw_fd()
            ))
            .join(path.file_name().unwrap_or_default());
            (alias, Some(dir))
        };
        Ok(Self {
            listener,
            bound: path.to_path_buf(),
            for_runtime,
            _dir: dir,
        })
    }

    /// The `--console-socket` argument.
    pub fn path(&self) -> &Path {
        &self.for_runtime
    }

    /// Takes the pty master the runtime sent (it connects and sends during `create` or
    /// `exec`, before it reports the process ready: the connection waits in the backlog
    /// if we were not accepting yet). Waits up to `timeout`, and only while `waiting()`
    /// says the runtime may still send it (false once it exited).
    pub fn receive_master(
        &self,
        timeout: Duration,
        mut waiting: impl FnMut() -> bool,
    ) -> std::io::Result<OwnedFd> {
        self.listener.set_nonblocking(true)?;
        let deadline = Instant::now() + timeout;
        let conn = loop {
            // Asked before the accept: a runtime that sent and exited in between is seen.
            let alive = waiting();
            match self.listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline || !alive {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the runtime sent no pty master on the console socket",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        };
        conn.set_nonblocking(false)?;
        conn.set_read_timeout(Some(timeout))?;
        receive_fd(&conn)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.bound);
    }
}

/// Receives one fd sent with SCM_RIGHTS (the data, the pty's name, is ignored).
fn receive_fd(conn: &UnixStream) -> std::io::Result<OwnedFd> {
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(got) = c {
            fds.extend(got);
        }
    }
    // SAFETY: these fds came to us through SCM_RIGHTS; nothing else owns them.
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    if owned.is_empty() {
        return Err(std::io::Error::other(
            "the console socket connection carried no fd",
        ));
    }
    Ok(owned.swap_remove(0))
}

/// The window size of terminal `fd`; None when it is not a terminal.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<Resize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize that lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return None;
    }
    Some(Resize {
        height: ws.ws_row,
        width: ws.ws_col,
    })
}

/// Sets the window size of pty `fd` (a master): the kernel then sends SIGWINCH to the
/// pty's foreground process group.
pub fn set_window_size(fd: BorrowedFd<'_>, size: Resize) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.height,
        ws_col: size.width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The user's terminal in raw mode until dropped (every way out of the caller restores
/// it: return, error, panic unwinding).
pub struct RawMode {
    fd: OwnedFd,
    saved: Termios,
}

impl RawMode {
    /// Makes stdin raw when it is a terminal; None when it is not (nothing to restore).
    pub fn stdin() -> std::io::Result<Option<Self>> {
        let stdin = std::io::stdin();
        if !nix::unistd::isatty(stdin.as_fd()).unwrap_or(false) {
            return Ok(None);
        }
        let fd = stdin.as_fd().try_clone_to_owned()?;
        let saved = tcgetattr(&fd)?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&fd, SetArg::TCSANOW, &raw)?;
        Ok(Some(Self { fd, saved }))
    }
}

impl RawMode {
    /// A handle that puts the saved modes back from another thread: for a thread that
    /// takes a fatal signal (SIGTERM, SIGHUP) and ends the process, where no `Drop` runs.
    pub fn restorer(&self) -> std::io::Result<Restorer> {
        Ok(Restorer {
            fd: self.fd.try_clone()?,
            saved: self.saved.clone(),
        })
    }
}

/// See [`RawMode::restorer`].
pub struct Restorer {
    fd: OwnedFd,
    saved: Termios,
}

impl Restorer {
    pub fn restore(&self) {
        let _ = tcsetattr(&self.fd, SetArg::TCSANOW, &self.saved);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Err(e) = tcsetattr(&self.fd, SetArg::TCSANOW, &self.saved) {
            tracing::warn!("restoring the terminal's modes: {e}");
        }
    }
}

/// Docker's default detach keys, ctrl-p then ctrl-q.
pub const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// Parses docker's `--detach-keys` (`ctrl-p,ctrl-q`, `a,ctrl-@`): comma-separated keys,
/// each a single character or `ctrl-X` with X one of `a`-`z`, `@`, `[`, `\`, `]`, `^`,
/// `_` (the control codes 0-31).
pub fn parse_detach_keys(text: &str) -> Result<Vec<u8>, String> {
    let bad = |k: &str| {
        format!("invalid detach key {k:?} in {text:?}: use a character or ctrl-<a-z@[\\]^_>")
    };
    let mut keys = Vec::new();
    for k in text.split(',') {
        let key = match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let c = c.as_bytes()[0].to_ascii_lowercase();
                match c {
                    b'a'..=b'z' => c - b'a' + 1,
                    b'@' => 0,
                    b'[' => 27,
                    b'\\' => 28,
                    b']' => 29,
                    b'^' => 30,
                    b'_' => 31,
                    _ => return Err(bad(k)),
                }
            }
            None if k.len() == 1 && k.is_ascii() => k.as_bytes()[0],
            _ => return Err(bad(k)),
        };
        keys.push(key);
    }
    Ok(keys)
}

/// Finds a detach sequence (docker's ctrl-p ctrl-q by default) in typed input across
/// reads: [`DetachScanner::feed`] returns the bytes to pass on, and whether the sequence
/// was typed (the bytes before it are passed on, the sequence itself is not).
#[derive(Debug)]
pub struct DetachScanner {
    keys: Vec<u8>,
    /// How many bytes of `keys` matched at the end of the previous read.
    matched: usize,
}

impl Default for DetachScanner {
    fn default() -> Self {
        Self::new(DETACH_KEYS.to_vec())
    }
}

impl DetachScanner {
    /// A scanner for `keys` (none: nothing ever detaches).
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, matched: 0 }
    }

    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (input.to_vec(), false);
        }
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
                continue;
            }
            // A partial match that did not go on: those keys were meant for the container.
            // (Re-scanning them would only matter for sequences that repeat a prefix.)
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detach_sequence_is_found_across_reads_and_other_keys_pass() {
        let mut s = DetachScanner::default();
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(
            s.feed(b"\x10c"),
            (b"\x10\x10c".to_vec()[..].to_vec(), false)
        );
        let mut s = DetachScanner::default();
        assert_eq!(s.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (Vec::new(), true));
        let mut s = DetachScanner::default();
        assert_eq!(s.feed(b"\x10x"), (b"\x10x".to_vec(), false));
    }

    #[test]
    fn detach_keys_parse_as_docker_writes_them() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q"), Ok(DETACH_KEYS.to_vec()));
        assert_eq!(parse_detach_keys("a,ctrl-@,ctrl-["), Ok(vec![b'a', 0, 27]));
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("ab").is_err());
        let mut s = DetachScanner::new(vec![b'x', b'y']);
        assert_eq!(s.feed(b"axbxy"), (b"axb".to_vec(), true));
    }

    #[test]
    fn a_pty_takes_the_size_it_is_given() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let size = Resize {
            height: 33,
            width: 101,
        };
        set_window_size(pty.master.as_fd(), size).expect("TIOCSWINSZ");
        assert_eq!(window_size(pty.slave.as_fd()), Some(size));
        assert_eq!(
            window_size(std::fs::File::open("/dev/null").expect("null").as_fd()),
            None
        );
    }
}
