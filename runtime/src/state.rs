//! Per-container state under `--root/<id>/`: the OCI state plus what the runtime needs to
//! find the container again (cgroups, init start time), with locking and atomic writes.
//!
//! Layout of `<root>/<id>/`:
//! - `state.json`: [`ContainerState`], replaced atomically (write temp + rename);
//! - `exec.fifo`: exists from `create` until `start` releases the init;
//! - `lock`: `flock`ed exclusively by commands that change the container, shared by readers.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_cgroups::CgroupPlacement;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, io_err};
use crate::process_info;

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
const LOCK_FILE: &str = "lock";

/// OCI status, plus `creating` for the window in which `create` is still building the
/// container (it lets `delete --force` clean up after a `create` that was killed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// What `state.json` holds. Field names are a contract with the exporter (camelCase).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub oci_version: String,
    pub id: String,
    /// The status last recorded; [`ContainerState::refresh_status`] derives the live one.
    pub status: Status,
    /// Host pid of the container init; 0 before it exists.
    #[serde(default)]
    pub pid: i32,
    pub bundle: PathBuf,
    #[serde(default)]
    pub rootfs: PathBuf,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time.
    pub created: String,
    /// Start time of the init in clock ticks since boot (field 22 of /proc/<pid>/stat),
    /// so that a recycled pid is never mistaken for the container.
    #[serde(default)]
    pub init_start_time: u64,
    #[serde(default)]
    pub cgroup: CgroupPlacement,
    /// The config's `hooks.poststart`, kept so that `start` need not parse the bundle again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststart_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// The config's `hooks.poststop`, kept because `delete` runs them after the bundle may
    /// be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststop_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// Whether the container has its own pid namespace: without one, `kill --all` and
    /// delete must signal the cgroup's processes, not just the init.
    #[serde(default)]
    pub own_pid_ns: bool,
}

/// The OCI state as printed by `state` and given to hooks on stdin.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: Status,
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

/// What `state` and `list --format json` print: runc's own state object (its
/// `containerState`), with runc's key order, which is not the OCI state's (pid before
/// status; rootfs and created before annotations, which are left out when empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOutput<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
    /// The state directory's owner; runc's `state` leaves it empty, its `list` fills it.
    pub owner: &'a str,
}

impl ContainerState {
    /// This state as runc's `state` and `list` print it, with `owner`.
    pub fn runc_output<'a>(&'a self, owner: &'a str) -> StateOutput<'a> {
        StateOutput {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: self.pid,
            status: self.status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner,
        }
    }

    pub fn oci(&self) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: self.status,
            pid: self.pid,
            bundle: &self.bundle,
            annotations: &self.annotations,
        }
    }

    /// The same state as oci-spec's type, for APIs that take it.
    pub fn to_oci_spec(&self) -> oci_spec::runtime::State {
        use oci_spec::runtime::ContainerState as S;
        let status = match self.status {
            Status::Creating => S::Creating,
            Status::Created => S::Created,
            Status::Running => S::Running,
            // The OCI state has no paused status; runc reports a paused container as running.
            Status::Paused => S::Running,
            Status::Stopped => S::Stopped,
        };
        let mut s = oci_spec::runtime::State::default();
        s.set_version(self.oci_version.clone());
        s.set_id(self.id.clone());
        s.set_status(status);
        s.set_pid(Some(self.pid));
        s.set_bundle(self.bundle.clone());
        s.set_annotations(Some(
            self.annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
        s
    }

    pub fn oci_json(&self) -> Vec<u8> {
        // Serializing plain strings and maps cannot fail.
        serde_json::to_vec(&self.oci()).unwrap_or_default()
    }

    /// Whether the recorded init is still the same live process.
    pub fn init_alive(&self) -> bool {
        self.pid > 0 && process_info::is_live_process(self.pid, self.init_start_time)
    }

    /// Derive the live status from the kernel: the recorded one may be stale because the
    /// container's processes exit without telling us.
    pub fn refresh_status(&mut self, dir: &StateDir) {
        if self.status == Status::Creating {
            return;
        }
        if !self.init_alive() {
            self.status = Status::Stopped;
            return;
        }
        // Frozen first, as runc: a created container that was paused is paused (its init,
        // frozen, would never take the exec fifo's reader: `start` would hang).
        if self.cgroup.is_frozen().unwrap_or(false) {
            self.status = Status::Paused;
        } else if dir.path.join(EXEC_FIFO).exists() {
            self.status = Status::Created;
        } else {
            self.status = Status::Running;
        }
    }
}

/// Validate a container id: it becomes a directory name and a cgroup name.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// The state directory of one container.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub id: String,
    pub path: PathBuf,
}

/// A held lock on a container's state; released on drop.
pub struct StateLock {
    _lock: Flock<File>,
}

impl StateLock {
    /// In a process forked while the lock was held: close this process's copy of the fd
    /// without unlocking (the lock belongs to the open file, shared with the parent, and
    /// `flock(LOCK_UN)` here would release the parent's lock too). Without this the child
    /// holds the lock until its execve, and a child that outlives a killed parent (a
    /// container init blocked on `exec.fifo`) would hold it for good.
    ///
    /// The child must never drop this value afterwards; the forked stages end in
    /// `_exit` or `execve` and run no destructors.
    pub fn close_in_forked_child(&self) {
        use std::os::fd::AsRawFd;
        // SAFETY: closes this process's own copy of an fd it holds; the Flock that owns
        // it is never dropped in this process (see above), so the fd is not used again.
        unsafe { libc::close(self._lock.as_raw_fd()) };
    }
}

impl StateDir {
    pub fn new(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        Ok(Self {
            id: id.to_string(),
            path: root.join(id),
        })
    }

    /// Create the directory for a new container; fails if the id is taken. The atomic
    /// `mkdir` is what makes two concurrent `create`s of one id safe.
    pub fn create_new(root: &Path, id: &str) -> Result<Self> {
        let dir = Self::new(root, id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .map_err(io_err("creating state root", root))?;
        match fs::DirBuilder::new().mode(0o711).create(&dir.path) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::Exists(id.to_string())),
            Err(e) => Err(io_err("creating state dir", &dir.path)(e)),
        }
    }

    /// Open an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        let dir = Self::new(root, id)?;
        if dir.path.is_dir() {
            Ok(dir)
        } else {
            Err(Error::NotFound(id.to_string()))
        }
    }

    pub fn exec_fifo(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    fn lock(&self, arg: FlockArg) -> Result<StateLock> {
        let path = self.path.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::NotFound(self.id.clone()),
                _ => io_err("opening lock", &path)(e),
            })?;
        let lock = Flock::lock(file, arg).map_err(|(_, errno)| Error::Io {
            op: "locking",
            path: path.clone(),
            source: errno.into(),
        })?;
        Ok(StateLock { _lock: lock })
    }

    /// Exclusive lock: for commands that change the container.
    pub fn lock_exclusive(&self) -> Result<StateLock> {
        self.lock(FlockArg::LockExclusive)
    }

    /// Exclusive lock for `delete --force`, which must never wait forever: wait up to
    /// `patience` for the holder to finish, then kill every process that still holds the
    /// lock (see [`crate::process_info::lock_holders`]) and take it; fail after `patience` more.
    pub fn lock_exclusive_breaking(&self, patience: Duration) -> Result<StateLock> {
        let path = self.path.join(LOCK_FILE);
        let start = Instant::now();
        let mut killed = false;
        let mut pause = Duration::from_micros(500);
        loop {
            match self.lock(FlockArg::LockExclusiveNonblock) {
                Err(Error::Io { source, .. })
                    if source.raw_os_error() == Some(libc::EWOULDBLOCK) => {}
                other => return other,
            }
            let waited = start.elapsed();
            if waited >= patience * 2 {
                return Err(Error::Container {
                    id: self.id.clone(),
                    msg: format!("{} is still locked after {waited:?}", path.display()),
                });
            }
            if waited >= patience && !killed {
                killed = true;
                for holder in crate::process_info::lock_holders(&path) {
                    tracing::warn!(
                        "{}: killing pid {} ({}), which holds {} after {waited:?}",
                        self.id,
                        holder.pid,
                        holder.comm,
                        path.display()
                    );
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(holder.pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Shared lock: for readers, so they never see a half-made transition.
    pub fn lock_shared(&self) -> Result<StateLock> {
        self.lock(FlockArg::LockShared)
    }

    pub fn load(&self) -> Result<ContainerState> {
        let path = self.path.join(STATE_FILE);
        let data = fs::read(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::NotFound(self.id.clone()),
            _ => io_err("reading state", &path)(e),
        })?;
        serde_json::from_slice(&data).map_err(|e| Error::Container {
            id: self.id.clone(),
            msg: format!("corrupt state {}: {e}", path.display()),
        })
    }

    /// Replace `state.json` atomically, so a reader or a crash never sees half a file.
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let path = self.path.join(STATE_FILE);
        let tmp = self.path.join(".state.json.tmp");
        let data = serde_json::to_vec(state).map_err(|e| Error::Container {
            id: self.id.clone(),
            msg: format!("serializing state: {e}"),
        })?;
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err("writing state", &tmp))?;
        f.write_all(&data).map_err(io_err("writing state", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_err("replacing state", &path))?;
        Ok(())
    }

    /// Remove the whole directory. Already gone is success: delete is idempotent.
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("removing state dir", &self.path)(e)),
        }
    }
}

/// All container ids under `root` (for `list`), sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing state root", root)(e)),
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| validate_id(id).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}
