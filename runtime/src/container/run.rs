//! `run`: create and start; unless detached, wait for the container, forward signals to
//! it, then delete it and return its exit status, as `runc run` does.

use std::path::Path;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::create::{CreateOptions, create};
use crate::error::{Result, sys_err};

/// Signals a foreground `run` passes on to the container instead of dying of them.
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

/// Returns the exit code for the runtime's own exit: the container's, or 128+signal.
pub fn run(root: &Path, opts: &CreateOptions, detach: bool) -> Result<i32> {
    if detach {
        create(root, opts)?;
        super::start(root, &opts.id)?;
        return Ok(0);
    }
    // The init is the grandchild of this process: as subreaper we inherit and reap it.
    nix::sys::prctl::set_child_subreaper(true).map_err(sys_err("becoming subreaper", "run"))?;
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    // Blocked before create: a signal arriving while the container is made must wait to
    // be forwarded, not kill the runtime. The init clears the mask before its execve.
    set.thread_block()
        .map_err(sys_err("blocking signals", "run"))?;
    let state = create(root, opts)?;
    if let Err(e) = super::start(root, &opts.id) {
        let _ = super::delete(root, &opts.id, true);
        return Err(e);
    }
    let init = Pid::from_raw(state.pid);
    let code = loop {
        if let Some(code) = reap(init) {
            break code;
        }
        let sig = set.wait().map_err(sys_err("waiting for signals", "run"))?;
        if sig != Signal::SIGCHLD {
            let _ = super::kill::signal_init(&state, sig as i32);
        }
    };
    super::delete(root, &opts.id, true)?;
    Ok(code)
}

/// Reap every exited child; the init's exit status if it was among them.
fn reap(init: Pid) -> Option<i32> {
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == init => result = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => result = Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return result,
            Ok(_) => {}
        }
    }
}
