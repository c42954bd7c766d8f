//! Loading a compiled filter into the calling process: one `seccomp(2)` call.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::{SeccompError, SeccompFilter};

impl SeccompFilter {
    /// Installs the filter on the calling thread (the container init, single-threaded).
    ///
    /// Needs `no_new_privs` set or `CAP_SYS_ADMIN` in the effective set. Call it last,
    /// right before `execve`: every syscall after it is filtered. Returns the listener
    /// fd (close-on-exec) when the profile uses `SCMP_ACT_NOTIFY`.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        let mut flags = self.flags;
        if self.notify {
            flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
            // TSYNC and NEW_LISTENER both use the return value; TSYNC_ESRCH makes a
            // sync failure an error instead of a thread id.
            if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
                flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
            }
        }
        let len = u16::try_from(self.program.len()).map_err(|_| SeccompError::Kernel {
            op: "loading the filter".into(),
            source: Errno::E2BIG,
        })?;
        let prog = libc::sock_fprog {
            len,
            // The kernel only reads the program.
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: prog points at `len` live instructions owned by self for the whole
        // call; the kernel copies the program before returning.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc < 0 {
            let source = Errno::last();
            let op = if source == Errno::EACCES {
                "loading the filter (needs no_new_privs or CAP_SYS_ADMIN)"
            } else {
                "loading the filter"
            };
            return Err(SeccompError::Kernel {
                op: op.into(),
                source,
            });
        }
        if self.notify {
            let fd = i32::try_from(rc).map_err(|_| SeccompError::Kernel {
                op: "loading the filter: listener fd out of range".into(),
                source: Errno::EBADF,
            })?;
            // SAFETY: with NEW_LISTENER a successful seccomp() returns a new fd that
            // nothing else owns.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        if rc > 0 {
            // TSYNC without a listener: rc is the id of a thread that could not sync.
            return Err(SeccompError::Kernel {
                op: format!("loading the filter: thread {rc} could not be synchronised"),
                source: Errno::ESRCH,
            });
        }
        Ok(None)
    }
}
