//! OCI hooks end to end: each kind runs at its moment, with the state it should see, in
//! the namespace it should run in; failures and timeouts behave as the runtime-spec says.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_tests::{
    Runtime, TestBundle, cgroup_dirs_named, processes_mentioning, require_root, rootfs_copy,
    unique_id,
};
use serde_json::{Value, json};

/// A hook that records the state it got on stdin, its mount namespace and its turn.
fn recorder(kind: &str, dir: &str) -> Value {
    let script = format!(
        "cat > {dir}/{kind}.json; readlink /proc/self/ns/mnt > {dir}/{kind}.mnt; echo {kind} >> {dir}/seq"
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 10})
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn state_of(dir: &Path, kind: &str) -> Value {
    serde_json::from_str(&read(dir, &format!("{kind}.json")))
        .unwrap_or_else(|e| panic!("{kind}.json: {e}"))
}

fn host_mnt() -> String {
    fs::read_link("/proc/self/ns/mnt")
        .expect("own mnt ns")
        .display()
        .to_string()
}

fn wait_stopped(rt: &Runtime, id: &str) {
    let start = Instant::now();
    while rt.state(id)["status"] != "stopped" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "container {id} did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_hook_kind_runs_at_its_moment_with_its_state_and_namespace() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = tempfile::tempdir().expect("hook output dir");
    let host_dir = out.path().display().to_string();
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    // A private copy, so the /hookout mount point is not created in the shared fixture.
    let rootfs = rootfs_copy(rootfs_dir.path()).display().to_string();
    let id = unique_id("hooks");
    // The process records its own mount namespace and its turn through the same dir.
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "readlink /proc/self/ns/mnt > /hookout/process.mnt; echo process >> /hookout/seq",
    ]);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"].as_array_mut().expect("mounts").push(
            json!({"destination": "/hookout", "type": "bind", "source": host_dir, "options": ["rbind", "rw"]}),
        );
        c["hooks"] = json!({
            "prestart": [recorder("prestart", &host_dir)],
            "createRuntime": [recorder("createRuntime", &host_dir)],
            // Before pivot_root, in the container's mount namespace: host paths still work.
            "createContainer": [recorder("createContainer", &host_dir)],
            // Path and files resolve in the container (its /bin/sh, its /hookout).
            "startContainer": [recorder("startContainer", "/hookout")],
            "poststart": [recorder("poststart", &host_dir)],
            "poststop": [recorder("poststop", &host_dir)],
        });
    });
    let dir = out.path();

    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().expect("pid");
    assert_eq!(
        read(dir, "seq"),
        "prestart\ncreateRuntime\ncreateContainer\n",
        "after create"
    );

    rt.ok(&["start", &id]);
    wait_stopped(&rt, &id);
    rt.ok(&["delete", &id]);
    let seq = read(dir, "seq");
    let order: Vec<&str> = seq.lines().collect();
    assert_eq!(order.len(), 7, "{seq}");
    assert_eq!(
        order[..4],
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer"
        ],
        "{seq}"
    );
    assert_eq!(order[6], "poststop", "{seq}");
    // poststart runs after start released the init; the process may or may not have
    // written its line by then.
    assert!(
        order[4..6].contains(&"process") && order[4..6].contains(&"poststart"),
        "{seq}"
    );

    for (kind, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let st = state_of(dir, kind);
        assert_eq!(st["id"], json!(id), "{kind}: {st}");
        assert_eq!(st["status"], json!(status), "{kind}: {st}");
        assert_eq!(st["bundle"], json!(b.path_str()), "{kind}: {st}");
        if kind != "poststop" {
            assert_eq!(st["pid"].as_i64(), Some(pid), "{kind}: {st}");
        }
    }

    let host = host_mnt();
    let container = read(dir, "process.mnt");
    assert_ne!(
        container.trim(),
        host,
        "the container shares the host's mount namespace"
    );
    for kind in ["createContainer", "startContainer"] {
        assert_eq!(
            read(dir, &format!("{kind}.mnt")),
            container,
            "{kind} not in the container's mount ns"
        );
    }
    for kind in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(
            read(dir, &format!("{kind}.mnt")).trim(),
            host,
            "{kind} not in the runtime's mount ns"
        );
    }
}

#[test]
fn failing_prestart_fails_create_and_leaves_nothing() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("prestart-fails");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["hooks"] =
            json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no way >&2; exit 3"]}]})
    });
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create succeeded");
    assert!(
        stderr.contains("prestart") && stderr.contains("no way"),
        "{stderr}"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
    // The init was killed too (its command line names the container).
    let start = Instant::now();
    while !processes_mentioning(&id).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        processes_mentioning(&id).is_empty(),
        "processes left: {:?}",
        processes_mentioning(&id)
    );
}

#[test]
fn failing_poststop_is_only_logged() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = tempfile::tempdir().expect("dir");
    let id = unique_id("poststop-fails");
    let mut b = TestBundle::busybox(&["true"]);
    let second = out.path().join("second-ran");
    b.edit(|c| {
        c["hooks"] = json!({"poststop": [
            {"path": "/bin/sh", "args": ["sh", "-c", "echo poststop broke >&2; exit 1"]},
            {"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}", second.display())]},
        ]})
    });
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    rt.ok(&["start", &id]);
    wait_stopped(&rt, &id);
    let del = rt.run(&["delete", &id]);
    let stderr = String::from_utf8_lossy(&del.stderr);
    assert!(del.status.success(), "delete failed: {stderr}");
    assert!(
        stderr.contains("poststop"),
        "the failure was not logged: {stderr}"
    );
    assert!(
        second.exists(),
        "the hooks after the failing one did not run"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
}

#[test]
fn hook_timeout_kills_the_hook_and_fails_create() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("hook-timeout");
    // A duration no other process on the host will have on its command line.
    let marker = format!("37.{}", std::process::id());
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", format!("sleep {marker}; true")], "timeout": 1}
        ]})
    });
    let started = Instant::now();
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create succeeded");
    assert!(
        took < Duration::from_secs(10),
        "the timeout did not cut the hook short: {took:?}"
    );
    assert!(
        stderr.contains("createRuntime") && stderr.contains("1"),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("timed out") || stderr.to_lowercase().contains("timeout"),
        "{stderr}"
    );
    assert!(
        processes_mentioning(&marker).is_empty(),
        "the hook's sleep survived"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

#[test]
fn failing_start_container_hook_fails_start_before_the_process_runs() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = tempfile::tempdir().expect("dir");
    let host_dir = out.path().display().to_string();
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    // A private copy, so the /hookout mount point is not created in the shared fixture.
    let rootfs = rootfs_copy(rootfs_dir.path()).display().to_string();
    let id = unique_id("startcontainer-fails");
    let mut b = TestBundle::busybox(&["sh", "-c", "echo ran > /hookout/process"]);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"].as_array_mut().expect("mounts").push(
            json!({"destination": "/hookout", "type": "bind", "source": host_dir, "options": ["rbind", "rw"]}),
        );
        c["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]});
    });
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let start = rt.run(&["start", &id]);
    assert!(!start.status.success(), "start succeeded");
    assert!(
        !out.path().join("process").exists(),
        "the container process ran"
    );
    rt.ok(&["delete", "--force", &id]);
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

/// Hold a traced process at the entry of its next `execve` for `hold`, then let it go.
/// Runs on its own thread: ptrace requests must come from the tracing thread. `ready`
/// is told once the process is traced.
#[cfg(target_arch = "x86_64")]
fn hold_at_execve(pid: libc::pid_t, hold: Duration, ready: std::sync::mpsc::Sender<()>) {
    // SAFETY: plain ptrace/waitpid calls on a pid we own (the container init); the regs
    // struct is a local the kernel fills in.
    unsafe {
        let opts = libc::PTRACE_O_TRACESYSGOOD as usize;
        assert_eq!(
            libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, opts),
            0,
            "PTRACE_SEIZE: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0usize, 0usize), 0);
        let _ = ready.send(());
        loop {
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, libc::__WALL), pid);
            assert!(libc::WIFSTOPPED(status), "init ended: {status:#x}");
            let sig = libc::WSTOPSIG(status);
            let mut inject = 0usize;
            if sig == libc::SIGTRAP | 0x80 {
                let mut regs: libc::user_regs_struct = std::mem::zeroed();
                libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &mut regs);
                if regs.orig_rax == libc::SYS_execve as u64 {
                    std::thread::sleep(hold);
                    libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize);
                    return;
                }
            } else if sig != libc::SIGTRAP {
                // A real signal: hand it on.
                inject = sig as usize;
            }
            libc::ptrace(libc::PTRACE_SYSCALL, pid, 0usize, inject);
        }
    }
}

/// runtime-tools' poststart case: poststart hooks run "after the user-specified process
/// is executed". `start` used to run them as soon as the init wrote its fifo byte, racing
/// the init's `execve`; the init is held at that `execve` here so a hook that ran early
/// would see the runtime's binary (`/berth-runtime`) instead of the container's.
#[cfg(target_arch = "x86_64")]
#[test]
fn poststart_hooks_run_after_the_process_is_executed() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = tempfile::tempdir().expect("hook output dir");
    let exe_file = out.path().join("exe");
    let id = unique_id("poststart-after-exec");
    let mut b = TestBundle::busybox(&["sleep", "30"]);
    let script = format!(
        "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); readlink /proc/$pid/exe > {}",
        exe_file.display()
    );
    b.edit(|c| {
        c["hooks"] = json!({"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]})
    });
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().expect("pid") as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    let tracer = std::thread::spawn(move || hold_at_execve(pid, Duration::from_millis(500), tx));
    rx.recv().expect("tracer attached");
    rt.ok(&["start", &id]);
    tracer.join().expect("tracer thread");
    let exe = read(out.path(), "exe");
    assert_eq!(
        exe.trim(),
        "/bin/busybox",
        "poststart ran before the container process was executed"
    );
    rt.ok(&["delete", "--force", &id]);
}

/// prestart and createRuntime hooks run in the bundle directory, createContainer hooks in
/// the container's rootfs: where runc runs them (its `create` changes into the bundle,
/// its init into the rootfs), compared with the runc on this machine.
#[test]
fn runtime_side_hooks_run_in_runcs_working_directories() {
    if !require_root() {
        return;
    }
    let out = tempfile::tempdir().expect("hook output dir");
    let dir = out.path().display().to_string();
    let pwd = |kind: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("pwd > {dir}/{kind}")]});
    let kinds = ["prestart", "createRuntime", "createContainer"];
    let mut b = TestBundle::busybox(&["true"]);
    let mut seen = Vec::new();
    for rt in [Runtime::runc(), Runtime::new()] {
        let id = unique_id("hook-cwd");
        b.edit(|c| {
            // Absolute: runc puts a relative cgroupsPath under its own cgroup.
            c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
            c["hooks"] = json!({
                "prestart": [pwd("prestart")],
                "createRuntime": [pwd("createRuntime")],
                "createContainer": [pwd("createContainer")],
            });
        });
        rt.ok(&["run", "--bundle", b.path_str(), &id]);
        seen.push(kinds.map(|k| read(out.path(), k).trim_end().to_string()));
    }
    let rootfs = b.config["root"]["path"]
        .as_str()
        .expect("rootfs")
        .to_string();
    let bundle = b.path_str().to_string();
    assert_eq!(
        seen[0],
        [bundle.clone(), bundle, rootfs],
        "runc's own behaviour"
    );
    assert_eq!(seen[1], seen[0], "berth's hooks ran elsewhere than runc's");
}

/// Where each kind's failure is reported: the verb's stderr, and with `--log` the log
/// clients read (containerd's shim), or for startContainer the init's stderr.
#[test]
fn every_failing_hook_kind_says_error_running_its_kind_hook() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let logs = tempfile::tempdir().expect("log dir");
    let fail = json!([{"path": "/bin/sh", "args": ["sh", "-c", "echo hook broke >&2; exit 3"]}]);
    let words = |kind: &str| format!("error running {kind} hook #0 /bin/sh: exit status: 3");
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = TestBundle::busybox(&["true"]);
        b.edit(|c| c["hooks"] = json!({kind: fail}));
        let log = logs.path().join(kind);
        let log_s = log.to_str().expect("utf-8");
        let id = unique_id("hook-words");
        let out = rt.run(&[
            "--log",
            log_s,
            "--log-format",
            "json",
            "create",
            "--bundle",
            b.path_str(),
            &id,
        ]);
        assert!(!out.status.success(), "{kind}: create succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&words(kind)) && stderr.contains("hook broke"),
            "{kind}: {stderr}"
        );
        let log = fs::read_to_string(&log).expect("log");
        assert!(log.contains(&words(kind)), "{kind}: log {log}");
    }

    // startContainer fails in the init, after `create` returned: its words go to the
    // init's stderr (the container's), as runc's do.
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["hooks"] = json!({"startContainer": fail}));
    let id = unique_id("hook-words");
    let init_err = logs.path().join("init-stderr");
    let st = rt
        .cmd()
        .args(["create", "--bundle", b.path_str(), &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&init_err).expect("stderr file"))
        .status()
        .expect("create");
    assert!(st.success());
    assert!(!rt.run(&["start", &id]).status.success(), "start succeeded");
    let text = fs::read_to_string(&init_err).expect("init stderr");
    assert!(text.contains(&words("startContainer")), "{text}");
    rt.ok(&["delete", "--force", &id]);

    // poststart and poststop only warn, in the same words.
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["hooks"] = json!({"poststart": fail, "poststop": fail}));
    let id = unique_id("hook-words");
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let start = rt.run(&["start", &id]);
    assert!(start.status.success());
    let stderr = String::from_utf8_lossy(&start.stderr);
    assert!(stderr.contains(&words("poststart")), "{stderr}");
    wait_stopped(&rt, &id);
    let del = rt.run(&["delete", &id]);
    assert!(del.status.success());
    let stderr = String::from_utf8_lossy(&del.stderr);
    assert!(stderr.contains(&words("poststop")), "{stderr}");
}

/// The state the init gets for its hooks carries the annotations, which Kubernetes allows
/// up to 256 KiB: 300 KiB of them (quotes included, which JSON escapes twice on the way)
/// reach a createContainer hook whole, and the container runs.
#[test]
fn large_annotations_reach_the_create_container_hook_whole() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = tempfile::tempdir().expect("hook output dir");
    let host_dir = out.path().display().to_string();
    let big = "\"x\" ".repeat(75 * 1024);
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["annotations"] = json!({ "big": big });
        c["hooks"] = json!({ "createContainer": [recorder("createContainer", &host_dir)] });
    });
    let id = unique_id("hooks-big");
    let run = rt.run(&["run", "--bundle", b.path_str(), &id]);
    assert!(
        run.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let state = state_of(out.path(), "createContainer");
    assert_eq!(state["annotations"]["big"], json!(big));
}
