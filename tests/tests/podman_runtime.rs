//! podman drives berth-runtime as its OCI runtime (`--runtime`), unchanged: the drop-in
//! claim checked with a real client. Private storage, config and cgroup parent per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_testkit::tools::require_tool;
use berth_tests::{bin, busybox_fixture, require_root, unique_id};

struct Podman {
    dir: tempfile::TempDir,
    cgroup_parent: String,
    runtime: PathBuf,
}

impl Podman {
    fn new() -> Option<Self> {
        require_tool("podman", "podman");
        let p = Podman {
            dir: tempfile::Builder::new()
                .prefix("berth-podman-")
                .tempdir_in("/var/tmp")
                .expect("tempdir"),
            cgroup_parent: format!("/berth/{}", unique_id("podman")),
            runtime: bin("berth-runtime"),
        };
        // Our own config: nothing from the host's containers.conf leaks into the test.
        std::fs::write(
            p.dir.path().join("containers.conf"),
            "[engine]\nevents_logger = \"file\"\n",
        )
        .expect("containers.conf");
        let tar = busybox_fixture().join("rootfs.tar");
        let out = p.podman(&[
            "import",
            tar.to_str().expect("utf-8"),
            "localhost/berth-busybox:test",
        ]);
        assert!(
            out.status.success(),
            "podman import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(p)
    }

    fn podman(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        Command::new("podman")
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(&self.runtime)
            .args(args)
            .env("CONTAINERS_CONF", d.join("containers.conf"))
            .stdin(Stdio::null())
            .output()
            .expect("spawning podman")
    }

    /// `podman run` with this host's limits (the defaults exceed its hard nofile).
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut args = vec![
            "run",
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
            "--cgroup-parent",
            &self.cgroup_parent,
        ];
        args.extend_from_slice(extra);
        args.push("localhost/berth-busybox:test");
        args.extend_from_slice(cmd);
        self.podman(&args)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        // conmon's cgroup and the parent podman made under our /berth/<name>.
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let parent = hierarchy
                .path()
                .join(self.cgroup_parent.trim_start_matches('/'));
            remove_cgroup_tree(&parent);
        }
        let _ = std::fs::remove_dir_all(self.dir.path().join("root"));
    }
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn podman_runs_containers_through_berth_runtime() {
    if !require_root() {
        return;
    }
    let Some(p) = Podman::new() else { return };

    let out = p.run(&["--rm"], &["echo", "hello from podman"]);
    assert!(out.status.success(), "podman run: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from podman\n");

    let out = p.run(&["--rm"], &["sh", "-c", "exit 5"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "exit code through podman: {}",
        text(&out.stderr)
    );

    // -t: podman's conmon hands berth a console socket.
    let out = p.run(&["--rm", "-t"], &["sh", "-c", "tty; echo tty-ok"]);
    assert!(out.status.success(), "podman run -t: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("/dev/pts/0") && text(&out.stdout).contains("tty-ok"),
        "{}",
        text(&out.stdout)
    );

    // -d, ps, stop (TERM ignored by a pid-1 sleep, then KILL), rm.
    let out = p.run(&["-d"], &["sleep", "1000"]);
    assert!(out.status.success(), "podman run -d: {}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    let ps = p.podman(&["ps", "--format", "{{.ID}} {{.Status}}"]);
    assert!(
        text(&ps.stdout).contains(&id[..12]) && text(&ps.stdout).contains("Up"),
        "ps: {}",
        text(&ps.stdout)
    );
    let stop = p.podman(&["stop", "--time", "1", &id]);
    assert!(stop.status.success(), "podman stop: {}", text(&stop.stderr));
    let ps = p.podman(&["ps", "-a", "--format", "{{.ID}} {{.Status}}"]);
    assert!(
        text(&ps.stdout).contains("Exited (137)"),
        "ps -a: {}",
        text(&ps.stdout)
    );
    let rm = p.podman(&["rm", &id]);
    assert!(rm.status.success(), "podman rm: {}", text(&rm.stderr));

    // Nothing of the containers stays in the cgroup parent but conmon's.
    let leftover: Vec<_> = std::fs::read_dir(format!("/sys/fs/cgroup/pids{}", p.cgroup_parent))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "conmon")
        .map(|e| e.path())
        .collect();
    assert!(leftover.is_empty(), "container cgroups left: {leftover:?}");
}

/// What podman leaves to the runtime, filled in as runc does: HOME from the image's
/// passwd (or `/`), and `--tmpfs` (podman's default `tmpcopyup`) starting with the
/// image's files and keeping the directory's mode.
#[test]
fn podman_gets_runcs_process_and_tmpfs_defaults() {
    if !require_root() {
        return;
    }
    let Some(p) = Podman::new() else { return };
    let script = "echo \"$HOME\"; ls /home; stat -c %a /home";
    for (user, home) in [("0", "/root"), ("1000", "/home/user"), ("1234", "/")] {
        let out = p.run(
            &["--rm", "--user", user, "--tmpfs", "/home"],
            &["sh", "-c", script],
        );
        assert!(out.status.success(), "user {user}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{home}\nuser\n755\n"),
            "user {user}"
        );
    }
}
