//! `delete`: stop what is left of the container and remove every trace of it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::hooks::{self, HookKind};
use crate::state::{LiveStatus, StateDir, Status};

/// How long `delete --force` waits for another command to release the container's lock
/// before killing the holder: longer than any verb takes on a healthy host, hooks aside.
const LOCK_PATIENCE: Duration = Duration::from_secs(3);

/// What `/proc/<pid>/comm` says for a berth-runtime process (the kernel keeps 15 bytes).
const RUNTIME_COMM: &str = "berth-runtime";

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let dir = match StateDir::open(root, id) {
        Ok(dir) => dir,
        Err(Error::NotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    // --force must never wait forever: a holder that does not let go is killed, unless it
    // is another runtime command at work outside the container (a second delete, a start
    // running hooks), which is waited for a bounded time instead. The container's own
    // processes (an init a crashed create left holding the lock) are always fair game.
    let _lock = if force {
        dir.lock_exclusive_breaking(LOCK_PATIENCE, |holder| {
            let in_container = dir.load().is_ok_and(|state| {
                state.pid == holder.pid
                    || state
                        .cgroup
                        .processes()
                        .is_ok_and(|pids| pids.contains(&holder.pid))
            });
            in_container || holder.comm != RUNTIME_COMM
        })?
    } else {
        dir.lock_exclusive()?
    };
    let mut state = match dir.load() {
        Ok(s) => s,
        // A create that died before writing any state left only the directory.
        Err(Error::NotFound(_)) => return dir.remove(),
        Err(e) if force => {
            tracing::warn!("deleting {id} with unreadable state: {e}");
            return dir.remove();
        }
        Err(e) => return Err(e),
    };
    state.refresh_status(&dir);
    // We hold the exclusive lock, so a `creating` container has no live create: it crashed.
    let alive_init = state.init_alive();
    match state.status {
        Status::Running | Status::Paused if !force => {
            return Err(Error::Container {
                id: id.to_string(),
                msg: format!(
                    "cannot delete a container that is {} (use --force)",
                    state.status
                ),
            });
        }
        _ => {}
    }
    if state.cgroup.dirs().is_empty() && !state.cgroup.relative_path.as_os_str().is_empty() {
        // A create that died between making its cgroup and recording it: take what exists
        // there and is empty (nothing can have joined an unrecorded cgroup).
        state.cgroup = berth_cgroups::CgroupPlacement::locate_unused(&state.cgroup.relative_path)?;
    }
    if state.status == Status::Paused
        && let Err(e) = state.cgroup.thaw()
    {
        tracing::warn!("thawing {id} before killing it: {e}");
    }
    if alive_init {
        let _ = super::kill::signal_init(&state, libc::SIGKILL);
    }
    // Every process, also the half-made init of a crashed create and the children of a
    // container that shares the host's pid namespace.
    if let Err(e) = state.cgroup.kill_all(libc::SIGKILL) {
        tracing::warn!("killing the processes of {id}: {e}");
    }
    wait_until_gone(&state);
    state.cgroup.remove()?;
    if let Some(h) = &state.poststop_hooks
        && let Err(e) = hooks::run(HookKind::Poststop, h, &state.oci_json())
    {
        tracing::warn!("poststop hook of {id}: {e}");
    }
    dir.remove()
}

/// SIGKILL is asynchronous: a cgroup cannot be removed while dying tasks remain in it.
fn wait_until_gone(state: &crate::state::ContainerState) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pause = Duration::from_micros(200);
    while Instant::now() < deadline {
        let init_gone = !state.init_alive();
        let empty = state
            .cgroup
            .processes()
            .map(|p| p.is_empty())
            .unwrap_or(true);
        if init_gone && empty {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    tracing::warn!("processes of {} still present after SIGKILL", state.id);
}
