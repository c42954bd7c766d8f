//! `kill`: signal the init, or with `--all` every process of the container's cgroup.

use std::path::Path;

use crate::error::{Error, Result};
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
    // SAFETY: pidfd_open takes a pid and flags, returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, state.pid, 0) };
    if fd < 0 {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: "container not running".into(),
        });
    }
    // SAFETY: the fd was just returned to us and is owned by nothing else.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
    if !state.init_alive() {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: "container not running".into(),
        });
    }
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal on our pidfd with no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(Error::Container {
            id: state.id.clone(),
            msg: format!(
                "sending signal {signal} to pid {}: {}",
                state.pid,
                std::io::Error::last_os_error()
            ),
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
