//! `start`: release the init blocked on the exec fifo.

use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;

use crate::error::{Error, Result, io_err, sys_err};
use crate::hooks::{self, HookKind};
use crate::state::{ContainerState, LiveStatus, StateDir, Status};

pub fn start(root: &Path, id: &str) -> Result<ContainerState> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_exclusive()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    if state.status != Status::Created {
        return Err(Error::Container {
            id: id.to_string(),
            msg: format!("cannot start a container that is {}", state.status),
        });
    }
    release_init(&dir, &state)?;
    state.status = Status::Running;
    dir.save(&state)?;
    if let Some(h) = &state.poststart_hooks
        && let Err(e) = hooks::run(HookKind::Poststart, h, &state.oci_json())
    {
        // The runtime spec: a failing poststart hook is logged, the container runs on.
        tracing::warn!("poststart hook of {id}: {e}");
    }
    Ok(state)
}

/// Open the fifo for reading (which lets the init's blocking open return) and read the
/// byte it writes. Polls so that an init that died meanwhile is noticed, not waited on.
///
/// After the byte we keep reading until end-of-file: the init's write end is O_CLOEXEC,
/// so it closes only when the execve of the container process has passed its point of
/// no return (or the init died). The runtime-spec wants poststart hooks "after the
/// user-specified process is executed"; without this wait they raced the init's execve
/// (runtime-tools' poststart case failed about half the time). runc does the same: it
/// reads its exec fifo to EOF.
fn release_init(dir: &StateDir, state: &ContainerState) -> Result<()> {
    let path = dir.exec_fifo();
    let fifo = open(
        &path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys_err("opening exec fifo", path.display().to_string()))?;
    let mut released = false;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => {
                let mut buf = [0u8; 1];
                match nix::unistd::read(&fifo, &mut buf) {
                    Ok(1) => released = true,
                    // No writer left: the init has exec'd (or died). Only an EOF after
                    // the byte counts; before it, the init is checked below.
                    Ok(0) if released => break,
                    Ok(_) | Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => {
                        return Err(sys_err("reading exec fifo", path.display().to_string())(e));
                    }
                }
            }
            Err(e) => {
                return Err(sys_err("waiting on exec fifo", path.display().to_string())(
                    e,
                ));
            }
        }
        // One liveness check per round: two could see it alive, then dead, and call an
        // init that exited right after its byte (a short-lived process) a failed start.
        if !state.init_alive() {
            if released {
                // It exited right after the byte; its write end is gone with it.
                break;
            }
            return Err(Error::Container {
                id: state.id.clone(),
                msg: "container init exited before start".into(),
            });
        }
    }
    std::fs::remove_file(&path).map_err(io_err("removing exec fifo", &path))
}
