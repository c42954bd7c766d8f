//! The cgroup v2 hierarchy as BPF sees it: where it is mounted and a cgroup's id there.
//!
//! The one place berth answers "which cgroup2 mount" and "what id does this cgroup have":
//! the runtime records the id in state, the exporter keys BPF maps by it, the probes
//! attach cgroup programs at the root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::CgroupError;
use crate::layout::hierarchies;

/// The cgroup2 mount: `/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified` on a
/// hybrid one.
///
/// # Errors
/// [`CgroupError::Layout`] on a pure v1 host (no cgroup2 mount), or when the hierarchies
/// cannot be read.
pub fn cgroup2_root() -> Result<PathBuf, CgroupError> {
    hierarchies()?
        .v2_root
        .clone()
        .ok_or_else(|| CgroupError::Layout("this host has no cgroup2 hierarchy".into()))
}

/// The id of the cgroup v2 directory `dir`: its inode number, which is what
/// `bpf_get_current_cgroup_id()` returns for tasks inside it (and the cgroup's file
/// handle, `name_to_handle_at`).
///
/// # Errors
/// [`CgroupError::Io`] naming `dir` when it cannot be stat'ed (e.g. removed).
pub fn cgroup_id(dir: &Path) -> Result<u64, CgroupError> {
    std::fs::metadata(dir)
        .map(|m| m.ino())
        .map_err(|e| CgroupError::io("reading the id of cgroup", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_cgroups_id_is_its_inode() {
        let Ok(root) = cgroup2_root() else {
            return; // a pure v1 host: nothing to identify
        };
        let id = cgroup_id(&root).expect("id of the cgroup2 root");
        assert_eq!(id, std::fs::metadata(&root).expect("stat").ino());
        assert!(cgroup_id(&root.join("no-such-cgroup-berth")).is_err());
    }
}
