//! A container's cgroups on every hierarchy: create, join, list, freeze, kill, remove.
//! Limits and statistics are delegated to the v1 or v2 [`Manager`].

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use crate::layout::{Hierarchies, check_cgroup_fs, hierarchies};
use crate::manager::Manager;
use crate::{
    CgroupError, CgroupPlacement, CgroupStats, StatsScope, cgroupfs, resources, unset_values, v1,
    v2,
};

impl CgroupPlacement {
    /// Creates the cgroup `relative_path` (as from [`crate::resolve_path`]) on every v1
    /// hierarchy and on the v2 one (on hybrid hosts `/sys/fs/cgroup/unified/...`), and
    /// records the v2 directory's inode as `v2_id`. An existing directory is reused only
    /// when it is empty (no processes, no child cgroups): one in use belongs to someone
    /// else, and the container's delete would kill and remove what is in it. A frozen
    /// directory (or one below a frozen ancestor) is refused too: the container's init
    /// would stop on joining it and create would hang ([`CgroupError::Frozen`]).
    pub fn create(relative_path: &Path) -> Result<Self, CgroupError> {
        let rel = relative_inside(relative_path)?;
        let h = hierarchies()?;
        refuse_in_use(h, &rel)?;
        refuse_frozen(h, &rel)?;
        let mut placement = CgroupPlacement {
            relative_path: Path::new("/").join(&rel),
            ..Default::default()
        };
        let result = placement.create_on(h, &rel);
        if let Err(e) = result {
            // Leave nothing half-made behind; the original error is what matters.
            if let Err(cleanup) = placement.remove() {
                tracing::warn!(error = %cleanup, "cleaning up a half-created cgroup");
            }
            return Err(e);
        }
        tracing::debug!(path = %placement.relative_path.display(), v2_id = ?placement.v2_id, "cgroup created");
        Ok(placement)
    }

    /// The directories of `relative_path` that exist and are empty, for cleaning up after a
    /// runtime that died between creating them and recording them. In-use directories are
    /// left out: they cannot be ours (nothing joined before the placement was recorded).
    pub fn locate_unused(relative_path: &Path) -> Result<Self, CgroupError> {
        let rel = relative_inside(relative_path)?;
        let h = hierarchies()?;
        let mut placement = CgroupPlacement {
            relative_path: Path::new("/").join(&rel),
            ..Default::default()
        };
        let empty = |root: &Path| {
            let dir = root.join(&rel);
            (dir.is_dir() && refuse_in_use_at(root, &rel).is_ok()).then_some(dir)
        };
        for mount in &h.v1 {
            if let Some(dir) = empty(&mount.root) {
                for c in &mount.controllers {
                    placement.v1_dirs.insert(c.clone(), dir.clone());
                }
            }
        }
        placement.v2_dir = h.v2_root.as_deref().and_then(empty);
        Ok(placement)
    }

    fn create_on(&mut self, h: &Hierarchies, rel: &Path) -> Result<(), CgroupError> {
        for mount in &h.v1 {
            check_cgroup_fs(&mount.root, false)?;
            let dir = mount.root.join(rel);
            // Record before creating, so a failure half-way still cleans up.
            for c in &mount.controllers {
                self.v1_dirs.insert(c.clone(), dir.clone());
            }
            cgroupfs::create_dirs(&mount.root, rel)?;
            if mount.controllers.iter().any(|c| c == "cpuset") {
                v1::cpuset::init_dirs(&mount.root, rel)?;
            }
        }
        if let Some(root) = &h.v2_root {
            check_cgroup_fs(root, true)?;
            let dir = root.join(rel);
            self.v2_dir = Some(dir.clone());
            cgroupfs::create_dirs(root, rel)?;
            if h.layout == crate::Layout::V2 {
                v2::enable_controllers_down_to(root, rel, None)?;
            }
            self.v2_id = Some(crate::cgroup_id(&dir)?);
        }
        Ok(())
    }

    /// Every distinct directory of this placement (v1 hierarchies and v2).
    pub fn dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = self.v1_dirs.values().map(PathBuf::as_path).collect();
        dirs.extend(self.v2_dir.as_deref());
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Moves process `pid` (with all its threads) into every hierarchy of this placement.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            cgroupfs::write(dir, "cgroup.procs", pid.to_string())?;
        }
        Ok(())
    }

    /// The `cgroup.procs` files of every hierarchy, ready for [`join_current_process`] in a
    /// freshly forked child (built before the fork: the child must not allocate).
    pub fn procs_files(&self) -> Result<Vec<CString>, CgroupError> {
        self.dirs()
            .into_iter()
            .map(|d| {
                let path = d.join("cgroup.procs");
                CString::new(path.as_os_str().as_bytes()).map_err(|_| CgroupError::InvalidPath {
                    path: path.display().to_string(),
                    reason: "contains a NUL byte",
                })
            })
            .collect()
    }

    /// Validates `resources` completely, then applies them. On a validation error nothing
    /// was changed; a kernel refusal half-way (rare once validated) is reported as is.
    /// The zeros clients send for "not set" (`cpu.period: 0`, `blockIO.weight: 0`, ...)
    /// change nothing, as with runc.
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let resources = &unset_values::drop_unset(resources);
        resources::validate(resources)?;
        let manager = self.manager()?;
        manager.validate(resources)?;
        manager.apply(resources)
    }

    /// The pids of every process in the container's cgroup and its sub-cgroups.
    pub fn processes(&self) -> Result<Vec<i32>, CgroupError> {
        let Some(dir) = self.pid_source() else {
            return Ok(Vec::new());
        };
        let mut pids = Vec::new();
        collect_pids(dir, &mut pids)?;
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Freezes every process of the container (v1 freezer, v2 `cgroup.freeze`).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.manager()?.set_frozen(true)
    }

    /// Thaws a frozen container.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.manager()?.set_frozen(false)
    }

    /// Whether the container is frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.manager()?.is_frozen()
    }

    /// Sends `signal` to every process of the container. SIGKILL uses `cgroup.kill` where
    /// the v2 hierarchy has it (also on hybrid hosts: the processes are in both); other
    /// signals, and SIGKILL elsewhere, go to each pid in turn (the cgroup frozen meanwhile
    /// for SIGKILL, so that no fork escapes).
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        let sig = Signal::try_from(signal)
            .map_err(|_| CgroupError::invalid("signal", format!("{signal} is not a signal")))?;
        if sig == Signal::SIGKILL
            && let Some(dir) = &self.v2_dir
            && dir.join("cgroup.kill").exists()
        {
            return cgroupfs::write(dir, "cgroup.kill", "1");
        }
        // Freezing first keeps a forking process from escaping SIGKILL; without a freezer
        // the signals go out anyway. Thawing afterwards lets the kill be delivered (v1).
        let frozen = sig == Signal::SIGKILL
            && match self.freeze() {
                Ok(()) => true,
                Err(e) => {
                    tracing::debug!(error = %e, "killing without freezing first");
                    false
                }
            };
        let result = self.signal_each(sig);
        if frozen {
            self.thaw()?;
        }
        result
    }

    fn signal_each(&self, sig: Signal) -> Result<(), CgroupError> {
        for pid in self.processes()? {
            match kill(Pid::from_raw(pid), sig) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => {
                    return Err(CgroupError::io(
                        "signalling process in",
                        format!("{} (pid {pid})", self.relative_path.display()),
                        e.into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Removes every directory of this placement, deepest first. Already gone is success;
    /// EBUSY (tasks still exiting) is retried for up to two seconds in all. Kill the
    /// processes first ([`CgroupPlacement::kill_all`]): a populated cgroup stays.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut first_error = None;
        for dir in self.dirs() {
            // A container may have made sub-cgroups (cgroup namespace); remove those first.
            if let Err(e) = remove_tree(dir, deadline) {
                tracing::warn!(error = %e, "removing cgroup");
                first_error.get_or_insert(e);
            } else {
                self.remove_empty_parents(dir);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A relative cgroupsPath `a/b` made `berth/a` as well: remove such intermediate
    /// directories when nothing else is in them. Only below `berth/` (never `berth/`
    /// itself): directories elsewhere belong to whoever chose the path.
    fn remove_empty_parents(&self, dir: &Path) {
        let mut rel = self.relative_path.as_path();
        let mut dir = dir;
        while let (Some(parent_rel), Some(parent_dir)) = (rel.parent(), dir.parent()) {
            if !parent_rel.starts_with(crate::BERTH_PARENT)
                || parent_rel == Path::new(crate::BERTH_PARENT)
            {
                return;
            }
            // rmdir refuses a cgroup with children or tasks: then it is someone's, stop.
            if std::fs::remove_dir(parent_dir).is_err() {
                return;
            }
            rel = parent_rel;
            dir = parent_dir;
        }
    }

    /// Waits until the cgroup holds no process, up to `timeout`; true when empty.
    pub fn wait_empty(&self, timeout: Duration) -> Result<bool, CgroupError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.processes()?.is_empty() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Reads cpu, memory, pids, io and hugetlb counters.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        self.stats_of(StatsScope::ALL)
    }

    /// Reads the counters of the controllers in `scope`; the others stay zero.
    pub fn stats_of(&self, scope: StatsScope) -> Result<CgroupStats, CgroupError> {
        let mut stats = CgroupStats::default();
        self.manager()?.stats(&mut stats, scope)?;
        Ok(stats)
    }

    /// The manager for limits and stats: v1 where v1 hierarchies were used, else v2.
    fn manager(&self) -> Result<Box<dyn Manager + '_>, CgroupError> {
        if !self.v1_dirs.is_empty() {
            Ok(Box::new(v1::V1Manager::new(
                &self.v1_dirs,
                self.v2_dir.as_deref(),
            )))
        } else if let Some(dir) = &self.v2_dir {
            Ok(Box::new(v2::V2Manager::new(dir)))
        } else {
            Err(CgroupError::Layout(format!(
                "cgroup {} was not placed in any hierarchy",
                self.relative_path.display()
            )))
        }
    }

    /// The directory whose `cgroup.procs` lists the container's processes.
    fn pid_source(&self) -> Option<&Path> {
        self.v2_dir
            .as_deref()
            .or_else(|| self.v1_dirs.get("pids").map(PathBuf::as_path))
            .or_else(|| self.v1_dirs.values().next().map(PathBuf::as_path))
    }
}

/// `relative_path` without its leading `/`, refusing `..` and the root itself.
fn relative_inside(relative_path: &Path) -> Result<PathBuf, CgroupError> {
    let mut rel = PathBuf::new();
    for c in relative_path.components() {
        match c {
            std::path::Component::Normal(n) => rel.push(n),
            std::path::Component::RootDir | std::path::Component::CurDir => {}
            _ => {
                return Err(CgroupError::InvalidPath {
                    path: relative_path.display().to_string(),
                    reason: "must be a plain path below the hierarchy root",
                });
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::InvalidPath {
            path: relative_path.display().to_string(),
            reason: "the root cgroup cannot hold a container",
        });
    }
    Ok(rel)
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    out.extend(cgroupfs::read_pids(dir)?);
    for child in sub_cgroups(dir)? {
        collect_pids(&child, out)?;
    }
    Ok(())
}

/// The child cgroup directories of `dir` (none when `dir` is gone).
fn sub_cgroups(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CgroupError::io("listing", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CgroupError::io("listing", dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn remove_tree(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    for child in sub_cgroups(dir)? {
        remove_tree(&child, deadline)?;
    }
    cgroupfs::remove_dir(dir, deadline)
}

/// Moves the calling process into every cgroup of `procs_files` (from
/// [`CgroupPlacement::procs_files`]) by writing `0` ("myself") to each. Only
/// async-signal-safe calls (open, write, close) and no allocation: usable between fork and
/// exec, e.g. in `std::process::Command::pre_exec`.
pub fn join_current_process(procs_files: &[CString]) -> std::io::Result<()> {
    for file in procs_files {
        // SAFETY: `file` is a valid NUL-terminated path that outlives the call; open(2)
        // only reads it.
        let fd = unsafe { libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened by us; the buffer is a 1-byte static string.
        let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
        let err = std::io::Error::last_os_error();
        // SAFETY: `fd` is ours and closed exactly once.
        unsafe { libc::close(fd) };
        if written != 1 {
            return Err(err);
        }
    }
    Ok(())
}

/// Refuses `rel` where it already exists with processes or child cgroups in it, on any
/// hierarchy. Checked before anything is created, so nothing needs undoing.
fn refuse_in_use(h: &Hierarchies, rel: &Path) -> Result<(), CgroupError> {
    let roots = h.v1.iter().map(|m| &m.root).chain(h.v2_root.as_ref());
    for root in roots {
        refuse_in_use_at(root, rel)?;
    }
    Ok(())
}

fn refuse_in_use_at(root: &Path, rel: &Path) -> Result<(), CgroupError> {
    let dir = root.join(rel);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(cause) => {
            return Err(CgroupError::Io {
                op: "reading cgroup",
                path: dir,
                cause,
            });
        }
    };
    if let Some(child) = entries
        .flatten()
        .find(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    {
        return Err(CgroupError::InUse {
            reason: format!("it has a child cgroup {:?}", child.file_name()),
            path: dir,
        });
    }
    let procs = cgroupfs::read(&dir, "cgroup.procs")?;
    if let Some(pid) = procs.split_whitespace().next() {
        return Err(CgroupError::InUse {
            reason: format!("process {pid} is in it"),
            path: dir,
        });
    }
    Ok(())
}

/// Refuses `rel` when a process joining it would be frozen: on the v1 freezer hierarchy
/// and on the v2 one (whose freezer needs no controller, on hybrid hosts too). Where `rel`
/// does not exist yet, its nearest existing ancestor decides: a new cgroup inherits the
/// freeze. Checked before anything is created, so nothing needs undoing.
fn refuse_frozen(h: &Hierarchies, rel: &Path) -> Result<(), CgroupError> {
    let v1_freezer =
        h.v1.iter()
            .filter(|m| m.controllers.iter().any(|c| c == "freezer"))
            .map(|m| (&m.root, v1::freezer::frozen_reason as FrozenReason));
    let v2 = h
        .v2_root
        .iter()
        .map(|root| (root, v2::freezer::frozen_reason as FrozenReason));
    for (root, frozen_reason) in v1_freezer.chain(v2) {
        let dir = nearest_existing(root, rel);
        if let Some(reason) = frozen_reason(&dir)? {
            return Err(CgroupError::Frozen { path: dir, reason });
        }
    }
    Ok(())
}

type FrozenReason = fn(&Path) -> Result<Option<String>, CgroupError>;

/// `root/rel` if it exists, else its deepest existing ancestor (at worst `root`).
fn nearest_existing(root: &Path, rel: &Path) -> PathBuf {
    let mut dir = root.join(rel);
    while !dir.is_dir() && dir != *root && dir.pop() {}
    dir
}
