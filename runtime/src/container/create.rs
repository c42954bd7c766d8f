//! `create`: validate the bundle, make the state dir and cgroup, fork the init and wait
//! until it is ready and blocked on the exec fifo.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, mkfifo};

use crate::config::Bundle;
use crate::error::{Error, Result, io_err, sys_err};
use crate::hooks::{self, HookKind};
use crate::init::channel::{self, Message};
use crate::init::namespaces::{NamespacePlan, write_id_maps};
use crate::init::{self, InitArgs, console, process};
use crate::state::{ContainerState, StateDir, StateLock, Status, Timestamp};
use crate::{capabilities, process_info, seccomp};

pub use berth_spec::OCI_VERSION;

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
}

/// Undoes a half-made container if `create` fails: nothing may be left behind.
struct Rollback<'a> {
    dir: &'a StateDir,
    cgroup: Option<CgroupPlacement>,
    init_pid: Option<i32>,
    armed: bool,
    /// Held until create returns, and through a rollback (fields drop after `drop`):
    /// `delete` waits for it rather than racing a half-made container, and a crashed
    /// create releases it with its death (the forked stages close their copy at once).
    lock: StateLock,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.init_pid {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.kill_all(libc::SIGKILL);
            if let Err(e) = cg.remove() {
                tracing::warn!("rolling back create: {e}");
            }
        }
        if let Err(e) = self.dir.remove() {
            tracing::warn!("rolling back create: {e}");
        }
    }
}

pub fn create(root: &Path, opts: &CreateOptions) -> Result<ContainerState> {
    create_with_console(root, opts, None)
}

/// `create` for a foreground `run`: a process with `terminal: true` and no
/// `--console-socket` sends its pty master over `console`, the container's end of a
/// [`super::terminal::console_pair`]. Without one such a process is refused, as by runc.
pub fn create_with_console(
    root: &Path,
    opts: &CreateOptions,
    console: Option<&UnixStream>,
) -> Result<ContainerState> {
    // CVE-2019-5736: run from a read-only view of our binary, non-dumpable, before
    // anything exists that a container process could see (may re-exec this process).
    crate::exe_seal::seal_or_reexec()?;
    // Everything that can be checked without changing the system is checked first.
    crate::state::validate_id(&opts.id)?;
    let bundle = Bundle::load(&opts.bundle)?;
    let spec = &bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("process is missing".into()))?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("linux is missing".into()))?;
    process::check_rlimits(process.rlimits().as_deref().unwrap_or_default())?;
    if let Some(caps) = process.capabilities() {
        capabilities::validate(caps)?;
    }
    if let Some(h) = spec.hooks() {
        hooks::validate(h)?;
    }
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(|spec| seccomp::compile_cached(spec, root))
        .transpose()?;
    let cgroup_path = berth_cgroups::resolve_path(
        linux.cgroups_path().as_ref().and_then(|p| p.to_str()),
        &opts.id,
    )?;
    let plan = NamespacePlan::new(linux.namespaces().as_deref().unwrap_or_default())?;
    if !plan.in_user_ns()
        && let Some(caps) = process.capabilities()
    {
        capabilities::check_runtime_holds(caps)?;
    }
    let console = match (process.terminal().unwrap_or(false), &opts.console_socket) {
        (true, Some(path)) => Some(console::connect(path)?),
        (true, None) => match console {
            Some(end) => Some(
                end.try_clone()
                    .map_err(io_err("duplicating", "console socketpair"))?,
            ),
            None => {
                return Err(Error::InvalidArgument(super::terminal::DETACHED_TTY.into()));
            }
        },
        (false, _) => None,
    };

    let dir = StateDir::create_new(root, &opts.id)?;
    let lock = dir.lock_exclusive().inspect_err(|_| {
        let _ = dir.remove();
    })?;
    let mut rollback = Rollback {
        dir: &dir,
        cgroup: None,
        init_pid: None,
        armed: true,
        lock,
    };
    let fifo = make_exec_fifo(&dir)?;

    let mut state = ContainerState {
        oci_version: OCI_VERSION.to_string(),
        id: opts.id.clone(),
        status: Status::Creating,
        pid: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        annotations: spec
            .annotations()
            .as_ref()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_else(BTreeMap::new),
        created: Timestamp::now(),
        init_start_time: 0,
        cgroup: CgroupPlacement {
            relative_path: cgroup_path.clone(),
            ..Default::default()
        },
        poststart_hooks: spec.hooks().as_ref().and_then(|h| h.poststart().clone()),
        poststop_hooks: spec.hooks().as_ref().and_then(|h| h.poststop().clone()),
        own_pid_ns: plan.new_pid,
    };
    // Recorded before the cgroup exists so that `delete --force` after a crash knows it.
    dir.save(&state)?;
    let placement = CgroupPlacement::create(&cgroup_path)?;
    rollback.cgroup = Some(placement.clone());
    state.cgroup = placement.clone();
    dir.save(&state)?;
    // Applied even without `linux.resources`: as with runc, the device rules start from
    // deny-all, so a container opens only the default devices unless the spec allows more.
    let mut resources = linux.resources().clone().unwrap_or_default();
    let mut rules = resources.devices().clone().unwrap_or_default();
    rules.extend(crate::rootfs::devices::cgroup_allow_rules(
        linux.devices().as_deref().unwrap_or_default(),
    ));
    resources.set_devices(Some(rules));
    placement.apply(&resources)?;

    let args = InitArgs {
        bundle: &bundle,
        plan: &plan,
        cgroup: &placement,
        console: console.as_ref(),
        exec_fifo: &fifo,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        seccomp: seccomp.as_ref(),
        id: &opts.id,
    };
    let (parent_end, child_end) = channel::pair()?;
    // SAFETY: the runtime is single-threaded, so the child gets a consistent copy of
    // memory and may allocate.
    let stage1 = match unsafe { fork() }.map_err(sys_err("forking", "container init"))? {
        ForkResult::Child => {
            drop(parent_end);
            rollback.lock.close_in_forked_child();
            init::stage1(&args, &child_end)
        }
        ForkResult::Parent { child } => child,
    };
    drop(child_end);

    let result = (|| -> Result<()> {
        loop {
            match parent_end.recv()? {
                Some(Message::UsernsCreated) => {
                    write_id_maps(
                        stage1.as_raw(),
                        linux.uid_mappings().as_deref().unwrap_or_default(),
                        linux.gid_mappings().as_deref().unwrap_or_default(),
                    )?;
                    parent_end.send(&Message::MapsWritten)?;
                }
                Some(Message::InitPid { pid }) => {
                    rollback.init_pid = Some(pid);
                    state.pid = pid;
                    state.init_start_time = process_info::start_time(pid).unwrap_or(0);
                    dir.save(&state)?;
                    parent_end.send(&Message::PidRecorded)?;
                }
                Some(Message::OpenMountSources) => {
                    crate::rootfs::bind_sources::reply(&parent_end, state.pid, spec)?;
                }
                Some(Message::RunRuntimeHooks) => {
                    let json = state.oci_json();
                    if let Some(h) = spec.hooks() {
                        if let Some(prestart) = h.prestart().as_deref() {
                            hooks::run_in(HookKind::Prestart, prestart, &json, &bundle.dir)?;
                        }
                        if let Some(cr) = h.create_runtime().as_deref() {
                            hooks::run_in(HookKind::CreateRuntime, cr, &json, &bundle.dir)?;
                        }
                    }
                    let json = String::from_utf8_lossy(&json).into_owned();
                    parent_end.send(&Message::Continue { state: json })?;
                }
                Some(Message::SeccompNotifyFd) => {
                    let fd = seccomp::recv_fd(std::os::fd::AsFd::as_fd(&parent_end))?;
                    if let Some(filter) = &seccomp
                        && let Some(listener) = filter.listener_path()
                    {
                        let process_state = seccomp::container_process_state(
                            &state.to_oci_spec(),
                            filter.listener_metadata(),
                        )?;
                        seccomp::send_to_listener(
                            listener,
                            std::os::fd::AsFd::as_fd(&fd),
                            &process_state,
                        )?;
                    }
                }
                Some(Message::Ready) => return Ok(()),
                Some(Message::Error { msg }) => return Err(Error::InitReported(msg)),
                Some(other) => return Err(Error::Init(format!("unexpected message {other:?}"))),
                None => return Err(Error::Init("container init exited during setup".into())),
            }
        }
    })();
    let _ = waitpid(stage1, None);
    result?;

    state.status = Status::Created;
    dir.save(&state)?;
    // Only now may the init outlive us: until this message it exits when we die (its
    // end of the channel sees end-of-file), so a killed create leaves no init behind
    // blocked on the fifo.
    parent_end.send(&Message::Created)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, state.pid)?;
    }
    rollback.armed = false;
    Ok(state)
}

fn make_exec_fifo(dir: &StateDir) -> Result<OwnedFd> {
    let path = dir.exec_fifo();
    mkfifo(&path, Mode::from_bits_truncate(0o622))
        .map_err(sys_err("creating exec fifo", path.display().to_string()))?;
    // mkfifo honours the umask; a non-root container user must be able to open it.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o622))
        .map_err(io_err("chmod", &path))?;
    open(&path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(sys_err("opening exec fifo", path.display().to_string()))
}

/// Write the pid file atomically, as runc does: a watcher never reads a partial pid.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    fs::write(&tmp, pid.to_string()).map_err(io_err("writing pid file", &tmp))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        if e.kind() == ErrorKind::NotFound {
            io_err("writing pid file", path)(e)
        } else {
            io_err("renaming pid file", path)(e)
        }
    })
}
