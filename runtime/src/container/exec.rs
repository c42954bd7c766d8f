//! `exec`: run a new process inside a running container, in every namespace and the
//! cgroup of its init, with the container's process settings unless told otherwise.
//! Without `--detach` it waits, forwards signals and returns the exit status (128+signal
//! when killed), as `runc exec` does.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::SigmaskHow;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork};
use oci_spec::runtime::{Capability, Process};

use super::create::write_pid_file;
use super::exec_cgroup;
use crate::config::Bundle;
use crate::error::{Error, Result, io_err, sys_err};
use crate::init::channel::{self, Message};
use crate::init::exec::{ExecSetup, stage1};
use crate::init::{console, process};
use crate::state::{ContainerState, LiveStatus, StateDir, StateLock, Status};
use crate::{capabilities, process_env, seccomp};

/// What `exec` runs, typed (the binary parses `runc exec`'s flags into it). With
/// `process` (a process.json) the process fields below are ignored, as in runc.
#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    pub id: String,
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// `NAME=VALUE` entries appended to the container's environment.
    pub env: Vec<String>,
    /// The ids to run as instead of the container process's.
    pub user: Option<ExecUser>,
    pub additional_gids: Vec<u32>,
    /// Added to the bounding, effective and permitted sets (ambient where the spec has
    /// an inheritable set).
    pub caps: Vec<Capability>,
    pub no_new_privs: bool,
    pub preserve_fds: i32,
    /// `--cgroup` arguments: `PATH` or `CONTROLLER[,CONTROLLER]:PATH` (see [`exec_cgroup`]).
    pub cgroups: Vec<String>,
    /// Into a paused container: wait for `resume`, then start the process.
    pub ignore_paused: bool,
}

/// `exec --user uid[:gid]`: numeric ids, as runc takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    /// None: gid 0, as runc.
    pub gid: Option<u32>,
}

/// Namespaces in the order they are joined: user first (it decides what we may join
/// next), mount last (after it, host paths are gone).
const NAMESPACES: [&str; 8] = ["user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"];

/// Returns the exit code for the runtime's own exit: 0 when detached, else the process's.
pub fn exec(root: &Path, opts: &ExecOptions) -> Result<i32> {
    // CVE-2019-5736: stage 1 runs this binary inside the container's namespaces, and a
    // `#!/proc/self/exe` script would run it as the container process: run from a
    // read-only view of it, non-dumpable (may re-exec this process, so first of all).
    crate::exe_seal::seal_or_reexec()?;
    let dir = StateDir::open(root, &opts.id)?;
    let (state, pid, tty) = {
        // Held while the process is set up, so `delete` cannot pull the container away
        // under it; released before waiting, so that `delete` can end a foreground exec.
        let (lock, state) = lock_unpaused(&dir, opts.ignore_paused)?;
        let bundle = Bundle::load(&state.bundle)?;
        let process = build_process(opts, &bundle)?;
        validate_process(&process, opts)?;
        let seccomp = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|spec| seccomp::compile_cached(spec, root))
            .transpose()?;
        let namespaces = open_namespaces(&state)?;
        // The pid may have been recycled between the status check and opening its
        // namespaces: the start time tells.
        if !state.init_alive() {
            return Err(not_running(&state, "stopped"));
        }
        // Without --console-socket a foreground exec proxies its own terminal.
        let mut receiver = None;
        let console = match (process.terminal().unwrap_or(false), &opts.console_socket) {
            (true, Some(path)) => Some(console::connect(path)?),
            (true, None) => {
                let (theirs, ours) = super::terminal::console_pair(opts.detach)?;
                receiver = Some(ours);
                Some(theirs)
            }
            (false, Some(_)) => {
                return Err(Error::InvalidArgument(
                    "--console-socket is only valid with --tty".into(),
                ));
            }
            (false, None) => None,
        };
        let pid = start_process(
            opts,
            &lock,
            &state,
            &process,
            seccomp.as_ref(),
            &namespaces,
            console.as_ref(),
        )?;
        if let Some(pid_file) = &opts.pid_file
            && let Err(e) = write_pid_file(pid_file, pid)
        {
            return Err(kill_and_reap(pid, e));
        }
        // The process has exec'd, so its pty master is on the socket.
        let tty = match receiver.map(|r| r.attach()).transpose() {
            Ok(tty) => tty.flatten(),
            Err(e) => return Err(kill_and_reap(pid, e)),
        };
        (state, pid, tty)
    };
    tracing::debug!("exec: process {pid} started in container {}", state.id);
    if opts.detach {
        return Ok(0);
    }
    let pid = Pid::from_raw(pid);
    super::terminal::wait(tty.as_ref(), pid, "exec", |sig| {
        if let Err(e) = nix::sys::signal::kill(pid, sig) {
            tracing::debug!(
                "forwarding {sig} to exec process {pid} of {}: {e}",
                state.id
            );
        }
    })
}

/// As runc: a caller told that exec failed must not find the process running. It is
/// our child (we are its subreaper), so it is also reaped here. Returns `err`.
fn kill_and_reap(pid: i32, err: Error) -> Error {
    let pid = Pid::from_raw(pid);
    if let Err(e) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL) {
        tracing::debug!("killing exec process {pid} after a failed exec: {e}");
    }
    let _ = waitpid(pid, None);
    err
}

fn not_running(state: &ContainerState, status: &str) -> Error {
    Error::Container {
        id: state.id.clone(),
        msg: format!("cannot exec in a {status} container"),
    }
}

/// The shared lock and the container's state once it is not paused. A paused container
/// is refused, as by runc, unless `ignore_paused`: then this waits, unlocked, for `resume`
/// (which needs the lock exclusively), and the process starts after it, as runc's does.
/// While the lock is held no `pause` can come, so the process never joins a frozen cgroup.
fn lock_unpaused(dir: &StateDir, ignore_paused: bool) -> Result<(StateLock, ContainerState)> {
    let mut said = false;
    loop {
        let lock = dir.lock_shared()?;
        let mut state = dir.load()?;
        state.refresh_status(dir);
        if state.status != Status::Paused || !ignore_paused {
            check_status(&state)?;
            return Ok((lock, state));
        }
        drop(lock);
        if !said {
            tracing::debug!("container {} is paused: exec waits for resume", state.id);
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn check_status(state: &ContainerState) -> Result<()> {
    match state.status {
        Status::Running | Status::Created => Ok(()),
        // runc refuses too: a process joining a frozen cgroup would hang in setup.
        Status::Paused => Err(Error::Container {
            id: state.id.clone(),
            msg: "cannot exec in a paused container (use --ignore-paused to override)".into(),
        }),
        Status::Stopped => Err(not_running(state, "stopped")),
        Status::Creating => Err(not_running(state, "creating")),
    }
}

/// The process to run: process.json as given, or the container's own process with the
/// flags applied (runc's rules: args replace, env appends, caps add to every set).
fn build_process(opts: &ExecOptions, bundle: &Bundle) -> Result<Process> {
    if let Some(path) = &opts.process {
        let data = std::fs::read(path).map_err(io_err("reading process", path))?;
        let bad = |e: &dyn std::fmt::Display| {
            Error::InvalidArgument(format!("parsing process {}: {e}", path.display()))
        };
        let mut raw: serde_json::Value = serde_json::from_slice(&data).map_err(|e| bad(&e))?;
        capabilities::drop_unknown_names(raw.pointer_mut("/capabilities")).map_err(|e| bad(&e))?;
        // runc runs a process.json without `user` as 0:0 (Go's zero value); oci-spec
        // requires the field, whose uid and gid then default to 0.
        if let Some(fields) = raw.as_object_mut() {
            fields
                .entry("user")
                .or_insert_with(|| serde_json::json!({}));
        }
        let mut p: Process = serde_json::from_value(raw).map_err(|e| bad(&e))?;
        if let Some(env) = p.env() {
            let env = process_env::parse(env).map_err(|e| bad(&e))?;
            p.set_env(Some(env));
        }
        // Without `capabilities` runc gives the process the container's, not none.
        if p.capabilities().is_none() {
            p.set_capabilities(
                bundle
                    .spec
                    .process()
                    .as_ref()
                    .and_then(|c| c.capabilities().clone()),
            );
        }
        return Ok(p);
    }
    let mut p = bundle.spec.process().clone().unwrap_or_default();
    p.set_args(Some(opts.args.clone()));
    if let Some(cwd) = &opts.cwd {
        p.set_cwd(cwd.clone());
    }
    if !opts.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_else(capabilities::none);
        for &cap in &opts.caps {
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = set.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            // Ambient needs inheritable, which --cap does not set: only where the spec
            // already has inheritable bits (runc's rule).
            if caps.inheritable().is_some() {
                caps.set_ambient(add(caps.ambient()));
            }
        }
        p.set_capabilities(Some(caps));
    }
    // --env entries come after the spec's: one of the same name takes its value (in its
    // place), as with runc.
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(opts.env.iter().cloned());
    let env =
        process_env::parse(&env).map_err(|e| Error::InvalidArgument(format!("--env: {e}")))?;
    p.set_env(Some(env));
    p.set_terminal(Some(opts.tty));
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    let mut user = p.user().clone();
    if let Some(u) = opts.user {
        user.set_uid(u.uid);
        user.set_gid(u.gid.unwrap_or(0));
    }
    if !opts.additional_gids.is_empty() {
        user.set_additional_gids(Some(opts.additional_gids.clone()));
    }
    p.set_user(user);
    Ok(p)
}

fn validate_process(p: &Process, opts: &ExecOptions) -> Result<()> {
    if p.args().as_deref().unwrap_or_default().is_empty() {
        return Err(Error::InvalidArgument(
            "exec needs a command: give ARGS or --process".into(),
        ));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::InvalidArgument(format!(
            "cwd {} is not an absolute path",
            p.cwd().display()
        )));
    }
    if opts.preserve_fds < 0 {
        return Err(Error::InvalidArgument(format!(
            "--preserve-fds {} is negative",
            opts.preserve_fds
        )));
    }
    process::check_rlimits(p.rlimits().as_deref().unwrap_or_default())?;
    if let Some(caps) = p.capabilities() {
        capabilities::validate(caps)?;
    }
    Ok(())
}

/// The init's namespaces that differ from ours (joining our own user namespace again
/// would fail with EINVAL; the others would be no-ops), opened before forking so a
/// problem is reported with its name.
fn open_namespaces(state: &ContainerState) -> Result<Vec<(&'static str, OwnedFd)>> {
    let mut out = Vec::new();
    for name in NAMESPACES {
        let theirs = format!("/proc/{}/ns/{name}", state.pid);
        let ours = format!("/proc/self/ns/{name}");
        let file = match File::open(&theirs) {
            Ok(f) => f,
            // A kernel without this namespace type (time before 5.6).
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && Path::new(&ours).symlink_metadata().is_err() =>
            {
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                return Err(not_running(state, "stopped"));
            }
            Err(e) => return Err(io_err("opening namespace", &theirs)(e)),
        };
        let same = match (file.metadata(), std::fs::metadata(&ours)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if !same {
            out.push((name, file.into()));
        }
    }
    Ok(out)
}

/// Fork the stages and wait until the process has exec'd; its host pid.
fn start_process(
    opts: &ExecOptions,
    lock: &StateLock,
    state: &ContainerState,
    process: &Process,
    seccomp: Option<&seccomp::SeccompFilter>,
    namespaces: &[(&'static str, OwnedFd)],
    console: Option<&std::os::unix::net::UnixStream>,
) -> Result<i32> {
    // The container's cgroup, or the existing sub-cgroups of it that --cgroup names.
    let cgroup = exec_cgroup::placement(&state.cgroup, &opts.cgroups)?;
    // Without --detach, signals meant for the process are blocked from before the fork, so
    // none that arrives while the process starts kills us instead of being forwarded; the
    // stages restore the caller's mask (a blocked mask would survive execve).
    // Stage 1 exits after forking the process: as subreaper we inherit it, to wait for it
    // or, when it failed to start, to reap it. Also with --detach: otherwise a failed
    // stage 2 would be left a zombie in the container's pid namespace, and the container
    // init could not die until the host's init reaped it.
    nix::sys::prctl::set_child_subreaper(true).map_err(sys_err("becoming subreaper", "exec"))?;
    let mut caller_mask = None;
    if !opts.detach {
        caller_mask = Some(
            super::foreground::signals()
                .thread_swap_mask(SigmaskHow::SIG_BLOCK)
                .map_err(sys_err("blocking signals", "exec"))?,
        );
    }
    let setup = ExecSetup {
        process,
        namespaces,
        cgroup: &cgroup,
        console,
        seccomp,
        preserve_fds: opts.preserve_fds,
        signal_mask: caller_mask,
    };
    let (parent_end, child_end) = channel::pair()?;
    // SAFETY: the runtime is single-threaded, so the child gets a consistent copy of
    // memory and may allocate.
    let stage1_pid = match unsafe { fork() }.map_err(sys_err("forking", "exec"))? {
        ForkResult::Child => {
            drop(parent_end);
            lock.close_in_forked_child();
            stage1(&setup, &child_end)
        }
        ForkResult::Parent { child } => child,
    };
    drop(child_end);
    let mut pid = None;
    // End of file on the channel: both stages closed their ends, stage 2 by execve.
    let result = loop {
        match parent_end.recv() {
            Ok(Some(Message::InitPid { pid: p })) => {
                pid = Some(p);
                if let Err(e) = parent_end.send(&Message::PidRecorded) {
                    break Err(e);
                }
            }
            Ok(Some(Message::SeccompNotifyFd)) => {
                if let Err(e) = forward_notify_fd(&parent_end, state, seccomp, pid) {
                    break Err(e);
                }
            }
            Ok(Some(Message::Error { msg })) => break Err(Error::ExecSetup(msg)),
            Ok(Some(other)) => {
                break Err(Error::ExecSetup(format!("unexpected message {other:?}")));
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let _ = waitpid(stage1_pid, None);
    match (result, pid) {
        (Ok(()), Some(pid)) => Ok(pid),
        (Ok(()), None) => Err(Error::ExecSetup(
            "the setup process exited without starting the command".into(),
        )),
        (Err(e), pid) => {
            // Stage 2 exits after reporting; reap it so no zombie is left to us.
            if let Some(pid) = pid {
                let _ = waitpid(Pid::from_raw(pid), None);
            }
            Err(e)
        }
    }
}

/// SCMP_ACT_NOTIFY: the listener fd goes to the agent with the container's state, as for
/// the init.
fn forward_notify_fd(
    chan: &channel::Channel,
    state: &ContainerState,
    filter: Option<&seccomp::SeccompFilter>,
    pid: Option<i32>,
) -> Result<()> {
    let fd = seccomp::recv_fd(chan.as_fd())?;
    if let Some(filter) = filter
        && let Some(listener) = filter.listener_path()
    {
        let mut oci = state.to_oci_spec();
        oci.set_pid(pid.or(Some(state.pid)));
        let process_state = seccomp::container_process_state(&oci, filter.listener_metadata())?;
        seccomp::send_to_listener(listener, fd.as_fd(), &process_state)?;
    }
    Ok(())
}
