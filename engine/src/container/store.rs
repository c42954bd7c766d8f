//! The container store: one directory per container under `<root>/containers/<id>/`
//! (record, bundle, upper and work dirs, log, exit file) and one under
//! `<runroot>/containers/<id>/` (monitor.json, attach.sock), a flock per container, and
//! lookup by id, unique id prefix or name.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use crate::container::record::ContainerRecord;
use crate::container::{id, names};
use crate::error::{EngineError, Result, io_err, sys_err};
use crate::paths::StorePaths;

/// The files of one container (nothing is opened or checked here).
#[derive(Debug, Clone)]
pub struct ContainerFiles {
    pub id: String,
    /// `<root>/containers/<id>`.
    pub dir: PathBuf,
    /// `<runroot>/containers/<id>`.
    pub run_dir: PathBuf,
}

impl ContainerFiles {
    pub fn new(paths: &StorePaths, id: &str) -> Self {
        Self {
            id: id.to_string(),
            dir: paths.container_dir(id),
            run_dir: paths.container_run_dir(id),
        }
    }
    /// `container.json`, the record.
    pub fn record(&self) -> PathBuf {
        self.dir.join("container.json")
    }
    /// `exit.json`, written by the monitor when the container ended.
    pub fn exit(&self) -> PathBuf {
        self.dir.join("exit.json")
    }
    /// `start.json`, written by the monitor once the process started.
    pub fn start(&self) -> PathBuf {
        self.dir.join("start.json")
    }
    /// `<id>-json.log`, docker's json-file log (rotated ones end in `.1`, `.2`, ...).
    pub fn log(&self) -> PathBuf {
        self.dir.join(format!("{}-json.log", self.id))
    }
    /// The OCI bundle: `config.json` and the `rootfs` mount point.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }
    /// The overlay's upper and work dirs: the container's own changes.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    /// The flock taken by every verb that changes the container.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    /// The monitor's identity (pid, start time, boot id).
    pub fn monitor(&self) -> PathBuf {
        self.run_dir.join("monitor.json")
    }
    /// The monitor's attach socket (see [`crate::monitor::attach`]).
    pub fn attach_socket(&self) -> PathBuf {
        self.run_dir.join("attach.sock")
    }
    /// The monitor's own diagnostics (its stderr).
    pub fn monitor_log(&self) -> PathBuf {
        self.dir.join("monitor.log")
    }
}

/// An exclusive flock on a container's `lock` file, released on drop.
#[derive(Debug)]
pub struct ContainerLock {
    _file: File,
}

/// Takes the container's lock, waiting for another holder.
pub fn lock(files: &ContainerFiles) -> Result<ContainerLock> {
    let path = files.lock();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                EngineError::NoSuchContainer(files.id.clone())
            } else {
                io_err("opening", &path)(e)
            }
        })?;
    loop {
        // SAFETY: flock on an fd we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(ContainerLock { _file: file });
        }
        let errno = nix::errno::Errno::last();
        if errno != nix::errno::Errno::EINTR {
            return Err(sys_err("locking", path.display().to_string())(errno));
        }
    }
}

/// Prefix of a container directory being created (`containers/.creating-<id>`): a
/// container appears under its id whole (directories and record) or not at all, and a
/// `create` killed half way leaves only a staging directory that [`ids`] never lists
/// and [`sweep_staging`] removes later.
pub const STAGING_PREFIX: &str = ".creating-";

/// Prefix a container directory is renamed to before it is deleted
/// (`containers/.removing-<id>`).
pub const REMOVING_PREFIX: &str = ".removing-";

/// How old a staging directory must be before [`sweep_staging`] takes it for the
/// leftover of a killed `create` (one in progress takes milliseconds).
pub const STAGING_STALE: std::time::Duration = std::time::Duration::from_secs(60);

/// `containers/.creating-<id>`.
pub fn staging_dir(paths: &StorePaths, id: &str) -> PathBuf {
    paths
        .root
        .join("containers")
        .join(format!("{STAGING_PREFIX}{id}"))
}

/// Makes the staging directory of container `id` with its subdirectories; the files
/// returned point into it (for [`save`]); [`publish`] moves it under the id.
pub fn stage(paths: &StorePaths, id: &str) -> Result<ContainerFiles> {
    let mut files = ContainerFiles::new(paths, id);
    files.dir = staging_dir(paths, id);
    let parent = paths.root.join("containers");
    std::fs::create_dir_all(&parent).map_err(io_err("creating", &parent))?;
    std::fs::create_dir(&files.dir).map_err(io_err("creating", &files.dir))?;
    for d in [files.bundle(), files.rootfs(), files.upper(), files.work()] {
        std::fs::create_dir_all(&d).map_err(io_err("creating", &d))?;
    }
    Ok(files)
}

/// Writes `record` into its staging directory and renames that to
/// `containers/<id>`: from here on the container exists.
pub fn publish(paths: &StorePaths, record: &ContainerRecord) -> Result<ContainerFiles> {
    let mut staged = ContainerFiles::new(paths, &record.id);
    staged.dir = staging_dir(paths, &record.id);
    save(&staged, record)?;
    let files = ContainerFiles::new(paths, &record.id);
    std::fs::rename(&staged.dir, &files.dir).map_err(io_err("publishing", &files.dir))?;
    Ok(files)
}

/// Removes staging directories older than [`STAGING_STALE`] and directories moved
/// aside for removal as old: what a killed `create` or `rm` left.
pub fn sweep_staging(paths: &StorePaths) {
    let dir = paths.root.join("containers");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Ok(meta) = e.metadata() else { continue };
        // A staging directory ages from its last change inside (mtime); one moved aside
        // for removal from the rename (ctime), while an `rm` may still be at it.
        let since = if name.starts_with(STAGING_PREFIX) {
            meta.modified().ok()
        } else if name.starts_with(REMOVING_PREFIX) {
            use std::os::unix::fs::MetadataExt;
            Some(std::time::UNIX_EPOCH + std::time::Duration::new(meta.ctime().max(0) as u64, 0))
        } else {
            None
        };
        let stale = since
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STAGING_STALE);
        if stale && let Err(err) = std::fs::remove_dir_all(e.path()) {
            tracing::warn!("removing {}: {err}", e.path().display());
        }
    }
}

/// Creates the container's directories and writes its record ([`stage`] then
/// [`publish`]). Fails if the id exists.
pub fn create(paths: &StorePaths, record: &ContainerRecord) -> Result<ContainerFiles> {
    stage(paths, &record.id)?;
    publish(paths, record)
}

/// Writes the record by rename.
pub fn save(files: &ContainerFiles, record: &ContainerRecord) -> Result<()> {
    crate::atomic_file::write_json(&files.record(), record)
}

/// Reads the record of `id` (a full id).
pub fn load(paths: &StorePaths, id: &str) -> Result<ContainerRecord> {
    let files = ContainerFiles::new(paths, id);
    crate::atomic_file::read_json(&files.record())?
        .ok_or_else(|| EngineError::NoSuchContainer(id.to_string()))
}

/// The ids of every container directory (with or without a record yet).
pub fn ids(paths: &StorePaths) -> Result<Vec<String>> {
    let dir = paths.root.join("containers");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", &dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("listing", &dir))?;
        if let Some(name) = entry.file_name().to_str()
            && id::is_full_id(name)
        {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// Every container with a readable record, newest first. A directory without a record
/// (a `create` killed before writing it, or one being removed) is skipped.
pub fn list(paths: &StorePaths) -> Result<Vec<ContainerRecord>> {
    let mut out = Vec::new();
    for id in ids(paths)? {
        match load(paths, &id) {
            Ok(r) => out.push(r),
            Err(EngineError::NoSuchContainer(_)) => {}
            Err(e) => tracing::warn!("skipping container {id}: {e}"),
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created));
    Ok(out)
}

/// Resolves what a user typed to a full id: a full id, a name, or a unique id prefix
/// (docker's order). [`EngineError::NoSuchContainer`] names the query as given.
pub fn resolve(paths: &StorePaths, query: &str) -> Result<String> {
    let not_found = || EngineError::NoSuchContainer(query.to_string());
    if query.is_empty() {
        return Err(not_found());
    }
    if id::is_full_id(query) && paths.container_dir(query).join("container.json").exists() {
        return Ok(query.to_string());
    }
    // Only a valid name is looked up and only a full id is joined to a store path
    // (`..` must not name the containers directory itself).
    let name = query.strip_prefix('/').unwrap_or(query);
    if let Some(id) = names::lookup(&paths.root, name)?
        && id::is_full_id(&id)
        && paths.container_dir(&id).join("container.json").exists()
    {
        return Ok(id);
    }
    if !id::is_hex(query) {
        return Err(not_found());
    }
    let mut matches = ids(paths)?
        .into_iter()
        .filter(|id| id.starts_with(query))
        .filter(|id| paths.container_dir(id).join("container.json").exists());
    match (matches.next(), matches.next()) {
        (Some(id), None) => Ok(id),
        (Some(_), Some(_)) => Err(EngineError::Ambiguous(query.to_string())),
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::{HostConfig, ProcessConfig};

    fn record(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            created: berth_state::Timestamp::now(),
            image: "busybox".into(),
            image_id: "sha256:00".into(),
            process: ProcessConfig::default(),
            host: HostConfig::default(),
            network_attachment: None,
        }
    }

    /// A `create` killed before publishing leaves a staging directory: not a container,
    /// its name held while it is fresh, swept once stale.
    #[test]
    fn a_staged_container_is_invisible_and_swept_when_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StorePaths::new(
            Some(dir.path().join("root")),
            Some(dir.path().join("run")),
            None,
            None,
        );
        let id = "5".repeat(63) + "a";
        let staged = stage(&paths, &id).expect("stage");
        names::reserve(&paths.root, "half", &id).expect("name");
        assert!(ids(&paths).expect("ids").is_empty());
        assert!(matches!(
            resolve(&paths, "half"),
            Err(EngineError::NoSuchContainer(_))
        ));
        let other = "6".repeat(64);
        std::fs::create_dir_all(paths.container_dir(&other)).expect("dir");
        assert!(
            matches!(
                names::reserve(&paths.root, "half", &other),
                Err(EngineError::NameInUse { .. })
            ),
            "a fresh staging directory holds its name"
        );
        sweep_staging(&paths);
        assert!(staged.dir.exists(), "a fresh one is kept");
        let old = std::time::SystemTime::now() - STAGING_STALE * 2;
        std::fs::File::open(&staged.dir)
            .and_then(|f| f.set_modified(old))
            .expect("age it");
        sweep_staging(&paths);
        assert!(!staged.dir.exists(), "a stale one is swept");
        names::reserve(&paths.root, "half", &other).expect("the name is free again");
    }

    #[test]
    fn lookup_by_id_name_and_unique_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StorePaths::new(
            Some(dir.path().join("root")),
            Some(dir.path().join("run")),
            None,
            None,
        );
        let a = format!("4f2a{}", "1".repeat(60));
        let b = format!("4f2b{}", "2".repeat(60));
        for (id, name) in [(&a, "web"), (&b, "db")] {
            create(&paths, &record(id, name)).expect("create");
            names::reserve(&paths.root, name, id).expect("name");
        }
        assert_eq!(resolve(&paths, &a).expect("full"), a);
        assert_eq!(resolve(&paths, "web").expect("name"), a);
        assert_eq!(resolve(&paths, "/db").expect("slash name"), b);
        assert_eq!(resolve(&paths, "4f2b").expect("prefix"), b);
        assert!(matches!(
            resolve(&paths, "4f2"),
            Err(EngineError::Ambiguous(_))
        ));
        let err = resolve(&paths, "4f2c").expect_err("absent");
        assert_eq!(err.to_string(), "no such container: 4f2c");
        // Names no container can have are not looked up in the store (`..` and `.` were
        // read as directories: "Is a directory").
        for bad in ["../x", "..", ".", "/..", "a/b", "web/", " web", "x"] {
            assert!(
                matches!(resolve(&paths, bad), Err(EngineError::NoSuchContainer(_))),
                "{bad:?}"
            );
        }
        assert_eq!(list(&paths).expect("list").len(), 2);
    }
}
