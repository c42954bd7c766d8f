//! `run`: create and start; unless detached, wait for the container, forward signals to
//! it, then delete it (not with `--keep`) and return its exit status, as `runc run` does.

use std::path::Path;

use nix::unistd::Pid;

use super::create::{CreateOptions, create, create_with_console};
use super::terminal;
use crate::error::{Result, sys_err};

/// Returns the exit code for the runtime's own exit: the container's, or 128+signal.
/// With `keep` the container is left stopped (also when it failed to start), as with
/// `runc run --keep`, for `state` and `delete` later.
pub fn run(root: &Path, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
    let discard = || {
        if keep {
            return Ok(());
        }
        super::delete(root, &opts.id, true)
    };
    if detach {
        create(root, opts)?;
        if let Err(e) = super::start(root, &opts.id) {
            let _ = discard();
            return Err(e);
        }
        return Ok(0);
    }
    // The init is our child (stage 1 clones it with CLONE_PARENT); as subreaper we also
    // reap whatever the container leaves orphaned.
    nix::sys::prctl::set_child_subreaper(true).map_err(sys_err("becoming subreaper", "run"))?;
    let set = super::foreground::signals();
    // Blocked before create: a signal arriving while the container is made must wait to
    // be forwarded, not kill the runtime. The init clears the mask before its execve.
    set.thread_block()
        .map_err(sys_err("blocking signals", "run"))?;
    // A process with a terminal and no --console-socket gets this runtime's own
    // terminal: its pty master comes back over this pair (as in `runc run`).
    let (console, receiver) = terminal::console_pair(false)?;
    let state = create_with_console(root, opts, Some(&console))?;
    let tty = match receiver.attach() {
        Ok(tty) => tty,
        Err(e) => {
            let _ = discard();
            return Err(e);
        }
    };
    drop(console);
    if let Err(e) = super::start(root, &opts.id) {
        let _ = discard();
        return Err(e);
    }
    let waited = terminal::wait(tty.as_ref(), Pid::from_raw(state.pid), "run", |sig| {
        let _ = super::kill::signal_init(&state, sig as i32);
    });
    // Deleted also when waiting failed: `run` owns the container it made.
    discard()?;
    tracing::debug!("container {} exited: {waited:?}", opts.id);
    waited
}
