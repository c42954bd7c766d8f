//! Which cgroup hierarchies this host has and where they are mounted.
//!
//! Detection is statfs-based: `/sys/fs/cgroup` itself a cgroup2 mount is pure v2; a tmpfs
//! there with cgroup2 at `/sys/fs/cgroup/unified` is hybrid; otherwise v1. Every root used
//! for writing is statfs-checked, because `/sys/fs/cgroup` is a writable tmpfs on hybrid
//! and v1 hosts: a write outside a real cgroup mount would silently create plain files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, statfs};
use serde::Serialize;

use crate::CgroupError;

/// Where the cgroup filesystems are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The cgroup2 mount point on hybrid hosts.
pub const HYBRID_UNIFIED_ROOT: &str = "/sys/fs/cgroup/unified";

/// The cgroup layout of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Pure cgroup v2 at `/sys/fs/cgroup`: every controller in one hierarchy.
    V2,
    /// v1 controllers at `/sys/fs/cgroup/<controller>` plus a cgroup2 mount at
    /// `/sys/fs/cgroup/unified` (which holds few or no controllers).
    Hybrid,
    /// v1 controllers only.
    V1,
}

/// Detects the layout of this host's cgroup filesystems.
pub fn detect_layout() -> Result<Layout, CgroupError> {
    if is_cgroup2(Path::new(CGROUP_ROOT))? {
        return Ok(Layout::V2);
    }
    if is_cgroup2(Path::new(HYBRID_UNIFIED_ROOT))? {
        return Ok(Layout::Hybrid);
    }
    Ok(Layout::V1)
}

/// Whether `path` is on a cgroup2 filesystem (absent counts as no).
fn is_cgroup2(path: &Path) -> Result<bool, CgroupError> {
    match statfs(path) {
        Ok(st) => Ok(st.filesystem_type() == CGROUP2_SUPER_MAGIC),
        Err(nix::errno::Errno::ENOENT) => Ok(false),
        Err(e) => Err(CgroupError::io("statfs", path, e.into())),
    }
}

/// Fails unless `root` is a cgroup filesystem of the expected version.
pub(crate) fn check_cgroup_fs(root: &Path, v2: bool) -> Result<(), CgroupError> {
    let st = statfs(root).map_err(|e| CgroupError::io("statfs", root, e.into()))?;
    let want = if v2 {
        CGROUP2_SUPER_MAGIC
    } else {
        CGROUP_SUPER_MAGIC
    };
    if st.filesystem_type() == want {
        Ok(())
    } else {
        Err(CgroupError::Layout(format!(
            "{} is not a cgroup{} filesystem (refusing to write there)",
            root.display(),
            if v2 { "2" } else { " v1" }
        )))
    }
}

/// One mounted v1 hierarchy: its root and the controllers (or `name=...`) bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V1Mount {
    /// The mount point, e.g. `/sys/fs/cgroup/memory`.
    pub root: PathBuf,
    /// Controller names, e.g. `["cpu", "cpuacct"]`, or `["name=systemd"]`.
    pub controllers: Vec<String>,
}

/// All hierarchies of the host, discovered once per process.
#[derive(Debug, Clone)]
pub(crate) struct Hierarchies {
    pub layout: Layout,
    /// The cgroup2 root: `/sys/fs/cgroup` (v2) or `/sys/fs/cgroup/unified` (hybrid).
    pub v2_root: Option<PathBuf>,
    /// The v1 hierarchies (empty on pure v2).
    pub v1: Vec<V1Mount>,
}

/// The host's hierarchies (cached after the first successful discovery).
pub(crate) fn hierarchies() -> Result<&'static Hierarchies, CgroupError> {
    static CELL: OnceLock<Hierarchies> = OnceLock::new();
    if let Some(h) = CELL.get() {
        return Ok(h);
    }
    let found = discover()?;
    Ok(CELL.get_or_init(|| found))
}

fn discover() -> Result<Hierarchies, CgroupError> {
    let layout = detect_layout()?;
    let v2_root = match layout {
        Layout::V2 => Some(PathBuf::from(CGROUP_ROOT)),
        Layout::Hybrid => Some(PathBuf::from(HYBRID_UNIFIED_ROOT)),
        Layout::V1 => None,
    };
    let v1 = if layout == Layout::V2 {
        Vec::new()
    } else {
        let path = Path::new("/proc/self/mountinfo");
        let text =
            std::fs::read_to_string(path).map_err(|e| CgroupError::io("reading", path, e))?;
        parse_v1_mounts(&text)
            .into_iter()
            .filter(|m| check_cgroup_fs(&m.root, false).is_ok())
            .collect()
    };
    if v2_root.is_none() && v1.is_empty() {
        return Err(CgroupError::Layout(format!(
            "no cgroup filesystem mounted under {CGROUP_ROOT}"
        )));
    }
    tracing::debug!(
        ?layout,
        ?v2_root,
        v1 = v1.len(),
        "cgroup hierarchies discovered"
    );
    Ok(Hierarchies {
        layout,
        v2_root,
        v1,
    })
}

/// The v1 hierarchies in a `/proc/self/mountinfo` text: mounts of type `cgroup` under
/// `/sys/fs/cgroup` whose root is `/` (the first mount of each hierarchy wins).
pub(crate) fn parse_v1_mounts(mountinfo: &str) -> Vec<V1Mount> {
    let mut mounts: Vec<V1Mount> = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        let (Some(root), Some(mount_point), Some(fstype), Some(opts)) =
            (pre.get(3), pre.get(4), post.first(), post.get(2))
        else {
            continue;
        };
        if *fstype != "cgroup" || *root != "/" || !mount_point.starts_with(CGROUP_ROOT) {
            continue;
        }
        let controllers: Vec<String> = opts
            .split(',')
            .filter(|o| is_v1_controller(o) || o.starts_with("name="))
            .map(str::to_owned)
            .collect();
        if controllers.is_empty() || mounts.iter().any(|m| m.controllers == controllers) {
            continue;
        }
        mounts.push(V1Mount {
            root: PathBuf::from(mount_point),
            controllers,
        });
    }
    mounts
}

fn is_v1_controller(name: &str) -> bool {
    matches!(
        name,
        "cpu"
            | "cpuacct"
            | "cpuset"
            | "memory"
            | "devices"
            | "freezer"
            | "net_cls"
            | "net_prio"
            | "blkio"
            | "perf_event"
            | "hugetlb"
            | "pids"
            | "rdma"
            | "misc"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_MOUNTINFO: &str = include_str!("../tests/data/hybrid/mountinfo");

    #[test]
    fn finds_every_v1_hierarchy_of_the_hybrid_host() {
        let mounts = parse_v1_mounts(HOST_MOUNTINFO);
        let names: Vec<String> = mounts.iter().map(|m| m.controllers.join(",")).collect();
        for c in [
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        ] {
            assert!(names.iter().any(|n| n == c), "{c} missing from {names:?}");
        }
        assert!(names.iter().any(|n| n == "name=systemd"));
        let memory = mounts.iter().find(|m| m.controllers == ["memory"]);
        assert_eq!(
            memory.map(|m| m.root.as_path()),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
    }

    #[test]
    fn refuses_to_treat_a_plain_directory_as_a_hierarchy() {
        let tmp = std::env::temp_dir();
        for v2 in [false, true] {
            let err = check_cgroup_fs(&tmp, v2).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("refusing to write")),
                "{}",
                tmp.display()
            );
        }
    }

    #[test]
    fn co_mounted_controllers_share_one_hierarchy() {
        let line =
            "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n";
        let mounts = parse_v1_mounts(line);
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].controllers, ["cpu", "cpuacct"]);
    }
}
