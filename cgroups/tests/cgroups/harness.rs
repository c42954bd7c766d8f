//! Shared by the real-cgroup tests: a cgroup made by the library under test that
//! removes itself through it, and children that join it before they run their workload.
//! The root check and unique names are berth-testkit's; its `TestCgroup` is for tests
//! of other crates, made without this library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_cgroups::oci_spec::runtime::LinuxResources;
use berth_cgroups::{CgroupPlacement, resolve_path};
use berth_testkit::ids::unique_name;

pub const BUSYBOX: &str = "/bin/busybox";

/// The placement of a cgroup `/berth/test-<name>-<pid>-<n>`, made by
/// [`CgroupPlacement::create`]; killed and removed on drop, even on panic.
pub struct TestPlacement {
    pub placement: CgroupPlacement,
    children: Vec<Child>,
}

impl TestPlacement {
    pub fn new(name: &str) -> Self {
        let id = unique_name(name);
        let path = resolve_path(None, &id).expect("resolving a test cgroup path");
        let placement = CgroupPlacement::create(&path).expect("creating a test cgroup");
        Self {
            placement,
            children: Vec::new(),
        }
    }

    /// Starts `/bin/busybox sh -c SCRIPT` inside this cgroup: the shell waits on stdin
    /// until it has been moved in, so the workload never runs outside.
    pub fn spawn(&mut self, script: &str) -> u32 {
        let mut child = Command::new(BUSYBOX)
            .args(["sh", "-c", &format!("read _go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning busybox sh");
        let pid = child.id();
        self.placement
            .add_process(pid as i32)
            .expect("moving the child into the cgroup");
        let mut stdin = child.stdin.take().expect("child stdin");
        stdin.write_all(b"go\n").expect("releasing the child");
        self.children.push(child);
        pid
    }

    /// Waits for the child `pid` (up to `timeout`); its exit status and output.
    pub fn wait(
        &mut self,
        pid: u32,
        timeout: Duration,
    ) -> (std::process::ExitStatus, String, String) {
        let idx = self
            .children
            .iter()
            .position(|c| c.id() == pid)
            .expect("unknown child");
        let deadline = Instant::now() + timeout;
        loop {
            if self.children[idx]
                .try_wait()
                .expect("waiting for child")
                .is_some()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "child {pid} still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let child = self.children.remove(idx);
        let out = child.wait_with_output().expect("collecting child output");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn apply(&self, json: &str) -> Result<(), berth_cgroups::CgroupError> {
        self.placement.apply(&resources(json))
    }

    pub fn v1_or_v2_dir(&self, v1_controller: &str) -> PathBuf {
        self.placement
            .v1_dirs
            .get(v1_controller)
            .cloned()
            .or_else(|| self.placement.v2_dir.clone())
            .expect("a cgroup directory")
    }
}

impl Drop for TestPlacement {
    fn drop(&mut self) {
        let p = &self.placement;
        if p.is_frozen().unwrap_or(false) {
            let _ = p.thaw();
        }
        let _ = p.kill_all(libc::SIGKILL);
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = p.wait_empty(Duration::from_secs(5));
        if let Err(e) = p.remove() {
            // Never leave a cgroup behind silently.
            if !std::thread::panicking() {
                panic!("removing test cgroup: {e}");
            }
        }
        for dir in p.dirs() {
            assert!(
                std::thread::panicking() || !dir.exists(),
                "{} left behind",
                dir.display()
            );
        }
    }
}

pub fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test resources {json}: {e}"))
}

pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(file).display()))
        .trim()
        .to_owned()
}
