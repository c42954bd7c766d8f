//! A throw-away cgroup for one test: a directory `berth/test-<tag>-<pid>-<n>` in the
//! cgroup2 hierarchy (`/sys/fs/cgroup` on v2 hosts, `/sys/fs/cgroup/unified` on hybrid
//! ones) and, when asked, in v1 controller hierarchies; its processes killed and the
//! directories removed on drop, even when the test panics.
//!
//! Made with plain mkdir/rmdir, not with berth-cgroups, so tests of code that reads or
//! manages cgroups do not depend on that code to set up and clean up. berth-cgroups'
//! own tests create their cgroups through the library, which is what they test.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::ids::unique_name;

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// Where cgroup2 is mounted on a v2 host and on a hybrid one, in that order.
const CGROUP2_CANDIDATES: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

fn fs_magic(path: &Path) -> Option<i64> {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type().0)
        .ok()
}

/// The cgroup2 mount: `/sys/fs/cgroup` (v2) or `/sys/fs/cgroup/unified` (hybrid).
/// Panics when neither is cgroup2 (a pure v1 host: these tests need cgroup2).
pub fn cgroup2_root() -> PathBuf {
    CGROUP2_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| fs_magic(p) == Some(CGROUP2_SUPER_MAGIC))
        .unwrap_or_else(|| panic!("no cgroup2 hierarchy at any of {CGROUP2_CANDIDATES:?}"))
}

/// A cgroup created for one test under `berth/` of the v2 hierarchy and, optionally,
/// of v1 controllers; removed on drop (its processes killed first).
pub struct TestCgroup {
    /// `test-<tag>-<pid>-<n>`: the last component of every directory.
    pub name: String,
    /// The cgroup2 directory.
    pub v2_dir: PathBuf,
    /// (controller, directory) of each v1 controller asked for, in that order.
    pub v1_dirs: Vec<(String, PathBuf)>,
}

impl TestCgroup {
    /// Creates the cgroup in the v2 hierarchy and in each of `v1_controllers` (e.g.
    /// `["memory"]`; on a hybrid host). Panics when a hierarchy is missing or not a
    /// cgroup filesystem, or on mkdir errors.
    pub fn new(tag: &str, v1_controllers: &[&str]) -> Self {
        let name = unique_name(tag);
        let v2_dir = cgroup2_root().join("berth").join(&name);
        fs::create_dir_all(&v2_dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", v2_dir.display()));
        let mut cgroup = TestCgroup {
            name: name.clone(),
            v2_dir,
            v1_dirs: Vec::new(),
        };
        for controller in v1_controllers {
            let hierarchy = Path::new("/sys/fs/cgroup").join(controller);
            assert_eq!(
                fs_magic(&hierarchy),
                Some(CGROUP_SUPER_MAGIC),
                "{} is not a cgroup v1 hierarchy",
                hierarchy.display()
            );
            let dir = hierarchy.join("berth").join(&name);
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            cgroup.v1_dirs.push((controller.to_string(), dir));
        }
        cgroup
    }

    /// The cgroup's id: the inode of its v2 directory, which is what
    /// `bpf_get_current_cgroup_id()` returns for tasks inside it.
    pub fn id(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&self.v2_dir)
            .map(|m| m.ino())
            .unwrap_or_else(|e| panic!("stat {}: {e}", self.v2_dir.display()))
    }

    /// The directory in the v1 hierarchy of `controller`, if it was asked for.
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1_dirs
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }

    /// Moves `pid` into every hierarchy of this cgroup.
    pub fn add(&self, pid: u32) {
        for dir in std::iter::once(&self.v2_dir).chain(self.v1_dirs.iter().map(|(_, d)| d)) {
            let procs = dir.join("cgroup.procs");
            fs::write(&procs, pid.to_string())
                .unwrap_or_else(|e| panic!("writing {pid} to {}: {e}", procs.display()));
        }
    }

    fn kill_all(dir: &Path) {
        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill has no memory preconditions; a stale pid only fails.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }

    fn remove_dir(dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            Self::kill_all(dir);
            match fs::remove_dir(dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if Instant::now() > deadline => {
                    eprintln!("leaving cgroup {}: {e}", dir.display());
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Removes the cgroup now (as drop does): kills its processes, then removes every
    /// directory, retrying for up to 5 s each while the kernel reaps them.
    pub fn remove(&self) {
        Self::remove_dir(&self.v2_dir);
        for (_, dir) in &self.v1_dirs {
            Self::remove_dir(dir);
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;
    use crate::root::require_root;

    #[test]
    fn drop_kills_the_processes_and_removes_every_directory() {
        if !require_root() {
            return;
        }
        // The memory controller where this host has v1 hierarchies (hybrid).
        let v1: &[&str] = if Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
            &["memory"]
        } else {
            &[]
        };
        let cg = TestCgroup::new("kit-drop", v1);
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("100")
            .spawn()
            .expect("spawning sleep");
        cg.add(child.id());
        let dirs: Vec<PathBuf> = std::iter::once(cg.v2_dir.clone())
            .chain(cg.v1_dirs.iter().map(|(_, d)| d.clone()))
            .collect();
        for dir in &dirs {
            let procs = fs::read_to_string(dir.join("cgroup.procs")).expect("cgroup.procs");
            assert!(
                procs.lines().any(|l| l == child.id().to_string()),
                "{}: {procs}",
                dir.display()
            );
        }
        assert_eq!(cg.v1_dir("memory").is_some(), !v1.is_empty());
        drop(cg);
        for dir in &dirs {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
        let status = child.wait().expect("reaping sleep");
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    }
}
