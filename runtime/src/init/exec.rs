//! The processes `exec` forks to run a new process inside a running container.
//!
//! ```text
//! runtime (exec) ──fork──► stage 1: not dumpable, join cgroup, setns(user, ..., mnt),
//!        ▲                          fork (a new pid namespace only applies to children)
//!        │ channel                        │ sends the host pid, exits
//!        │                                ▼
//!        └─────────────────── stage 2: setsid, pty, rlimits, user, caps, no_new_privs,
//!                                     cwd (inside the root), seal fds, seccomp → execve
//! ```
//! The channel is close-on-exec: the runtime reads end-of-file once the process has
//! exec'd, or an error message if setting it up failed.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use berth_cgroups::CgroupPlacement;
use nix::sched::{CloneFlags, setns};
use nix::unistd::{ForkResult, fork, setsid};
use oci_spec::runtime::Process;

use super::channel::{Channel, Message};
use crate::error::{Error, Result, sys_err};
use crate::seccomp::SeccompFilter;

/// Everything the exec stages need, prepared and validated by the runtime before forking.
pub struct ExecSetup<'a> {
    pub process: &'a Process,
    /// The init's namespaces that differ from the runtime's, user first, mount last.
    pub namespaces: &'a [(&'static str, OwnedFd)],
    pub cgroup: &'a CgroupPlacement,
    pub console: Option<&'a UnixStream>,
    pub seccomp: Option<&'a SeccompFilter>,
    pub preserve_fds: i32,
    /// The caller's signal mask, restored first thing: the runtime blocks the signals it
    /// forwards before forking, and a blocked mask would survive execve.
    pub signal_mask: Option<nix::sys::signal::SigSet>,
}

/// Stage 1, in the forked child. Never returns.
pub fn stage1(setup: &ExecSetup, chan: &Channel) -> ! {
    let code = match stage1_inner(setup, chan) {
        Ok(()) => 0,
        Err(e) => {
            let _ = chan.send(&Message::Error { msg: e.to_string() });
            1
        }
    };
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the runtime
    // process we were forked from.
    unsafe { libc::_exit(code) }
}

fn stage1_inner(setup: &ExecSetup, chan: &Channel) -> Result<()> {
    if let Some(mask) = &setup.signal_mask {
        mask.thread_set_mask()
            .map_err(sys_err("restoring the signal mask", "exec"))?;
    }
    // CVE-2019-5736: while this process is the runtime binary and already sits in the
    // container's namespaces, a container process must not open /proc/<pid>/exe (or
    // ptrace it). Not dumpable makes /proc/<pid> root-owned and unreachable; execve of
    // the container's binary resets it.
    nix::sys::prctl::set_dumpable(false).map_err(sys_err("clearing dumpable", "exec"))?;
    setup.cgroup.add_process(nix::unistd::getpid().as_raw())?;
    for (name, fd) in setup.namespaces {
        setns(fd.as_fd(), CloneFlags::empty())
            .map_err(sys_err("joining the container's namespace", *name))?;
    }
    // SAFETY: the runtime is single-threaded, so the child gets a consistent copy of
    // memory and may allocate.
    match unsafe { fork() }.map_err(sys_err("forking", "exec process"))? {
        ForkResult::Child => stage2(setup, chan),
        ForkResult::Parent { child } => chan.send(&Message::InitPid {
            pid: child.as_raw(),
        }),
    }
}

/// Stage 2: becomes the exec'd process. Never returns.
fn stage2(setup: &ExecSetup, chan: &Channel) -> ! {
    let err = match prepare_and_exec(setup, chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // The runtime says which container and that this is exec: send the bare reason.
    let msg = match &err {
        Error::Init(m) => m.clone(),
        other => other.to_string(),
    };
    if chan.send(&Message::Error { msg }).is_err() {
        eprintln!("berth-runtime exec: {err}");
    }
    // SAFETY: see stage1.
    unsafe { libc::_exit(127) }
}

fn prepare_and_exec(setup: &ExecSetup, chan: &Channel) -> Result<std::convert::Infallible> {
    let p = setup.process;
    // A session of its own: signals for the caller's terminal go to the runtime, which
    // forwards them, instead of arriving twice.
    chan.expect("the runtime's record of the exec pid", |m| {
        matches!(m, Message::PidRecorded)
    })?;
    setsid().map_err(sys_err("setsid", "exec process"))?;
    if p.terminal().unwrap_or(false) {
        let socket = setup
            .console
            .ok_or_else(|| Error::Init("terminal: true needs --console-socket".into()))?;
        super::console::setup(socket, p.console_size().as_ref(), false)?;
    }
    let execution =
        super::become_process::prepare(p, setup.preserve_fds, setup.seccomp, chan, "exec process")?;
    execution.load_late_seccomp(setup.seccomp, chan)?;
    Err(execution.exec())
}
