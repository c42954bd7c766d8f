//! The cgroup v2 hierarchy: where it is mounted and the id of a cgroup in it.
//!
//! On hybrid hosts it is `/sys/fs/cgroup/unified`, on pure v2 hosts `/sys/fs/cgroup`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::Error;

/// The mount point of the cgroup2 filesystem, from `/proc/self/mountinfo`.
pub fn mount_point() -> Result<PathBuf, Error> {
    let path = Path::new("/proc/self/mountinfo");
    let text = fs::read_to_string(path).map_err(|source| Error::Cgroup {
        operation: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    find_cgroup2(&text).ok_or(Error::NoCgroup2)
}

/// The first cgroup2 mount point in mountinfo text.
fn find_cgroup2(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> ..."
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// The id of the cgroup v2 directory `dir`: its inode number, which is what
/// `bpf_get_current_cgroup_id()` returns for tasks inside it.
pub fn cgroup_id(dir: &Path) -> Result<u64, Error> {
    fs::metadata(dir)
        .map(|meta| meta.ino())
        .map_err(|source| Error::Cgroup {
            operation: "reading the id of cgroup",
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_hierarchy_on_a_hybrid_host() {
        let mountinfo = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
";
        assert_eq!(
            find_cgroup2(mountinfo),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(find_cgroup2("1 0 0:1 / / rw - ext4 /dev/sda rw\n"), None);
    }
}
