//! A foreground `run` or `exec`: the runtime waits for its process, passing on the signals
//! a person sends to it (Ctrl-C, a terminal resize, a TERM from a supervisor).

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Result, sys_err};

/// Signals forwarded instead of ending the runtime.
const FORWARDED: [Signal; 8] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// The forwarded signals plus SIGCHLD. Block them before forking: a signal that arrives
/// while the process is being made then waits to be forwarded instead of killing us.
pub fn signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Wait until `target` exits, handing every other signal of [`signals`] to `forward`.
/// Returns its exit code, or 128+signal when it was killed, as shells report it.
pub fn wait(target: Pid, what: &str, forward: impl Fn(Signal)) -> Result<i32> {
    let set = signals();
    loop {
        if let Some(code) = reap(target) {
            return Ok(code);
        }
        let sig = set
            .wait()
            .map_err(sys_err("waiting for signals", what.to_string()))?;
        if sig != Signal::SIGCHLD {
            forward(sig);
        }
    }
}

/// Reap every exited child (we may be their subreaper); `target`'s status if among them.
pub(super) fn reap(target: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == target => result = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == target => {
                result = Some(128 + sig as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return result,
            Ok(_) => {}
        }
    }
}
