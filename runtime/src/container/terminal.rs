//! The caller's terminal as the container's, for a foreground `run` or `exec -t` whose
//! process wants a terminal and was given no `--console-socket`, as `runc run` does it.
//!
//! The runtime keeps the far end of the console socket itself (a socketpair), so the
//! container makes its pty as always (`init::console`) and the master comes back here.
//! While the process runs, the caller's terminal is in raw mode (restored on every way
//! out, by `Drop`), keystrokes go to the master and the container's output to stdout, the
//! caller's window size is copied onto the pty on each SIGWINCH (the kernel then signals
//! the container's foreground process group), and the other signals of
//! [`foreground::signals`] are forwarded as without a terminal. One poll loop, no threads.

use std::fs::OpenOptions;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::Pid;

use super::foreground;
use crate::error::{Error, Result, sys_err};
use crate::init::console;

/// runc's refusal, word for word, for `create`, `run -d` and `exec -d -t` with a terminal
/// and no console socket: nobody would be left holding the pty master.
pub const DETACHED_TTY: &str =
    "cannot allocate tty if runc will detach without setting console socket";

/// The longest pty name the container sends with the master (`/dev/pts/N`).
const PTY_NAME_MAX: usize = 4096;

/// The runtime's end of the console socketpair: where the pty master arrives.
pub struct ConsoleReceiver {
    sock: UnixStream,
}

/// A console socket for a process whose terminal the runtime proxies itself: the end for
/// the container (in place of a connection to `--console-socket`) and the runtime's end.
/// Refused with [`DETACHED_TTY`] when the runtime will not stay (`detach`).
pub fn console_pair(detach: bool) -> Result<(UnixStream, ConsoleReceiver)> {
    if detach {
        return Err(Error::InvalidArgument(DETACHED_TTY.into()));
    }
    let (theirs, ours) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(sys_err("creating", "console socketpair"))?;
    Ok((
        UnixStream::from(theirs),
        ConsoleReceiver {
            sock: UnixStream::from(ours),
        },
    ))
}

impl ConsoleReceiver {
    /// After the process's setup is over (`create` returned, or exec's process started):
    /// the terminal, if the process made one. The container sends the master before it
    /// reports ready, so it is either waiting on the socket now or was never sent (the
    /// process has `terminal: false`).
    pub fn attach(self) -> Result<Option<Terminal>> {
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).map_err(sys_err("polling", "console socketpair"))?;
        // Nothing sent: the process has no terminal. (The caller still holds the other
        // end, so an empty socket never reads as end-of-file here.)
        if !fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            return Ok(None);
        }
        let (master, _name) = crate::seccomp::recv_fd_with_data(self.sock.as_fd(), PTY_NAME_MAX)
            .map_err(|e| Error::Init(format!("receiving the pty master: {e}")))?;
        Terminal::attach(master).map(Some)
    }
}

/// The container's pty master, proxied to the caller's stdio.
pub struct Terminal {
    master: OwnedFd,
    /// Restores the caller's terminal when the `Terminal` is dropped; `None` when no stdio
    /// stream is a terminal and there is no controlling one (then nothing is made raw).
    host: Option<HostTerminal>,
}

impl Terminal {
    fn attach(master: OwnedFd) -> Result<Self> {
        // Non-blocking: a container that stops reading its input, or has gone, must not
        // hold up the loop that also forwards its signals.
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .map_err(sys_err("making non-blocking", "pty master"))?;
        let host = HostTerminal::find()?;
        let terminal = Self { master, host };
        terminal.copy_window_size();
        Ok(terminal)
    }

    /// The caller's window size onto the pty. Errors are ignored, as runc does: the
    /// caller's terminal may be gone (hung up) while the container still runs.
    fn copy_window_size(&self) {
        let Some(host) = &self.host else { return };
        match console::window_size(host.fd.as_fd()) {
            Ok(size) => {
                if let Err(e) = console::set_window_size(self.master.as_fd(), &size) {
                    tracing::debug!("resizing the container's pty: {e}");
                }
            }
            Err(e) => tracing::debug!("reading the caller's window size: {e}"),
        }
    }

    /// Proxy until `target` exits; its exit code (128+signal when killed). Signals of
    /// [`foreground::signals`] must be blocked (they are read from a signalfd here).
    pub fn wait(&self, target: Pid, what: &str, forward: impl Fn(Signal)) -> Result<i32> {
        let signals = SignalFd::with_flags(
            &foreground::signals(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .map_err(sys_err("opening a signalfd for", what.to_string()))?;
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let master = self.master.as_fd();
        // Keystrokes not yet taken by the pty; more are read only once these are.
        let mut input = Buffer::default();
        let mut output = Output {
            sink: stdout.as_fd(),
            ok: true,
        };
        let mut stdin_open = true;
        let mut master_open = true;
        loop {
            if let Some(code) = foreground::reap(target) {
                // What the process wrote before it exited is still in the pty: pass it
                // on. Whatever is left running (an exec's background child) keeps the
                // pty; we stop at what is there now, as runc does.
                if master_open {
                    let _ = output.copy_from(master);
                }
                return Ok(code);
            }
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            let master_at = master_open.then(|| {
                let mut flags = PollFlags::POLLIN;
                if input.has_pending() {
                    flags |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(master, flags));
                fds.len() - 1
            });
            let stdin_at = (stdin_open && !input.has_pending()).then(|| {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(sys_err("polling the terminal of", what.to_string())(e)),
            }
            let ready = |at: Option<usize>| {
                at.and_then(|i| fds[i].revents())
                    .is_some_and(|r| !r.is_empty())
            };
            let (signal_ready, master_ready, stdin_ready) =
                (ready(Some(0)), ready(master_at), ready(stdin_at));
            drop(fds);
            if signal_ready {
                while let Ok(Some(info)) = signals.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        // Reaped at the top of the loop.
                        Ok(Signal::SIGCHLD) | Err(_) => {}
                        // runc does not forward it either: a changed size makes the
                        // kernel signal the pty's foreground process group itself.
                        Ok(Signal::SIGWINCH) => self.copy_window_size(),
                        Ok(sig) => forward(sig),
                    }
                }
            }
            if master_ready {
                // An error (EIO) means every slave is closed: the process and its
                // children are gone, and the exit is reaped next.
                if output.copy_from(master).is_err()
                    || (input.has_pending() && input.write_to(master).is_err())
                {
                    master_open = false;
                }
            }
            if stdin_ready {
                match input.read_once(stdin.as_fd()) {
                    Ok(true) => {
                        if master_open && input.write_to(master).is_err() {
                            master_open = false;
                        }
                    }
                    // End of input (or a hung-up terminal): nothing more to pass on.
                    // runc sends the container no EOF for it either.
                    Ok(false) | Err(_) => stdin_open = false,
                }
            }
        }
    }
}

/// Wait for `target` as the foreground verb `what`: through `terminal` when the runtime
/// holds the process's pty, else as [`foreground::wait`] does.
pub fn wait(
    terminal: Option<&Terminal>,
    target: Pid,
    what: &str,
    forward: impl Fn(Signal),
) -> Result<i32> {
    match terminal {
        Some(t) => t.wait(target, what, forward),
        None => foreground::wait(target, what, forward),
    }
}

/// Bytes read and not yet all written.
#[derive(Default)]
struct Buffer {
    buf: Vec<u8>,
    start: usize,
}

impl Buffer {
    fn has_pending(&self) -> bool {
        self.start < self.buf.len()
    }

    /// One read (`from` is ready, so it does not block): false at end of file.
    fn read_once(&mut self, from: BorrowedFd<'_>) -> nix::Result<bool> {
        let mut chunk = [0u8; 4096];
        loop {
            match nix::unistd::read(from, &mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Write what is pending to the non-blocking `to` until all is written or it would
    /// block.
    fn write_to(&mut self, to: BorrowedFd<'_>) -> nix::Result<()> {
        while self.has_pending() {
            match nix::unistd::write(to, &self.buf[self.start..]) {
                Ok(n) => self.start += n,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.clear();
        self.start = 0;
        Ok(())
    }
}

/// The container's output on its way to stdout.
struct Output<'a> {
    sink: BorrowedFd<'a>,
    /// False once writing failed (stdout closed): output is then read and dropped, so the
    /// container never blocks on a full pty.
    ok: bool,
}

impl Output<'_> {
    /// Everything the non-blocking master has now, written to stdout (waiting for stdout
    /// as a plain copy would). Err once the master has no slave left (EIO).
    fn copy_from(&mut self, master: BorrowedFd<'_>) -> nix::Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            match nix::unistd::read(master, &mut chunk) {
                Ok(0) => return Err(Errno::EIO),
                Ok(n) => self.write_all(&chunk[..n]),
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write_all(&mut self, mut data: &[u8]) {
        while self.ok && !data.is_empty() {
            match nix::unistd::write(self.sink, data) {
                Ok(n) => data = &data[n..],
                Err(Errno::EINTR) => {}
                // A non-blocking stdout (set so by whoever shares it): wait for room.
                Err(Errno::EAGAIN) => {
                    let mut fds = [PollFd::new(self.sink, PollFlags::POLLOUT)];
                    let _ = poll(&mut fds, PollTimeout::NONE);
                }
                Err(e) => {
                    tracing::debug!("writing the container's terminal output: {e}");
                    self.ok = false;
                }
            }
        }
    }
}

/// The caller's terminal, in raw mode until dropped.
struct HostTerminal {
    fd: OwnedFd,
    saved: Termios,
}

impl HostTerminal {
    /// The first of stdin, stdout and stderr that is a terminal, else the controlling
    /// terminal (runc looks in the same places). Unlike runc, which then fails, having
    /// none is fine: the container's terminal is still proxied, to pipes or files.
    fn find() -> Result<Option<Self>> {
        let std_fds = [
            std::io::stdin().as_fd().try_clone_to_owned(),
            std::io::stdout().as_fd().try_clone_to_owned(),
            std::io::stderr().as_fd().try_clone_to_owned(),
        ];
        let tty = std_fds
            .into_iter()
            .flatten()
            .find(|fd| nix::unistd::isatty(fd).unwrap_or(false))
            .or_else(|| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")
                    .ok()
                    .map(OwnedFd::from)
            });
        let Some(fd) = tty else {
            tracing::debug!("no terminal among stdio: proxying the container's pty as is");
            return Ok(None);
        };
        let saved = tcgetattr(&fd).map_err(sys_err("reading modes of", "the caller's terminal"))?;
        let mut raw = saved.clone();
        // Fully raw, output processing too: the container's pty already turns "\n" into
        // "\r\n" (ONLCR). runc instead clears ONLCR on the pty and keeps OPOST here, but
        // a shell that `exec -t` starts saves the pty's modes before the runtime could
        // change them and puts ONLCR back, giving "\r\r\n".
        cfmakeraw(&mut raw);
        match tcsetattr(&fd, SetArg::TCSANOW, &raw) {
            Ok(()) => Ok(Some(Self { fd, saved })),
            // A terminal that went away (or a background job's, EIO): proxy without it.
            Err(e) if e == Errno::EIO || e == Errno::ENOTTY => {
                tracing::debug!("making the caller's terminal raw: {e}");
                Ok(None)
            }
            Err(e) => Err(sys_err("making raw", "the caller's terminal")(e)),
        }
    }
}

impl Drop for HostTerminal {
    fn drop(&mut self) {
        if let Err(e) = tcsetattr(&self.fd, SetArg::TCSANOW, &self.saved) {
            tracing::warn!("restoring the caller's terminal modes: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_terminal_without_socket_is_refused_in_runcs_words() {
        let err = console_pair(true).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "invalid argument: cannot allocate tty if runc will detach without setting console socket"
            )
        );
    }

    #[test]
    fn a_process_without_terminal_sends_nothing_and_attaches_none() {
        let (_theirs, ours) = console_pair(false).expect("socketpair");
        assert!(matches!(ours.attach(), Ok(None)));
    }

    #[test]
    fn window_size_reaches_the_pty() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let size = libc::winsize {
            ws_row: 41,
            ws_col: 123,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        console::set_window_size(pty.master.as_fd(), &size).expect("TIOCSWINSZ");
        let got = console::window_size(pty.slave.as_fd()).expect("TIOCGWINSZ");
        assert_eq!((got.ws_row, got.ws_col), (41, 123));
    }
}
