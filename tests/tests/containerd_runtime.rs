//! containerd's runc shim (containerd-shim-runc-v2) drives berth-runtime through
//! `ctr run --runc-binary`: the drop-in claim checked with the client most clusters use.
//! A private containerd (own root, state, socket) is started and stopped by the test.

use std::path::Path;
use std::time::{Duration, Instant};

use berth_tests::containerd::Containerd;
use berth_tests::{bin, busybox_fixture, require_root, unique_id};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn containerd_shim_runs_tasks_through_berth_runtime() {
    if !require_root() {
        return;
    }
    // The CRI plugin is tests/tests/containerd_cri.rs's business: off here.
    let c = Containerd::start(&unique_id("berth-test"), |_| {
        "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]".to_owned()
    });
    c.import(&busybox_fixture().join("oci-image.tar"));
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
