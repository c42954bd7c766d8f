//! A throwaway berth engine store for end-to-end tests of the `berth` command: temp
//! `--root`, `--runroot` and `--runtime-root`, the workspace's berth-runtime, the busybox
//! fixture image loaded as `busybox`, and on drop every container removed (`rm -f`)
//! before the directories go.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{bin, busybox_fixture, output_via_files};

/// One engine store.
pub struct Engine {
    pub root: tempfile::TempDir,
    pub runroot: tempfile::TempDir,
    pub runtime_root: tempfile::TempDir,
    /// The OCI runtime binary (`--runtime`): the workspace's berth-runtime unless
    /// [`Engine::with_runtime`] names a peer.
    pub runtime: PathBuf,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An empty store (no image).
    pub fn empty() -> Self {
        let temp = |prefix: &str, dir: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in(dir)
                .expect("temp dir")
        };
        Self {
            root: temp("berth-root-", "/var/tmp"),
            runroot: temp("berth-run-", "/run"),
            runtime_root: temp("berth-rtroot-", "/run"),
            runtime: bin("berth-runtime"),
        }
    }

    /// A store with the busybox fixture image (tests/fixtures.sh's OCI layout) loaded
    /// and tagged `busybox`.
    pub fn new() -> Self {
        let e = Self::empty();
        let archive = busybox_fixture().join("oci-image.tar");
        e.ok(&["load", "-i", &archive.display().to_string()]);
        e.ok(&["tag", "berth-busybox:test", "busybox"]);
        e
    }

    /// The same store driving another OCI runtime (runc, crun): the containers this
    /// engine creates record it.
    pub fn with_runtime(mut self, runtime: PathBuf) -> Self {
        self.runtime = runtime;
        self
    }

    /// `berth` with this store's flags and its OCI runtime.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin("berth"));
        c.arg("--root")
            .arg(self.root.path())
            .arg("--runroot")
            .arg(self.runroot.path())
            .arg("--runtime-root")
            .arg(self.runtime_root.path())
            .arg("--runtime")
            .arg(&self.runtime);
        c
    }

    /// Runs `berth args`, stdout and stderr captured through files (a process that
    /// inherits a pipe cannot keep the test waiting).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        output_via_files(cmd)
    }

    /// Runs `berth args`, asserting success; its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The container directory of `id` (a full id).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.path().join("containers").join(id)
    }

    /// What a removed container `id` could have left behind: its cgroups on every
    /// hierarchy, mounts under this store, its directories, its runtime state, its host
    /// veth, netns and network endpoint. Empty when nothing leaked.
    pub fn leaks(&self, id: &str) -> Vec<String> {
        let mut found = Vec::new();
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in controllers.flatten() {
                let dir = c.path().join("berth").join(id);
                if dir.exists() {
                    found.push(format!("cgroup {}", dir.display()));
                }
            }
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for root in [self.root.path(), self.runroot.path()] {
            let r = root.display().to_string();
            found.extend(
                mountinfo
                    .lines()
                    .filter(|l| l.contains(&r) && l.contains(id))
                    .map(|l| format!("mount {l}")),
            );
        }
        for p in [
            self.container_dir(id),
            self.runroot.path().join("containers").join(id),
            self.runtime_root.path().join(id),
        ] {
            if p.exists() {
                found.push(format!("path {}", p.display()));
            }
        }
        // Its network: host veth, netns file and mount, endpoint on any of the store's
        // networks (the address is gone with the record, so leases and nftables
        // elements are for the network tests, which know it).
        for net in crate::engine_network::networks(self.root.path()) {
            for left in crate::engine_network::leftovers(
                self.root.path(),
                self.runroot.path(),
                &net,
                id,
                None,
            ) {
                if !found.contains(&left) {
                    found.push(left);
                }
            }
        }
        found
    }

    /// Every container id in the store (`ps -aq --no-trunc`).
    pub fn all_ids(&self) -> Vec<String> {
        self.ok(&["ps", "-aq", "--no-trunc"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let out = self.run(&["ps", "-aq", "--no-trunc"]);
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.run(&args);
        }
        crate::engine_network::teardown(self.root.path(), self.runroot.path());
    }
}
