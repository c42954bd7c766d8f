//! Volumes on disk: `<root>/volumes/<name>/_data` (the content, bind-mounted into
//! containers) and `<root>/volumes/<name>/volume.json` (docker's inspect fields).
//!
//! A volume is in use while some container of the store (running or not, as docker
//! counts) mounts it: its `bundle/config.json` (the OCI spec the engine writes for
//! every container) has a mount whose source is the volume's `_data`. That file is
//! the standard record of what a container mounts, so no other record is trusted.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use berth_state::Timestamp;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::paths::StorePaths;
use crate::volume::error::VolumeError;
use crate::volume::spec::{VolumeSource, VolumeSpec, validate_name};

/// The label docker puts on anonymous volumes (`rm -v` and `volume prune` remove them).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// One volume, in docker's `volume inspect` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub created_at: Timestamp,
    /// Always "local".
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    /// `<root>/volumes/<name>/_data`.
    pub mountpoint: PathBuf,
    pub name: String,
    pub options: Option<BTreeMap<String, String>>,
    /// Always "local".
    pub scope: String,
}

impl Volume {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }
}

/// What `volume prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<String>,
    /// Bytes of the files in the removed volumes' `_data`.
    pub reclaimed: u64,
}

/// The volumes of one store.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
    containers: PathBuf,
}

impl VolumeStore {
    pub fn open(paths: &StorePaths) -> Self {
        Self {
            dir: paths.volumes_dir(),
            containers: paths.root.join("containers"),
        }
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `<root>/volumes/<name>/_data`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join("_data")
    }

    /// Creates volume `name` (a random 64-hex name when None) with `labels`, or returns
    /// it as it is when it exists (docker's `volume create` is idempotent).
    ///
    /// Errors: [`VolumeError::InvalidName`], I/O on the volume's directory or record.
    pub fn create(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
    ) -> Result<Volume, VolumeError> {
        let name = match name {
            Some(n) => {
                validate_name(n)?;
                n.to_string()
            }
            None => crate::random::hex_id()
                .map_err(|e| VolumeError::io("naming a volume in", &self.dir, e))?,
        };
        let data = self.data_dir(&name);
        fs::create_dir_all(&data).map_err(|e| VolumeError::io("creating", &data, e))?;
        let record = self.volume_dir(&name).join("volume.json");
        if let Some(v) = self.load(&name)? {
            return Ok(v);
        }
        let vol = Volume {
            created_at: Timestamp::now(),
            driver: "local".into(),
            labels,
            mountpoint: data,
            name: name.clone(),
            options: None,
            scope: "local".into(),
        };
        let bytes = serde_json::to_vec_pretty(&vol).map_err(|source| VolumeError::Record {
            path: record.clone(),
            source,
        })?;
        let tmp = self
            .volume_dir(&name)
            .join(format!(".volume.json.{}", std::process::id()));
        fs::write(&tmp, bytes).map_err(|e| VolumeError::io("writing", &tmp, e))?;
        // A hard link never replaces: of two concurrent creators, the first record stays.
        let linked = fs::hard_link(&tmp, &record);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(vol),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                self.load(&name)?.ok_or(VolumeError::NotFound(name))
            }
            Err(e) => Err(VolumeError::io("writing", &record, e)),
        }
    }

    fn load(&self, name: &str) -> Result<Option<Volume>, VolumeError> {
        if validate_name(name).is_err() {
            return Ok(None);
        }
        let path = self.volume_dir(name).join("volume.json");
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|source| VolumeError::Record { path, source }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VolumeError::io("reading", &path, e)),
        }
    }

    /// Volume `name`. Errors: [`VolumeError::NotFound`], reading its record.
    pub fn inspect(&self, name: &str) -> Result<Volume, VolumeError> {
        self.load(name)?
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("listing", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| VolumeError::io("listing", &self.dir, e))?;
            if let Some(name) = entry.file_name().to_str()
                && let Some(v) = self.load(name)?
            {
                out.push(v);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The ids of the containers that use volume `name`, but `except`: those whose spec
    /// (`bundle/config.json`) mounts its `_data`, and those not prepared yet (no spec)
    /// whose record (`container.json`, `host.volumes`) names it in a `-v`.
    pub fn users(&self, name: &str, except: Option<&str>) -> Result<Vec<String>, VolumeError> {
        let data = self.data_dir(name);
        let rd = match fs::read_dir(&self.containers) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("listing", &self.containers, e)),
        };
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if Some(id.as_str()) == except {
                continue;
            }
            let uses = match read_json(&entry.path().join("bundle").join("config.json")) {
                Some(spec) => spec["mounts"].as_array().is_some_and(|mounts| {
                    mounts
                        .iter()
                        .any(|m| m["source"].as_str().map(Path::new) == Some(data.as_path()))
                }),
                None => read_json(&entry.path().join("container.json")).is_some_and(|rec| {
                    rec["host"]["volumes"].as_array().is_some_and(|flags| {
                        flags.iter().filter_map(|f| f.as_str()).any(|f| {
                            VolumeSpec::parse(f)
                                .is_ok_and(|s| s.source == VolumeSource::Named(name.to_string()))
                        })
                    })
                }),
            };
            if uses {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes volume `name` and its content, unless a container (running or not)
    /// mounts it (`except` aside: the container `rm -v` is removing).
    ///
    /// Errors: [`VolumeError::NotFound`], [`VolumeError::InUse`] naming the containers
    /// (12-digit ids), I/O.
    pub fn remove(&self, name: &str, except: Option<&str>) -> Result<(), VolumeError> {
        self.inspect(name)?;
        let dir = self.volume_dir(name);
        // The volume's lock: a first use copying into it finishes first.
        let _lock = lock_dir(&dir)?;
        let users = self.users(name, except)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users
                    .iter()
                    .map(|id| id.get(..12).unwrap_or(id))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        // Renamed away first, so the name is free (and no half-removed volume is ever
        // listed) even if the removal itself is cut short.
        let doomed = self
            .dir
            .join(format!(".removing-{name}-{}", std::process::id()));
        fs::rename(&dir, &doomed).map_err(|e| VolumeError::io("removing", &dir, e))?;
        fs::remove_dir_all(&doomed).map_err(|e| VolumeError::io("removing", &doomed, e))
    }

    /// Removes the volumes no container uses: anonymous ones only, or every unused one
    /// with `all` (docker 23's `volume prune` and `prune -a`).
    pub fn prune(&self, all: bool) -> Result<PruneReport, VolumeError> {
        let mut report = PruneReport::default();
        for v in self.list()? {
            if !(all || v.is_anonymous()) || !self.users(&v.name, None)?.is_empty() {
                continue;
            }
            let size = disk_usage(&self.data_dir(&v.name));
            match self.remove(&v.name, None) {
                Ok(()) => {
                    report.reclaimed += size;
                    report.removed.push(v.name);
                }
                // Taken into use meanwhile: not prunable any more.
                Err(VolumeError::InUse { .. }) | Err(VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// `rm -v`: removes the anonymous volumes among `mounts` (a removed container's
    /// spec mounts) that no other container uses; returns their names. Named volumes
    /// and binds stay.
    pub fn remove_anonymous(
        &self,
        mounts: &[oci_spec::runtime::Mount],
        container_id: &str,
    ) -> Result<Vec<String>, VolumeError> {
        let mut removed = Vec::new();
        for m in mounts {
            let Some(name) = m.source().as_deref().and_then(|s| self.volume_of(s)) else {
                continue;
            };
            let Some(v) = self.load(&name)? else {
                continue;
            };
            if !v.is_anonymous() {
                continue;
            }
            match self.remove(&name, Some(container_id)) {
                Ok(()) => removed.push(name),
                Err(VolumeError::InUse { .. }) | Err(VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// `rm -v` (and `run --rm`, as docker does) of container `id`: its anonymous volumes,
    /// read from the mounts of its `bundle/config.json`, removed unless another container
    /// uses them. Call before the container's directory goes. Ok(empty) when the
    /// container has no spec (never prepared).
    pub fn remove_anonymous_of(&self, id: &str) -> Result<Vec<String>, VolumeError> {
        let mounts = self.spec_mounts(id)?;
        self.remove_anonymous(&mounts, id)
    }

    /// The mounts of container `id`'s `bundle/config.json`; empty when it has none yet.
    pub fn spec_mounts(&self, id: &str) -> Result<Vec<oci_spec::runtime::Mount>, VolumeError> {
        let spec = self.containers.join(id).join("bundle").join("config.json");
        let bytes = match fs::read(&spec) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("reading", &spec, e)),
        };
        #[derive(Deserialize)]
        struct Mounts {
            #[serde(default)]
            mounts: Vec<oci_spec::runtime::Mount>,
        }
        let m: Mounts = serde_json::from_slice(&bytes)
            .map_err(|source| VolumeError::Record { path: spec, source })?;
        Ok(m.mounts)
    }

    /// The volume whose `_data` is `source`, if any.
    pub(crate) fn volume_of(&self, source: &Path) -> Option<String> {
        let rest = source.strip_prefix(&self.dir).ok()?;
        let mut parts = rest.components();
        let name = parts.next()?.as_os_str().to_str()?.to_string();
        (parts.next()?.as_os_str() == "_data" && parts.next().is_none()).then_some(name)
    }

    /// Holds volume `name`'s lock (for a first use that may copy into it).
    pub(crate) fn lock(&self, name: &str) -> Result<Flock<fs::File>, VolumeError> {
        lock_dir(&self.volume_dir(name))
    }
}

/// An exclusive flock on directory `dir` itself.
fn lock_dir(dir: &Path) -> Result<Flock<fs::File>, VolumeError> {
    let f = fs::File::open(dir).map_err(|e| VolumeError::io("opening", dir, e))?;
    debug_assert!(f.as_raw_fd() >= 0);
    Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| VolumeError::io("locking", dir, std::io::Error::from(e)))
}

/// A JSON file's content; None when it is missing or does not parse (logged).
fn read_json(path: &Path) -> Option<serde_json::Value> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes)
        .inspect_err(|e| tracing::warn!(path = %path.display(), error = %e, "skipping"))
        .ok()
}

/// Bytes of the regular files under `dir` (symlinks not followed).
fn disk_usage(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => disk_usage(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
