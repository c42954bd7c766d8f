//! Children of a test: a test body run in a forked child (seccomp filters, capability
//! changes, mount namespaces and process-global switches are per process and must not
//! leak into the test harness), and a spawned process killed and reaped on drop.

use std::io::{Read, Write};

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe};

/// Runs `body` in a forked child and returns how the child ended plus what it wrote
/// to the report pipe (its error message, if any). The child never returns into the
/// test harness: it `_exit`s with 0 on Ok, 1 on Err, 2 on panic.
pub fn fork_status<F>(body: F) -> (WaitStatus, String)
where
    F: FnOnce(&mut dyn Write) -> Result<(), String>,
{
    let (read_end, write_end) = pipe().expect("pipe for child report");
    // SAFETY: the child only runs `body` and then `_exit`s; glibc's malloc is
    // fork-safe, and no lock held by another harness thread is needed by the bodies
    // (they use raw syscalls, std I/O on their own fds, and allocation).
    match unsafe { fork() }.expect("fork test child") {
        ForkResult::Child => {
            drop(read_end);
            let mut report = std::fs::File::from(write_end);
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut report)));
            let code = match outcome {
                Ok(Ok(())) => 0,
                Ok(Err(msg)) => {
                    let _ = report.write_all(msg.as_bytes());
                    1
                }
                Err(_) => {
                    let _ = report.write_all(b"child panicked");
                    2
                }
            };
            // SAFETY: _exit ends the child without running the harness's atexit
            // handlers or destructors that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut text = String::new();
            let _ = std::fs::File::from(read_end).read_to_string(&mut text);
            let status = waitpid(child, None).expect("waitpid test child");
            (status, text)
        }
    }
}

/// Runs `body` in a forked child and turns anything but a clean exit into Err.
pub fn in_child<F>(body: F) -> Result<(), String>
where
    F: FnOnce() -> Result<(), String>,
{
    match fork_status(|_| body()) {
        (WaitStatus::Exited(_, 0), _) => Ok(()),
        (status, text) => Err(format!("child failed ({status:?}): {text}")),
    }
}

/// A process started by a test, killed and reaped on drop.
pub struct Spawned(pub std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_child_reports_child_failures() {
        assert!(in_child(|| Ok(())).is_ok());
        let err = in_child(|| Err("boom".into())).expect_err("child error");
        assert!(err.contains("boom"));
    }
}
