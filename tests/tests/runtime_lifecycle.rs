//! The runc contract: create → state → start → kill → delete, detached runs, list.

use std::fs;
use std::time::{Duration, Instant};

use berth_tests::{
    Runtime, TestBundle, cgroup_dirs_named, require_root, unique_id, wait_for_status,
};
use serde_json::Value;

#[test]
fn create_state_start_kill_delete() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("life");
    let b = TestBundle::busybox(&["sleep", "1000"]);
    let pid_file = b.path().join("pid");
    rt.ok(&[
        "create",
        "--bundle",
        b.path_str(),
        "--pid-file",
        pid_file.to_str().expect("utf-8"),
        &id,
    ]);

    let st = rt.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["ociVersion"], "1.2.0");
    let pid = st["pid"].as_i64().expect("pid");
    assert_eq!(
        fs::read_to_string(&pid_file).expect("pid file"),
        pid.to_string()
    );
    assert_eq!(
        st["bundle"],
        fs::canonicalize(b.path())
            .expect("canon")
            .display()
            .to_string()
    );
    // The init is blocked before exec: still the runtime binary, not sleep.
    let exe = fs::read_link(format!("/proc/{pid}/exe")).expect("init exe");
    assert!(
        exe.display().to_string().contains("berth-runtime"),
        "init exe before start: {}",
        exe.display()
    );
    assert!(
        !cgroup_dirs_named(&id).is_empty(),
        "no cgroup for a created container"
    );

    rt.ok(&["start", &id]);
    let st = rt.state(&id);
    assert_eq!(st["status"], "running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p.ends_with("busybox")) {
        assert!(
            Instant::now() < deadline,
            "init never exec'd the container process"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // start twice is an error.
    assert!(!rt.run(&["start", &id]).status.success());
    // delete of a running container needs --force.
    let out = rt.run(&["delete", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("running"));

    rt.ok(&["kill", &id, "KILL"]);
    let st = wait_for_status(&rt, &id, "stopped");
    assert_eq!(st["status"], "stopped");
    rt.ok(&["delete", &id]);
    assert!(!rt.root.path().join(&id).exists(), "state dir left");
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs_named(&id)
    );
    assert!(!rt.run(&["state", &id]).status.success());
}

#[test]
fn kill_accepts_signal_names_and_numbers() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for (n, sig) in ["TERM", "SIGUSR1", "9"].iter().enumerate() {
        let id = unique_id(&format!("sig{n}"));
        // As pid 1 of its namespace, sh ignores signals without a handler: trap them.
        let b = TestBundle::busybox(&[
            "sh",
            "-c",
            "trap 'exit 0' TERM USR1; while true; do sleep 0.05; done",
        ]);
        rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
        assert_eq!(rt.state(&id)["status"], "running");
        rt.ok(&["kill", &id, sig]);
        assert_eq!(
            wait_for_status(&rt, &id, "stopped")["status"],
            "stopped",
            "signal {sig}"
        );
        rt.ok(&["delete", &id]);
    }
    let id = unique_id("badsig");
    let b = TestBundle::busybox(&["sleep", "100"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let out = rt.run(&["kill", &id, "NOTASIGNAL"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown signal"));
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn kill_all_reaches_every_process_without_a_pid_namespace() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("killall");
    let mut b = TestBundle::busybox(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("ns")
            .retain(|n| n["type"] != "pid")
    });
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let dirs = cgroup_dirs_named(&id);
    let procs_file = dirs
        .iter()
        .map(|d| d.join("cgroup.procs"))
        .find(|p| p.exists())
        .expect("cgroup.procs");
    let deadline = Instant::now() + Duration::from_secs(5);
    while fs::read_to_string(&procs_file)
        .expect("procs")
        .lines()
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "children never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    rt.ok(&["kill", "--all", &id, "KILL"]);
    assert_eq!(wait_for_status(&rt, &id, "stopped")["status"], "stopped");
    rt.ok(&["delete", &id]);
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn run_detach_returns_while_the_container_runs() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("detach");
    let b = TestBundle::busybox(&["sleep", "1000"]);
    let started = Instant::now();
    rt.ok(&["run", "-d", "--bundle", b.path_str(), &id]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(rt.state(&id)["status"], "running");
    let listed: Value =
        serde_json::from_str(&rt.ok(&["list", "--format", "json"])).expect("list json");
    let entry = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(entry["status"], "running");
    let table = rt.ok(&["list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("running")),
        "table: {table}"
    );
    rt.ok(&["delete", "--force", &id]);
    assert!(rt.ok(&["list", "-q"]).trim().is_empty());
}

#[test]
fn state_records_the_cgroup_v2_id() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("cgid");
    let b = TestBundle::busybox(&["sleep", "1000"]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let raw: Value = serde_json::from_slice(
        &fs::read(rt.root.path().join(&id).join("state.json")).expect("state.json"),
    )
    .expect("json");
    let v2_dir = raw["cgroup"]["v2Dir"].as_str().expect("v2Dir").to_string();
    let v2_id = raw["cgroup"]["v2Id"].as_u64().expect("v2Id");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&v2_dir).expect("v2 dir").ino(), v2_id);
    let pid = raw["pid"].as_i64().expect("pid");
    let procs = fs::read_to_string(format!("{v2_dir}/cgroup.procs")).expect("procs");
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "init {pid} not in {v2_dir}: {procs}"
    );
    rt.ok(&["delete", &id]);
    assert!(!std::path::Path::new(&v2_dir).exists());
}

#[test]
fn absolute_cgroups_path_is_honoured() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("cgpath");
    let name = unique_id("custom");
    let mut b = TestBundle::busybox(&["cat", "/proc/self/cgroup"]);
    let path = format!("/berth/{name}");
    b.edit(|c| c["linux"]["cgroupsPath"] = serde_json::json!(path));
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    assert!(
        std::path::Path::new(&format!("/sys/fs/cgroup/pids{path}")).is_dir()
            || std::path::Path::new(&format!("/sys/fs/cgroup{path}")).is_dir()
    );
    rt.ok(&["delete", &id]);
    assert!(cgroup_dirs_named(&name).is_empty());
}

#[test]
fn foreground_run_forwards_signals_to_the_container() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("fwd");
    let dir = tempfile::tempdir().expect("tempdir");
    let ready = dir.path().join("ready");
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "trap 'exit 42' TERM; touch /mnt/ready; while true; do sleep 0.05; done",
    ]);
    let src = dir.path().display().to_string();
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(serde_json::json!({
                "destination": "/mnt", "type": "bind", "source": src, "options": ["rbind"]
            }))
    });
    let mut child = rt
        .cmd()
        .args(["run", "--bundle", b.path_str(), &id])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn run");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "container never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal run");
    let status = child.wait().expect("wait run");
    assert_eq!(status.code(), Some(42), "the container's trap did not run");
    assert!(!rt.root.path().join(&id).exists(), "state left after run");
}

#[test]
fn a_relative_cgroups_path_leaves_no_parent_behind() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("relcg");
    let parent = unique_id("nest");
    let mut b = TestBundle::busybox(&["true"]);
    let path = format!("{parent}/leaf");
    b.edit(|c| c["linux"]["cgroupsPath"] = serde_json::json!(path));
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    assert!(
        !cgroup_dirs_named(&parent).is_empty(),
        "no cgroup under berth/{parent}"
    );
    rt.ok(&["delete", &id]);
    assert!(
        cgroup_dirs_named(&parent).is_empty(),
        "left: {:?}",
        cgroup_dirs_named(&parent)
    );
}

/// Stage 1 reports the init's pid on the same socket the init uses: the pid must be known
/// before the init's first request, so runtime-side hooks and the pid file never see 0
/// (seen once under load before the init waited for the runtime's record of its pid).
#[test]
fn hooks_and_pid_file_see_the_init_pid_under_concurrent_creates() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let rt = &rt;
            scope.spawn(move || {
                for round in 0..10 {
                    let id = unique_id(&format!("pid{worker}-{round}"));
                    let mut b = TestBundle::busybox(&["true"]);
                    let seen = b.path().join("hook-state.json");
                    let script = format!("cat > {}", seen.display());
                    b.edit(|c| {
                        c["hooks"] = serde_json::json!({"createRuntime": [
                            {"path": "/bin/sh", "args": ["sh", "-c", script]}
                        ]});
                    });
                    let pid_file = b.path().join("pid");
                    rt.ok(&[
                        "create",
                        "--bundle",
                        b.path_str(),
                        "--pid-file",
                        pid_file.to_str().expect("utf-8"),
                        &id,
                    ]);
                    let pid = rt.state(&id)["pid"].as_i64().expect("pid");
                    let hook: Value = serde_json::from_slice(&fs::read(&seen).expect("hook state"))
                        .expect("hook state json");
                    let from_file = fs::read_to_string(&pid_file).expect("pid file");
                    rt.ok(&["delete", "--force", &id]);
                    assert!(pid > 0, "{id}: state pid {pid}");
                    assert_eq!(hook["pid"].as_i64(), Some(pid), "{id}: hook state {hook}");
                    assert_eq!(from_file, pid.to_string(), "{id}: pid file");
                }
            });
        }
    });
}
