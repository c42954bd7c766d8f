//! Where the engine keeps things. Every path is a flag and an environment variable (named
//! as podman names them), so tests and a second engine never touch the defaults.
//!
//! - `root` (`--root`, `BERTH_ROOT`, default `/var/lib/berth`): what survives a reboot:
//!   `images/`, `layers/`, `containers/<id>/`, `volumes/`, `networks/`, `cni/`.
//! - `runroot` (`--runroot`, `BERTH_RUNROOT`, default `/run/berth`): what a reboot should
//!   forget: monitor pid files, attach sockets, network namespace mounts.
//! - `runtime_root` (`--runtime-root`, `BERTH_RUNTIME_ROOT`, default `<runroot>/runtime`):
//!   the OCI runtime's own state directory (its `--root`).
//! - `runtime` (`--runtime`, `BERTH_RUNTIME`, default `berth-runtime` from `PATH`): the
//!   OCI runtime binary (runc and crun take the same command line).

use std::path::{Path, PathBuf};

/// The default engine store root.
pub const DEFAULT_ROOT: &str = "/var/lib/berth";
/// The default directory for state a reboot forgets.
pub const DEFAULT_RUNROOT: &str = "/run/berth";
/// The OCI runtime used when none is named.
pub const DEFAULT_RUNTIME: &str = "berth-runtime";

/// The engine's directories and its OCI runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePaths {
    pub root: PathBuf,
    pub runroot: PathBuf,
    pub runtime_root: PathBuf,
    pub runtime: PathBuf,
}

impl StorePaths {
    /// Paths from the given overrides, each falling back to its default;
    /// `runtime_root` defaults to `<runroot>/runtime`.
    pub fn new(
        root: Option<PathBuf>,
        runroot: Option<PathBuf>,
        runtime_root: Option<PathBuf>,
        runtime: Option<PathBuf>,
    ) -> Self {
        let root = root.unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        let runroot = runroot.unwrap_or_else(|| PathBuf::from(DEFAULT_RUNROOT));
        let runtime_root = runtime_root.unwrap_or_else(|| runroot.join("runtime"));
        let runtime = runtime.unwrap_or_else(|| PathBuf::from(DEFAULT_RUNTIME));
        Self {
            root,
            runroot,
            runtime_root,
            runtime,
        }
    }

    /// `<root>/containers/<id>`: the container's record, log, exit file, upper dir.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    /// `<runroot>/containers/<id>`: the monitor's pid file and the attach socket.
    pub fn container_run_dir(&self, id: &str) -> PathBuf {
        self.runroot.join("containers").join(id)
    }

    /// `<root>/volumes`.
    pub fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }

    /// `<root>/networks`: one `<name>.json` per network.
    pub fn networks_dir(&self) -> PathBuf {
        self.root.join("networks")
    }

    /// `<root>/cni`: berth-netplug's attachment records and IP leases.
    pub fn cni_state_dir(&self) -> PathBuf {
        self.root.join("cni")
    }

    /// The store root (for berth-images, which keeps `images/` and `layers/` under it).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_root_follows_runroot_unless_given() {
        let p = StorePaths::new(None, Some("/tmp/r".into()), None, None);
        assert_eq!(p.runtime_root, PathBuf::from("/tmp/r/runtime"));
        assert_eq!(p.root, PathBuf::from(DEFAULT_ROOT));
        let p = StorePaths::new(None, Some("/tmp/r".into()), Some("/x".into()), None);
        assert_eq!(p.runtime_root, PathBuf::from("/x"));
    }
}
