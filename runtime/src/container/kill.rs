//! `kill`: signal the init, or with `--all` every process of the container's cgroup.

use std::os::fd::AsFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::pidfd;
use crate::state::{ContainerState, LiveStatus, StateDir, Status};

pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_shared()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    if matches!(state.status, Status::Stopped | Status::Creating) && !all {
        return Err(Error::Container {
            id: id.to_string(),
            msg: "container not running".into(),
        });
    }
    tracing::debug!("sending signal {signal} to container {id} (all: {all})");
    if all {
        signal_all(&state, signal)
    } else {
        signal_init(&state, signal)
    }
}

/// Signal through a pidfd checked against the recorded start time, so a recycled pid
/// never receives the signal.
pub fn signal_init(state: &ContainerState, signal: i32) -> Result<()> {
    let Ok(fd) = pidfd::open(state.pid) else {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: "container not running".into(),
        });
    };
    if !state.init_alive() {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: "container not running".into(),
        });
    }
    if let Err(e) = pidfd::send_signal(fd.as_fd(), signal) {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: format!("sending signal {signal} to pid {}: {e}", state.pid),
        });
    }
    Ok(())
}

pub fn signal_all(state: &ContainerState, signal: i32) -> Result<()> {
    if signal == 0 {
        // Signal 0 to each process tells only that it exists, which listing them does.
        state.cgroup.processes()?;
        return Ok(());
    }
    Ok(state.cgroup.kill_all(signal)?)
}
