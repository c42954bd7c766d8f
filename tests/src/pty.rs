//! A command on a real pty, driven as a person at a terminal drives it: for the runtime's
//! and the engine's terminal tests.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{Termios, tcgetattr};

/// How long [`PtySession::expect`] and the waits look before failing.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A command on the slave side of a fresh pty (its controlling terminal, as a login
/// shell's), driven from the master side.
pub struct PtySession {
    pub master: OwnedFd,
    /// Kept open so the pty outlives the child and its modes can be read afterwards.
    pub slave: OwnedFd,
    pub child: Child,
    pub output: Vec<u8>,
}

impl PtySession {
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> Self {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        nix::fcntl::fcntl(
            &pty.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .expect("non-blocking master");
        let stdio = || Stdio::from(pty.slave.try_clone().expect("dup slave"));
        cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
        // SAFETY: setsid and ioctl are async-signal-safe; nothing else runs between fork
        // and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning a command on a pty");
        Self {
            master: pty.master,
            slave: pty.slave,
            child,
            output: Vec::new(),
        }
    }

    pub fn modes(&self) -> Termios {
        tcgetattr(&self.slave).expect("tcgetattr")
    }

    pub fn send(&self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match nix::unistd::write(&self.master, rest) {
                Ok(n) => rest = &rest[n..],
                Err(nix::errno::Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("writing to the pty: {e}"),
            }
        }
    }

    /// Read what has arrived within `wait`.
    pub fn pump(&mut self, wait: Duration) {
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) == 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        while let Ok(n) = nix::unistd::read(&self.master, &mut buf) {
            if n == 0 {
                break;
            }
            self.output.extend_from_slice(&buf[..n]);
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Read until the output (since the start) contains `needle`.
    pub fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on the terminal; it shows {:?}",
                self.text()
            );
            self.pump(Duration::from_millis(100));
        }
    }

    /// Resize the terminal as a terminal emulator does: the kernel signals SIGWINCH to
    /// the foreground process group (berth-runtime).
    pub fn resize(&self, rows: u16, cols: u16) {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize that lives for the call.
        let r = unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&self.master),
                libc::TIOCSWINSZ,
                &size,
            )
        };
        assert_eq!(r, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }

    /// Ask the shell in the container for its terminal size until it reports `rows`
    /// `cols`: a resize reaches the runtime as SIGWINCH, asynchronously.
    pub fn shell_sees_size(&mut self, rows: u16, cols: u16) {
        let want = format!("size-{rows} {cols}");
        let deadline = Instant::now() + TIMEOUT;
        while !self.text().contains(&want) {
            assert!(
                Instant::now() < deadline,
                "no {want:?}; terminal shows {:?}",
                self.text()
            );
            self.send(b"echo size-$(stty size)\r");
            self.pump(Duration::from_millis(300));
        }
    }

    /// berth-runtime's exit code, reading the terminal meanwhile.
    pub fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            self.pump(Duration::from_millis(50));
            if let Some(status) = self.child.try_wait().expect("waitpid") {
                self.pump(Duration::from_millis(50));
                return status.code().unwrap_or_else(|| panic!("killed: {status}"));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the command did not exit; terminal shows {:?}", self.text());
            }
        }
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
