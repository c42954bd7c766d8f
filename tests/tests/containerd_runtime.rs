//! containerd's runc shim (containerd-shim-runc-v2) drives berth-runtime through
//! `ctr run --runc-binary`: the drop-in claim checked with the client most clusters use.
//! A private containerd (own root, state, socket) is started and stopped by the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::{bin, busybox_fixture, require_root, unique_id};

struct Containerd {
    dir: tempfile::TempDir,
    daemon: Child,
    namespace: String,
}

impl Containerd {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-containerd-")
            .tempdir_in("/run")
            .expect("tempdir");
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
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
            namespace: unique_id("berth-test"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.ctr(&["version"]).status.success() {
            assert!(Instant::now() < deadline, "containerd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(["--namespace", &self.namespace])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawning ctr")
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for task in ["c-echo", "c-exit", "c-detached"] {
            let _ = self.ctr(&["tasks", "kill", "--signal", "KILL", task]);
            let _ = self.ctr(&["tasks", "delete", "--force", task]);
            let _ = self.ctr(&["containers", "delete", task]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.daemon.wait();
        // The snapshotter's mounts die with their tasks; anything left is unmounted so
        // the temp dir can go.
        let root = self.dir.path().join("root");
        let _ = Command::new("umount").arg("-R").arg(&root).status();
        // The shim keeps runc state per namespace here.
        let _ = std::fs::remove_dir_all(Path::new("/run/containerd/runc").join(&self.namespace));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn containerd_shim_runs_tasks_through_berth_runtime() {
    if !require_root() {
        return;
    }
    let c = Containerd::start();
    let image = busybox_fixture().join("oci-image.tar");
    let out = c.ctr(&["images", "import", image.to_str().expect("utf-8")]);
    assert!(out.status.success(), "ctr import: {}", text(&out.stderr));
    let runtime = bin("berth-runtime");
    let runtime = runtime.to_str().expect("utf-8");
    let img = "docker.io/library/berth-busybox:test";
    let cg = |name: &str| format!("/berth/{}-{name}", c.namespace);

    let out = c.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        runtime,
        "--cgroup",
        &cg("echo"),
        img,
        "c-echo",
        "echo",
        "hello from containerd",
    ]);
    assert!(out.status.success(), "ctr run: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from containerd\n");

    let out = c.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        runtime,
        "--cgroup",
        &cg("exit"),
        img,
        "c-exit",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "exit code through the shim: {}",
        text(&out.stderr)
    );

    let out = c.ctr(&[
        "run",
        "-d",
        "--runc-binary",
        runtime,
        "--cgroup",
        &cg("detached"),
        img,
        "c-detached",
        "sleep",
        "1000",
    ]);
    assert!(out.status.success(), "ctr run -d: {}", text(&out.stderr));
    let tasks = text(&c.ctr(&["tasks", "ls"]).stdout);
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with("c-detached") && l.contains("RUNNING")),
        "tasks: {tasks}"
    );
    // The shim asks berth-runtime for the state; containerd sees the real pid.
    let pid: i32 = tasks
        .lines()
        .find(|l| l.starts_with("c-detached"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .expect("task pid");
    assert!(std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p.ends_with("busybox")));
    assert!(
        c.ctr(&["tasks", "kill", "--signal", "KILL", "c-detached"])
            .status
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&c.ctr(&["tasks", "ls"]).stdout).contains("STOPPED") {
        assert!(Instant::now() < deadline, "task never stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(c.ctr(&["tasks", "delete", "c-detached"]).status.success());
    assert!(
        c.ctr(&["containers", "delete", "c-detached"])
            .status
            .success()
    );
    assert!(
        berth_tests::cgroup_dirs_named(&c.namespace).is_empty(),
        "cgroups left: {:?}",
        berth_tests::cgroup_dirs_named(&c.namespace)
    );
    let state_dir = Path::new("/run/containerd/runc").join(&c.namespace);
    let left: Vec<_> = std::fs::read_dir(&state_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "runtime state left: {left:?}");
}
