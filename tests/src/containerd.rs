//! A private containerd for tests that drive berth through it: its own root, state,
//! sockets and config in a temp dir under /run, stopped (with whatever it left mounted
//! there unmounted) on drop. Callers add the plugin config they test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running containerd whose client namespace is `namespace` (`ctr` calls use it).
pub struct Containerd {
    pub dir: tempfile::TempDir,
    daemon: Child,
    pub namespace: String,
}

impl Containerd {
    /// Starts containerd with a config of `version = 2`, its root, state and sockets
    /// in a fresh temp dir, and `extra` (top-level keys first, then plugin tables)
    /// written by `extra(dir)`; waits until it answers `ctr version`.
    pub fn start(namespace: &str, extra: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-containerd-")
            .tempdir_in("/run")
            .expect("tempdir");
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n{extra}\n\
             [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
            extra = extra(d),
        );
        std::fs::write(d.join("config.toml"), config).expect("config.toml");
        let log = std::fs::File::create(d.join("containerd.log")).expect("log");
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("containerd is not installed (scripts/install-deps.sh installs it)");
        let c = Containerd {
            dir,
            daemon,
            namespace: namespace.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.ctr(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "containerd did not come up: {}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// What containerd logged so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(["--namespace", &self.namespace])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawning ctr")
    }

    /// Imports an OCI image archive (tests/fixtures.sh builds them) into the namespace.
    pub fn import(&self, archive: &Path) {
        let out = self.ctr(&["images", "import", archive.to_str().expect("utf-8 path")]);
        assert!(
            out.status.success(),
            "ctr images import {}: {}",
            archive.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Mount points at or below the temp dir, from /proc/self/mountinfo: for leak checks.
    pub fn mounts_left(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&dir))
            .map(str::to_owned)
            .collect()
    }

    fn listed(&self, what: &str) -> Vec<String> {
        let out = self.ctr(&[what, "ls", "-q"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // A test that failed half way leaves its tasks: they go first, so their shims
        // exit and their mounts go with them.
        for task in self.listed("tasks") {
            let _ = self.ctr(&["tasks", "kill", "--signal", "KILL", &task]);
            let _ = self.ctr(&["tasks", "delete", "--force", &task]);
        }
        for container in self.listed("containers") {
            let _ = self.ctr(&["containers", "delete", &container]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.daemon.wait();
        // Anything still mounted under the temp dir (snapshots, a pod's shm or netns)
        // is unmounted so the dir can go.
        for m in self.mounts_left().iter().rev() {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        // The runc shim keeps runtime state per namespace here unless its options name a
        // Root; only a namespace of the test's own (unique_id) is the test's to remove.
        if self.namespace.starts_with("berth-") {
            let _ =
                std::fs::remove_dir_all(Path::new("/run/containerd/runc").join(&self.namespace));
        }
    }
}
