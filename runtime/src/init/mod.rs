//! The processes `create` forks: stage 1 joins and makes namespaces, stage 2 is the
//! container init that builds the container around itself and waits for `start`.
//!
//! ```text
//! runtime (create) ──fork──► stage 1: join cgroup, setns(paths), unshare(user)+maps,
//!        ▲                          unshare(time), clone(pid|mnt|net|uts|ipc|cgroup)
//!        │ channel                        │
//!        │                                ▼
//!        └──────────────────── stage 2 (init): mounts, hooks, pivot_root, console,
//!                                   rlimits, user, caps, → Ready → blocks on exec.fifo
//!                                   → startContainer hooks → seccomp → execve
//! ```
//! Both stages run in a copy of the runtime's memory (fork), so they read the parsed spec
//! directly; the runtime is single-threaded, so forking it is sound.

pub mod become_process;
pub mod channel;
pub mod console;
pub mod exec;
pub mod home;
pub mod namespaces;
pub mod network;
pub mod process;

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use berth_cgroups::CgroupPlacement;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, setresgid, setresuid, setsid};

use self::become_process::prepare as become_process;
use self::channel::{Channel, Message};
use self::namespaces::NamespacePlan;
use crate::config::Bundle;
use crate::error::{Error, Result, sys_err};
use crate::hooks::{self, HookKind};
use crate::rootfs::{self, MountContext};
use crate::seccomp::SeccompFilter;
use crate::{masked_paths, safe_path};

/// Everything the forked stages need, prepared and validated by the runtime.
pub struct InitArgs<'a> {
    pub bundle: &'a Bundle,
    pub plan: &'a NamespacePlan,
    pub cgroup: &'a CgroupPlacement,
    pub console: Option<&'a UnixStream>,
    /// O_PATH fd of `exec.fifo`; the init reopens it for writing to wait for `start`.
    pub exec_fifo: &'a OwnedFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    pub seccomp: Option<&'a SeccompFilter>,
    pub id: &'a str,
}

/// Stage 1, in the forked child. Never returns.
pub fn stage1(args: &InitArgs, chan: &Channel) -> ! {
    let code = match stage1_inner(args, chan) {
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

fn stage1_inner(args: &InitArgs, chan: &Channel) -> Result<()> {
    die_with_creator(chan)?;
    args.cgroup.add_process(nix::unistd::getpid().as_raw())?;
    args.plan.join_existing()?;
    if args.plan.new_user {
        args.plan.unshare_user()?;
        // The runtime is non-dumpable (exe_seal), which makes our /proc files root's; an
        // unprivileged runtime could then not write our id maps. Dumpable only meanwhile,
        // before anything of the container exists (as runc's nsexec does).
        crate::exe_seal::set_dumpable(true)?;
        chan.send(&Message::UsernsCreated)?;
        chan.expect("id maps", |m| matches!(m, Message::MapsWritten))?;
        crate::exe_seal::set_dumpable(false)?;
    }
    if args.plan.in_user_ns() {
        // Become root of the user namespace, new or joined by path, when the maps allow
        // it, so that files the init creates belong to the container's root (as runc's
        // nsexec does). Without it a joined namespace leaves us the host's root, which it
        // does not map: creating any file fails with EOVERFLOW.
        let _ = setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
        let _ = setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
    }
    if args.plan.new_time {
        let offsets = args
            .bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().as_ref());
        args.plan.unshare_time(offsets)?;
    }
    // CLONE_PARENT: the init is the runtime's child, not ours, so that its parent-death
    // signal follows the runtime (we exit right after the clone).
    let flags = args.plan.clone_flags.bits() as libc::c_long
        | libc::CLONE_PARENT as libc::c_long
        | libc::SIGCHLD as libc::c_long;
    // SAFETY: clone without a new stack behaves like fork; the process is single-threaded,
    // so the child owns a consistent copy of memory.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0) };
    match pid {
        -1 => Err(Error::Init(format!(
            "creating the container's namespaces: {}",
            std::io::Error::last_os_error()
        ))),
        0 => stage2(args, chan),
        pid => chan.send(&Message::InitPid { pid: pid as i32 }),
    }
}

/// Stage 2: the container init. Never returns: it execs the container process or exits.
fn stage2(args: &InitArgs, chan: &Channel) -> ! {
    let err = match init(args, chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // Before Ready the runtime is listening; after it, only our stderr is left.
    if chan
        .send(&Message::Error {
            msg: err.to_string(),
        })
        .is_err()
    {
        eprintln!("berth-runtime init: {err}");
    }
    // SAFETY: see stage1.
    unsafe { libc::_exit(127) }
}

fn init(args: &InitArgs, chan: &Channel) -> Result<Infallible> {
    let spec = &args.bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Init("process is missing".into()))?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::Init("linux is missing".into()))?;
    die_with_creator(chan)?;
    chan.expect("the runtime's record of the init pid", |m| {
        matches!(m, Message::PidRecorded)
    })?;
    setsid().map_err(sys_err("setsid", "init"))?;
    if args.plan.new_net {
        network::loopback_up()?;
    }

    let rootfs = args.bundle.rootfs.as_path();
    rootfs::isolate_and_bind(rootfs)?;
    let root_fd = safe_path::open_root(rootfs).map_err(|e| Error::Init(e.to_string()))?;
    let in_userns = args.plan.in_user_ns();
    // Our host uid may not reach a source the runtime can (a root-owned 0700 dir).
    let bind_sources = if rootfs::bind_sources::needed(spec, in_userns) {
        rootfs::bind_sources::request(chan)?
    } else {
        rootfs::bind_sources::BindSources::default()
    };
    let ctx = MountContext {
        root: root_fd.as_fd(),
        rootfs,
        in_userns,
        new_cgroupns: args.plan.new_cgroup,
        cgroup: args.cgroup,
        bind_sources: &bind_sources,
    };
    rootfs::prepare(&ctx, spec)?;
    // The host O_PATH fds of the bind sources must not outlive the mounts: hooks and the
    // container process would otherwise reach host paths through them (as root_fd,
    // dropped before switch_root).
    drop(bind_sources);

    chan.send(&Message::RunRuntimeHooks)?;
    let state = match chan.expect("continue", |m| matches!(m, Message::Continue { .. }))? {
        Message::Continue { state } => state,
        _ => unreachable!("expect checked the variant"),
    };
    let spec_hooks = spec.hooks().as_ref();
    if let Some(h) = spec_hooks.and_then(|h| h.create_container().as_deref()) {
        hooks::run_in(HookKind::CreateContainer, h, state.as_bytes(), rootfs)?;
    }

    // The exec fifo is reopened through the host's /proc after pivot_root, so the
    // container needs no /proc of its own for it and never sees the state dir.
    let fd_dir = open(
        "/proc/self/fd",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys_err("opening", "/proc/self/fd"))?;
    drop(root_fd);
    rootfs::switch_root(rootfs, args.no_pivot)?;
    rootfs::make_cwd(process.cwd())?;

    // Before /proc/sys becomes read-only (it is in every default readonlyPaths).
    if let Some(sysctl) = linux.sysctl() {
        crate::sysctl::apply(sysctl).map_err(|e| Error::Init(e.to_string()))?;
    }
    masked_paths::apply(
        Path::new("/"),
        linux.masked_paths().as_deref().unwrap_or_default(),
        linux.readonly_paths().as_deref().unwrap_or_default(),
    )?;
    rootfs::finish(spec)?;
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(sys_err("setting hostname", h))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        network::set_domainname(d)?;
    }
    if process.terminal().unwrap_or(false) {
        let socket = args
            .console
            .ok_or_else(|| Error::Init("terminal: true needs --console-socket".into()))?;
        console::setup(socket, process.console_size().as_ref(), true)?;
    }
    if !args.no_new_keyring {
        join_session_keyring(args.id);
    }
    // Switching user or dropping capabilities clears the parent-death signal anyway, and
    // a seccomp profile may refuse prctl later: clear it here. From now on the channel
    // stands in for it: a runtime that dies makes `send` fail or `recv` see end-of-file.
    nix::sys::prctl::set_pdeathsig(None)
        .map_err(sys_err("clearing parent-death signal", "init"))?;
    let execution = become_process(process, args.preserve_fds, args.seccomp, chan, "init")?;
    // With no_new_privs the filter goes on as late as possible while the runtime still
    // listens: the fifo wait, startContainer hooks and execve are all that run under it
    // before the container process.
    execution.load_late_seccomp(args.seccomp, chan)?;
    chan.send(&Message::Ready)?;
    wait_until_recorded(chan, args.seccomp)?;
    let fifo = wait_for_start(&fd_dir, args.exec_fifo)?;
    drop(fd_dir);
    if let Some(h) = spec_hooks.and_then(|h| h.start_container().as_deref()) {
        // `start` has been called: the container is "created" now, no longer "creating".
        hooks::run(
            HookKind::StartContainer,
            h,
            &state_with_status(&state, "created"),
        )?;
    }
    // Only now does `start` learn that we are going: its poststart hooks must come after
    // the startContainer hooks, and a failed startContainer hook fails `start` (it sees
    // the init exit instead of the byte).
    nix::unistd::write(&fifo, b"0").map_err(sys_err("writing", "exec fifo"))?;
    Err(execution.exec())
}

/// Until the container is `created`, a stage exits with the runtime that forked it: an
/// init whose creator was killed must not wait on the exec fifo for a `start` that no
/// one will call. SIGKILL on the parent's death, then a check that the parent is not
/// already gone (it may have died before the prctl): its end of the channel is closed.
fn die_with_creator(chan: &Channel) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(sys_err("setting parent-death signal", "init"))?;
    if chan.peer_closed() {
        // SAFETY: see stage1; nothing of ours is left to clean up, the runtime is gone.
        unsafe { libc::_exit(1) }
    }
    Ok(())
}

/// Wait for the runtime to record the container as created. End of file: it died before
/// that, and nothing would ever `start` or delete us, so exit. A read refused with an
/// errno a seccomp profile gives ([`refused_by_seccomp`]) while a filter is loaded: the
/// runtime was alive a moment ago (it took Ready), so go on as before this handshake
/// existed. Any other error (an undecodable message, a socket failure) is fatal: going
/// on would wait for `start` without the runtime's record of `created`.
fn wait_until_recorded(chan: &Channel, seccomp: Option<&SeccompFilter>) -> Result<()> {
    match chan.recv() {
        Ok(Some(Message::Created)) => Ok(()),
        Err(e) if seccomp.is_some() && refused_by_seccomp(&e) => {
            tracing::debug!("waiting for created: {e}: the seccomp profile refuses the read");
            Ok(())
        }
        Err(e) => Err(e),
        // SAFETY: see stage1.
        Ok(None) => unsafe { libc::_exit(1) },
        Ok(Some(other)) => Err(Error::Init(format!("expected created, got {other:?}"))),
    }
}

/// Whether `err` is a syscall refused with an errno seccomp profiles return
/// (`SCMP_ACT_ERRNO`: EPERM by default, ENOSYS as `defaultErrnoRet` for unknown
/// syscalls, EACCES in some profiles), not a failure of the call itself.
fn refused_by_seccomp(err: &Error) -> bool {
    use nix::errno::Errno;
    matches!(
        err,
        Error::Sys {
            source: Errno::EPERM | Errno::EACCES | Errno::ENOSYS,
            ..
        }
    )
}

/// The OCI state JSON the runtime sent, with `status` replaced.
fn state_with_status(state: &str, status: &str) -> Vec<u8> {
    match serde_json::from_str::<serde_json::Value>(state) {
        Ok(mut v) => {
            v["status"] = serde_json::Value::String(status.to_string());
            serde_json::to_vec(&v).unwrap_or_else(|_| state.as_bytes().to_vec())
        }
        Err(_) => state.as_bytes().to_vec(),
    }
}

/// Load the filter; a notify listener fd goes to the runtime, which hands it to the agent
/// at `listenerPath` (unreachable from inside the container after pivot_root).
pub(crate) fn load_seccomp(filter: &SeccompFilter, chan: &Channel) -> Result<()> {
    if let Some(fd) = filter.load()? {
        chan.send(&Message::SeccompNotifyFd)?;
        crate::seccomp::send_fd(chan.as_fd(), fd.as_fd())?;
    }
    Ok(())
}

/// Block until `start` opens the fifo for reading; the caller writes the byte that lets
/// `start` go on once the startContainer hooks succeeded.
fn wait_for_start(fd_dir: &OwnedFd, fifo: &OwnedFd) -> Result<OwnedFd> {
    let name = fifo.as_raw_fd().to_string();
    openat(
        fd_dir,
        name.as_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys_err("opening", "exec fifo"))
}

/// A fresh session keyring per container, so containers never share the caller's keys.
/// Failure is not fatal: keyrings may be unavailable (ENOSYS) or refused in a user
/// namespace, which runc also tolerates.
fn join_session_keyring(id: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let Ok(name) = std::ffi::CString::new(format!("_ses.{id}")) else {
        return;
    };
    // SAFETY: keyctl with a valid NUL-terminated name that outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 {
        tracing::debug!(
            "joining session keyring: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{MsgFlags, send};

    fn sys_error(source: nix::errno::Errno) -> Error {
        sys_err("reading init channel", "socketpair")(source)
    }

    /// Only a refusal a seccomp profile gives lets the init go on without `Created`.
    #[test]
    fn only_seccomp_errnos_count_as_a_refused_read() {
        use nix::errno::Errno;
        for errno in [Errno::EPERM, Errno::EACCES, Errno::ENOSYS] {
            assert!(refused_by_seccomp(&sys_error(errno)), "{errno}");
        }
        for errno in [Errno::ECONNRESET, Errno::EBADF, Errno::ENOMEM] {
            assert!(!refused_by_seccomp(&sys_error(errno)), "{errno}");
        }
        assert!(!refused_by_seccomp(&Error::Init("decoding message".into())));
    }

    /// A message that does not decode fails the wait, with or without a filter: the init
    /// must not go on to wait for `start` unrecorded.
    #[test]
    fn an_undecodable_message_fails_the_wait_for_created() {
        let filter =
            crate::seccomp::compile(&crate::seccomp::default_profile()).expect("default profile");
        for seccomp in [None, Some(&filter)] {
            let (runtime_end, init_end) = channel::pair().expect("socketpair");
            send(
                runtime_end.as_fd().as_raw_fd(),
                b"not json",
                MsgFlags::empty(),
            )
            .expect("sending garbage");
            let err = wait_until_recorded(&init_end, seccomp).expect_err("garbage accepted");
            assert!(err.to_string().contains("decoding message"), "{err}");

            runtime_end
                .send(&Message::Created)
                .expect("sending created");
            wait_until_recorded(&init_end, seccomp).expect("created");
        }
    }
}
