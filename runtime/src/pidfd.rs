//! Process file descriptors (`pidfd_open(2)`, Linux 5.3): a handle on one process that a
//! recycled pid can never redirect. The one place the runtime makes these calls.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// A pidfd for `pid` (close-on-exec, as every pidfd is).
///
/// # Errors
/// `ESRCH` when no such process exists; whatever else `pidfd_open(2)` returns.
pub fn open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is
    // passed.
    let raw = Errno::result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the fd was just created by pidfd_open and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as i32) })
}

/// Sends `signal` to the process behind `pidfd` (`pidfd_send_signal(2)`, no siginfo).
/// Signal 0 checks that the process still exists.
///
/// # Errors
/// `ESRCH` when it has exited; `EPERM`, `EINVAL` as the syscall reports them.
pub fn send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), Errno> {
    // SAFETY: a valid pidfd, a signal number and a null siginfo pointer, which the kernel
    // accepts as "as if sent by kill(2)".
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_pidfd_signals_its_process_and_reports_it_gone() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawning sleep");
        let fd = open(child.id() as libc::pid_t).expect("pidfd of the child");
        assert_eq!(send_signal(fd.as_fd(), 0), Ok(()));
        assert_eq!(send_signal(fd.as_fd(), libc::SIGKILL), Ok(()));
        child.wait().expect("reaping sleep");
        assert_eq!(send_signal(fd.as_fd(), 0), Err(Errno::ESRCH));
    }

    #[test]
    fn no_such_process_is_esrch() {
        // pid_max is at most 2^22: this pid never exists.
        assert_eq!(open(1 << 30).map(drop), Err(Errno::ESRCH));
    }
}
