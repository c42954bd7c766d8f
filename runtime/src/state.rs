//! Per-container state under `--root/<id>/`: the OCI state plus what the runtime needs to
//! find the container again (cgroups, init start time), with locking and atomic writes.
//! The file's shape, the status and the file names are berth-state's (the contract the
//! exporter and the engine read by); this module does the I/O and the kernel checks.
//!
//! Layout of `<root>/<id>/` ([`berth_state::files`]):
//! - `state.json`: [`ContainerState`], replaced atomically (write temp + rename);
//! - `exec.fifo`: exists from `create` until `start` releases the init;
//! - `lock`: `flock`ed exclusively by commands that change the container, shared by readers.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_cgroups::CgroupPlacement;
use berth_state::files::{LOCK_FILE, STATE_TMP};
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result, io_err};
use crate::process_info;

pub use berth_state::files::{EXEC_FIFO, STATE_FILE};
pub use berth_state::{OciState, StateOutput, Status, Timestamp};

/// What `state.json` holds (the contract lives in berth-state), with the cgroups as
/// berth-cgroups places them.
pub type ContainerState = berth_state::ContainerState<CgroupPlacement>;

/// What the state file cannot say by itself: whether its init still lives and the live
/// status, which the runtime reads from the kernel.
pub trait LiveStatus {
    /// Whether the recorded init is still the same live process.
    fn init_alive(&self) -> bool;

    /// Derive the live status from the kernel: the recorded one may be stale because the
    /// container's processes exit without telling us.
    fn refresh_status(&mut self, dir: &StateDir);
}

impl LiveStatus for ContainerState {
    fn init_alive(&self) -> bool {
        self.pid > 0 && process_info::is_live_process(self.pid, self.init_start_time)
    }

    fn refresh_status(&mut self, dir: &StateDir) {
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
    /// lock (see [`crate::process_info::lock_holders`]) and that `may_kill` allows, and
    /// take it; fail after `patience` more. `may_kill` keeps another runtime command (a
    /// second `delete`, a `start` running hooks) from being killed mid-work.
    pub fn lock_exclusive_breaking(
        &self,
        patience: Duration,
        may_kill: impl Fn(&crate::process_info::LockHolder) -> bool,
    ) -> Result<StateLock> {
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
                    if !may_kill(&holder) {
                        tracing::warn!(
                            "{}: pid {} ({}) holds {} after {waited:?}; not the container's, so waiting",
                            self.id,
                            holder.pid,
                            holder.comm,
                            path.display()
                        );
                        continue;
                    }
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
        ContainerState::from_json(&data).map_err(|e| Error::Container {
            id: self.id.clone(),
            msg: format!("corrupt state {}: {e}", path.display()),
        })
    }

    /// Replace `state.json` atomically, so a reader or a crash never sees half a file.
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let path = self.path.join(STATE_FILE);
        let tmp = self.path.join(STATE_TMP);
        let data = state.to_json().map_err(|e| Error::Container {
            id: self.id.clone(),
            msg: e.to_string(),
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
