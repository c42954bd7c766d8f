//! Container discovery: runtime state directories to [`Container`]s, each with the
//! cgroups it lives in and the identity its series carry.
//!
//! - [`berth`]: berth-runtime's `<root>/<id>/state.json`;
//! - [`runc`]: runc's `<root>/<id>/state.json` (also containerd's runc roots, one
//!   level deeper: `<root>/<namespace>/<id>/state.json`);
//! - [`crun`]: crun's `<root>/<id>/status`;
//! - [`identity`]: name, image and allow-listed labels from OCI annotations;
//! - [`proc_cgroup`]: a process's cgroup v2 path from `/proc/<pid>/cgroup`.
//! - [`watch`]: inotify on the state roots, so discovery follows a create at once.

pub mod berth;
pub mod crun;
pub mod identity;
pub mod proc_cgroup;
pub mod runc;
pub mod watch;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use berth_state::Timestamp;
use berth_state::files::{CRUN_STATUS_FILE, RUNC_STATE_FILE, STATE_FILE};

/// Which runtime wrote a state directory, hence its file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateFormat {
    /// berth-runtime: `<root>/<id>/state.json`.
    Berth,
    /// runc: `<root>/<id>/state.json`, or containerd's `<root>/<namespace>/<id>/state.json`.
    Runc,
    /// crun: `<root>/<id>/status`.
    Crun,
}

/// A runtime state directory to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    /// The runtime's state root (`--root`).
    pub path: PathBuf,
    /// Which runtime writes it.
    pub format: StateFormat,
}

/// One container found in a state directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// The runtime's container id.
    pub id: String,
    /// Which runtime manages it (`berth`, `runc`, `crun`).
    pub runtime: &'static str,
    /// Human name (annotation), else the id.
    pub name: String,
    /// Image reference (annotation), else empty.
    pub image: String,
    /// Allow-listed annotations, by annotation key.
    pub labels: BTreeMap<String, String>,
    /// The container's init process, when it has one.
    pub pid: Option<u32>,
    /// Creation time, seconds since the Unix epoch.
    pub created: Option<f64>,
    /// Where its cgroups are.
    pub cgroup: CgroupPlacement,
    /// It opted in to per-syscall counting ([`SYSCALLS_ANNOTATION`] = `count`).
    pub count_syscalls: bool,
}

/// The annotation by which a container opts in to per-syscall counting (value
/// `count`): syscall counting costs every syscall of the host while any container
/// has it, so it is off unless asked for (or the exporter counts all containers).
pub const SYSCALLS_ANNOTATION: &str = "berth.io/syscalls";

impl Container {
    /// The cgroup v2 id BPF programs key it by.
    pub fn cgroup_id(&self) -> Option<u64> {
        self.cgroup.v2_id
    }

    /// The cAdvisor `id` label: the cgroup path relative to the hierarchy root.
    pub fn cgroup_path(&self) -> String {
        self.cgroup.relative_path.display().to_string()
    }
}

/// What every runtime's state file yields; [`Found::into_container`] turns it into a
/// [`Container`] the same way for all of them.
pub(crate) struct Found<'a> {
    pub id: String,
    pub runtime: &'static str,
    pub annotations: &'a BTreeMap<String, String>,
    pub pid: Option<u32>,
    pub created: Option<Timestamp>,
    pub placement: CgroupPlacement,
}

impl Found<'_> {
    /// Completes the cgroup placement and resolves the identity; `Ok(None)` when the
    /// container's cgroups are gone.
    pub(crate) fn into_container(
        self,
        state_file: &Path,
        options: &DiscoveryOptions,
    ) -> Result<Option<Container>, DiscoveryError> {
        let Some(cgroup) =
            complete_placement(&self.id, state_file, self.placement, self.pid, options)?
        else {
            return Ok(None);
        };
        let who = identity::from_annotations(&self.id, self.annotations, &options.label_allowlist);
        Ok(Some(Container {
            id: self.id,
            runtime: self.runtime,
            name: who.name,
            image: who.image,
            labels: who.labels,
            pid: self.pid,
            created: self.created.map(|t| t.unix_seconds()),
            cgroup,
            count_syscalls: self
                .annotations
                .get(SYSCALLS_ANNOTATION)
                .is_some_and(|v| v == "count"),
        }))
    }
}

/// Something that went wrong while discovering; the rest of the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A state root could not be listed (other than missing).
    #[error("reading state directory {path}: {source}")]
    ReadDir {
        /// The state root.
        path: PathBuf,
        /// What listing it failed with.
        source: std::io::Error,
    },
    /// A container's state file could not be read.
    #[error("reading container state {path}: {source}")]
    ReadState {
        /// The state file.
        path: PathBuf,
        /// What reading it failed with.
        source: std::io::Error,
    },
    /// A container's state file is not the JSON its runtime writes.
    #[error("parsing container state {path}: {source}")]
    ParseState {
        /// The state file.
        path: PathBuf,
        /// Which format was expected, where and why parsing failed.
        source: berth_state::StateError,
    },
    /// A container's cgroups could not be placed (no cgroup path, unreadable
    /// `/proc/<pid>/cgroup`, ...).
    #[error("finding the cgroup of container {id} ({path}): {reason}")]
    Cgroup {
        /// The container's id.
        id: String,
        /// Its state file.
        path: PathBuf,
        /// What was missing or failed.
        reason: String,
    },
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Containers whose cgroups exist, in scan order.
    pub containers: Vec<Container>,
    /// What went wrong on the way (each skipped one state file or directory).
    pub errors: Vec<DiscoveryError>,
}

/// How discovery resolves identities and cgroups.
#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// Annotation keys exported as `container_label_*` labels.
    pub label_allowlist: Vec<String>,
    /// Mount point of the cgroup v2 hierarchy.
    pub cgroup2_root: PathBuf,
}

/// Scans every state directory. A directory that does not exist is skipped silently
/// (that runtime is not installed); every other failure is reported in `errors`.
pub fn discover(dirs: &[StateDir], options: &DiscoveryOptions) -> Discovery {
    let mut found = Discovery::default();
    for dir in dirs {
        let entries = match fs::read_dir(&dir.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                found.errors.push(DiscoveryError::ReadDir {
                    path: dir.path.clone(),
                    source,
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                scan_container_dir(&path, dir.format, options, &mut found, 1);
            }
        }
    }
    found
}

/// `dir` is a container's state directory, or (containerd) a namespace holding them.
fn scan_container_dir(
    dir: &Path,
    format: StateFormat,
    options: &DiscoveryOptions,
    found: &mut Discovery,
    depth: u32,
) {
    let state_file = dir.join(match format {
        StateFormat::Berth => STATE_FILE,
        StateFormat::Runc => RUNC_STATE_FILE,
        StateFormat::Crun => CRUN_STATUS_FILE,
    });
    if !state_file.exists() {
        if depth == 1 && format == StateFormat::Runc {
            // containerd keeps one runc root per namespace.
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    if entry.path().is_dir() {
                        scan_container_dir(&entry.path(), format, options, found, depth + 1);
                    }
                }
            }
        }
        return;
    }
    let text = match read_text_lossy(&state_file) {
        Ok(text) => text,
        // Deleted between listing and reading: the container is gone.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(source) => {
            found.errors.push(DiscoveryError::ReadState {
                path: state_file,
                source,
            });
            return;
        }
    };
    let container = match format {
        StateFormat::Berth => berth::parse(&state_file, &text, options),
        StateFormat::Runc => runc::parse(&state_file, &text, options),
        StateFormat::Crun => crun::parse(dir, &state_file, &text, options),
    };
    match container {
        Ok(Some(container)) => found.containers.push(container),
        Ok(None) => {}
        Err(e) => found.errors.push(e),
    }
}

/// The text of a state or bundle file. Runtimes copy names, annotations and paths into
/// these files as given, and crun does not check that they are UTF-8: invalid bytes
/// become U+FFFD, so such a container is still reported (its label values show where
/// bytes were replaced) instead of vanishing from the exposition.
pub(crate) fn read_text_lossy(path: &Path) -> std::io::Result<String> {
    let bytes = fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Fills in the cgroup v2 directory and id of a placement (from the init process
/// when the runtime did not record them). `None` when the container's cgroups are
/// gone: it has been deleted and is not reported.
fn complete_placement(
    id: &str,
    state_file: &Path,
    mut placement: CgroupPlacement,
    pid: Option<u32>,
    options: &DiscoveryOptions,
) -> Result<Option<CgroupPlacement>, DiscoveryError> {
    // runc records only directories (`cgroup_paths`): the id label is the v2 one's path.
    if placement.relative_path.as_os_str().is_empty()
        && let Some(relative) = placement
            .v2_dir
            .as_deref()
            .and_then(|dir| dir.strip_prefix(&options.cgroup2_root).ok())
    {
        placement.relative_path = Path::new("/").join(relative);
    }
    if placement.v2_dir.is_none() {
        let relative = if !placement.relative_path.as_os_str().is_empty() {
            Some(placement.relative_path.clone())
        } else {
            pid.and_then(|pid| proc_cgroup::v2_path(pid).ok())
        };
        if let Some(relative) = relative {
            let dir = proc_cgroup::join(&options.cgroup2_root, &relative);
            if dir.is_dir() {
                placement.v2_dir = Some(dir);
            }
            if placement.relative_path.as_os_str().is_empty() {
                placement.relative_path = relative;
            }
        }
    }
    let v2_exists = placement.v2_dir.as_deref().is_some_and(Path::is_dir);
    let v1_exists = placement.v1_dirs.values().any(|d| d.is_dir());
    if !v2_exists && !v1_exists {
        tracing::debug!(container = id, state = %state_file.display(), "cgroups gone; not reported");
        return Ok(None);
    }
    if placement.v2_id.is_none()
        && let Some(dir) = placement.v2_dir.as_deref().filter(|_| v2_exists)
    {
        let id_of_dir = berth_cgroups::cgroup_id(dir).map_err(|e| DiscoveryError::Cgroup {
            id: id.to_string(),
            path: state_file.to_path_buf(),
            reason: e.to_string(),
        })?;
        placement.v2_id = Some(id_of_dir);
    }
    Ok(Some(placement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_with_invalid_utf8_still_give_their_container() {
        let state = tempfile::tempdir().expect("state dir");
        let memory = tempfile::tempdir().expect("stand-in v1 memory cgroup");
        let dir = state.path().join("c1");
        fs::create_dir(&dir).expect("mkdir");
        let mut text = br#"{"ociVersion":"1.2.0","id":"c1","status":"running","bundle":"/b","created":"2026-01-02T03:04:05Z","annotations":{"berth.name":"web"#.to_vec();
        text.extend_from_slice(b"\xff\xc3(");
        text.extend_from_slice(br#"","berth.image":"img\"\n"},"cgroup":{"relativePath":"/berth/c1","v1Dirs":{"memory":"#);
        text.extend_from_slice(
            serde_json::to_string(&memory.path())
                .expect("path as JSON")
                .as_bytes(),
        );
        text.extend_from_slice(b"}}}");
        fs::write(dir.join("state.json"), &text).expect("writing state.json");
        let options = DiscoveryOptions {
            label_allowlist: Vec::new(),
            cgroup2_root: state.path().join("no-cgroup2"),
        };
        let found = discover(
            &[StateDir {
                path: state.path().to_path_buf(),
                format: StateFormat::Berth,
            }],
            &options,
        );
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        assert_eq!(found.containers.len(), 1);
        assert_eq!(found.containers[0].name, "web\u{fffd}\u{fffd}(");
        assert_eq!(found.containers[0].image, "img\"\n");
    }
}
