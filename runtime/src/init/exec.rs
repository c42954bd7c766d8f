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

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use berth_cgroups::CgroupPlacement;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::unistd::{ForkResult, dup2_raw, fork, setsid};
use oci_spec::runtime::Process;

use super::channel::{Channel, Message};
use super::process;
use crate::error::{Error, Result, sys_err};
use crate::seccomp::SeccompFilter;
use crate::{capabilities, safe_path};

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
    setsid().map_err(sys_err("setsid", "exec process"))?;
    if p.terminal().unwrap_or(false) {
        let socket = setup
            .console
            .ok_or_else(|| Error::Init("terminal: true needs --console-socket".into()))?;
        open_pty(socket, p.console_size().as_ref())?;
    }
    process::apply_rlimits(p.rlimits().as_deref().unwrap_or_default())?;
    if let Some(adj) = p.oom_score_adj() {
        process::set_oom_score_adj(adj)?;
    }
    // setns into the mount namespace made its root our root; the cwd is still resolved
    // without following magic links out of it (CVE-2024-21626). Before seccomp: the
    // check calls getcwd(2), which a profile may deny.
    let root = safe_path::open_root(Path::new("/")).map_err(|e| Error::Init(e.to_string()))?;
    safe_path::chdir_in_root(root.as_fd(), p.cwd())
        .map_err(|e| Error::Init(format!("entering cwd: {e}")))?;
    drop(root);
    // Before any filter: close_range may not be in the profile.
    process::seal_fds(setup.preserve_fds)?;
    let no_new_privs = p.no_new_privileges().unwrap_or(false);
    // Without no_new_privs, loading needs CAP_SYS_ADMIN, which may be about to go.
    if !no_new_privs && let Some(f) = setup.seccomp {
        load_seccomp(f, chan)?;
    }
    let setgroups_allowed = process::setgroups_allowed();
    if p.user().uid() != 0 {
        capabilities::keep_across_uid_switch()?;
    }
    process::switch_user(p, setgroups_allowed)?;
    if let Some(caps) = p.capabilities() {
        capabilities::apply(caps)?;
    }
    if no_new_privs {
        nix::sys::prctl::set_no_new_privs()
            .map_err(sys_err("setting no_new_privs", "exec process"))?;
    }
    let argv = p.args().as_deref().unwrap_or_default();
    let env = p.env().as_deref().unwrap_or_default();
    let arg0 = argv
        .first()
        .ok_or_else(|| Error::Init("process.args is empty".into()))?;
    let exe = process::find_executable(arg0, env)?;
    let c_exe = process::path_cstring(&exe)?;
    let c_args = process::cstrings(argv.iter().map(String::as_str))?;
    let c_env = process::cstrings(env.iter().map(String::as_str))?;
    if no_new_privs && let Some(f) = setup.seccomp {
        load_seccomp(f, chan)?;
    }
    let err = nix::unistd::execve(&c_exe, &c_args, &c_env)
        .err()
        .unwrap_or(nix::errno::Errno::UnknownErrno);
    Err(Error::Init(format!("exec {}: {err}", exe.display())))
}

fn load_seccomp(filter: &SeccompFilter, chan: &Channel) -> Result<()> {
    if let Some(fd) = filter.load()? {
        chan.send(&Message::SeccompNotifyFd)?;
        crate::seccomp::send_fd(chan.as_fd(), fd.as_fd())?;
    }
    Ok(())
}

/// A pty in the container's devpts, its master sent over the console socket, its slave
/// our stdio and controlling terminal. Unlike the init's console, /dev/console is left
/// alone: it belongs to the init.
fn open_pty(socket: &UnixStream, size: Option<&oci_spec::runtime::Box>) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys_err("opening", "/dev/ptmx"))?;
    grantpt(&master).map_err(sys_err("grantpt", "/dev/ptmx"))?;
    unlockpt(&master).map_err(sys_err("unlockpt", "/dev/ptmx"))?;
    let slave_name = ptsname_r(&master).map_err(sys_err("ptsname", "/dev/ptmx"))?;
    let slave: OwnedFd = nix::fcntl::open(
        slave_name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(sys_err("opening pty", slave_name.clone()))?;
    if let Some(size) = size {
        let ws = libc::winsize {
            ws_row: u16::try_from(size.height()).unwrap_or(u16::MAX),
            ws_col: u16::try_from(size.width()).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct that lives for the call.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(slave_name.as_bytes())];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(sys_err("sending pty master to", "console socket"))?;
    drop(master);
    for target in 0..=2 as RawFd {
        // SAFETY: dup2 onto the standard fds, which this process owns as its stdio.
        let stdio = unsafe { dup2_raw(slave.as_fd(), target) }
            .map_err(sys_err("dup2 pty to", target.to_string()))?;
        // nix hands the new fd back as an OwnedFd: dropping it would close our stdio.
        let _ = stdio.into_raw_fd();
    }
    // SAFETY: TIOCSCTTY on our own fd 0; setsid made us a session leader without a tty.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(Error::Init(format!(
            "making {slave_name} the controlling terminal: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
