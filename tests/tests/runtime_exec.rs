//! `exec`, `ps`, `pause`/`resume` on running containers, as with runc.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::{
    Runtime, TestBundle, delete_and_check_clean, receive_pty_master, require_root, sleeper, stderr,
    unique_id, wait_for_status,
};
use serde_json::json;

#[test]
fn exec_sees_the_namespaces_and_hostname_of_the_init() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = sleeper(&rt, "exec-ns");
    let init = rt.state(&id)["pid"].as_i64().expect("pid");
    for ns in ["pid", "mnt", "net", "uts", "ipc", "cgroup"] {
        let want = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).expect("init ns");
        let got = rt.ok(&["exec", &id, "readlink", &format!("/proc/self/ns/{ns}")]);
        assert_eq!(
            got.trim(),
            want.display().to_string(),
            "{ns} namespace of exec"
        );
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).expect("host ns");
        assert_ne!(host, want, "{ns}: the container should have its own");
    }
    assert_eq!(rt.ok(&["exec", &id, "hostname"]).trim(), "berth");
    // In the container's pid namespace the init is 1 and the exec'd process is not.
    let pid_line = rt.ok(&["exec", &id, "sh", "-c", "echo $$; cat /proc/1/cmdline"]);
    let mut lines = pid_line.lines();
    assert_ne!(lines.next(), Some("1"));
    assert!(
        lines.next().unwrap_or_default().starts_with("sleep"),
        "{pid_line:?}"
    );
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_propagates_the_exit_code() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = sleeper(&rt, "exec-rc");
    assert_eq!(
        rt.run(&["exec", &id, "sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    assert_eq!(rt.run(&["exec", &id, "true"]).status.code(), Some(0));
    // Killed by a signal: 128 + signal number, as a shell reports it.
    assert_eq!(
        rt.run(&["exec", &id, "sh", "-c", "kill -9 $$"])
            .status
            .code(),
        Some(137)
    );
    let out = rt.run(&["exec", &id, "no-such-command"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-command"), "{}", stderr(&out));
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_applies_user_cwd_env_and_process_json() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, b) = sleeper(&rt, "exec-opts");
    let out = rt.ok(&[
        "exec",
        "--user",
        "1000:1001",
        "-g",
        "1002",
        "--cwd",
        "/etc",
        "-e",
        "FOO=bar",
        "-e",
        "TERM=dumb",
        &id,
        "sh",
        "-c",
        "id -u; id -g; id -G; pwd; echo $FOO $TERM; grep NoNewPrivs /proc/self/status",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..5],
        ["1000", "1001", "1001 1002", "/etc", "bar dumb"],
        "{out}"
    );
    // The container's own process settings are the defaults (the fixture sets no_new_privs).
    assert!(lines[5].ends_with('1'), "{out}");
    // Without --user the container's user (root) and its capabilities.
    let caps = rt.ok(&["exec", &id, "grep", "CapEff", "/proc/self/status"]);
    let init = rt.state(&id)["pid"].as_i64().expect("pid");
    let init_caps = std::fs::read_to_string(format!("/proc/{init}/status")).expect("init status");
    let init_eff = init_caps
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .expect("CapEff");
    assert_eq!(caps.trim(), init_eff.trim());
    // --cap adds to the container's set.
    let more = rt.ok(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert_ne!(more.trim(), init_eff.trim());

    let process = json!({
        "args": ["sh", "-c", "echo from-json $X; pwd"],
        "env": ["PATH=/bin", "X=42"],
        "cwd": "/tmp",
        "user": {"uid": 0, "gid": 0},
    });
    let path = b.path().join("process.json");
    std::fs::write(&path, process.to_string()).expect("process.json");
    let out = rt.ok(&["exec", "--process", path.to_str().expect("utf-8"), &id]);
    assert_eq!(out, "from-json 42\n/tmp\n");
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_tty_sends_the_pty_master_to_the_console_socket() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = sleeper(&rt, "exec-tty");
    let sock_dir = tempfile::tempdir().expect("tempdir");
    let sock = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let mut child = rt
        .cmd()
        .args([
            "exec",
            "--tty",
            "--console-socket",
            sock.to_str().expect("utf-8"),
            &id,
        ])
        .args([
            "sh",
            "-c",
            "tty; test -t 0 && test -t 1 && echo stdio-is-a-tty",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawning exec");
    let mut master = std::fs::File::from(receive_pty_master(&listener).0);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    // Reading the master ends with EIO once the last slave fd closes.
    while Instant::now() < deadline {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    assert!(child.wait().expect("exec exit").success());
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("/dev/pts/"), "tty output: {text:?}");
    assert!(text.contains("stdio-is-a-tty"), "tty output: {text:?}");
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_detach_writes_the_pid_file_and_ps_lists_the_process() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, b) = sleeper(&rt, "exec-ps");
    let pid_file = b.path().join("exec.pid");
    rt.ok(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().expect("utf-8"),
        &id,
        "sleep",
        "999",
    ]);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("exec'd process");
    assert!(
        cmdline.starts_with(b"sleep\0999"),
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );

    let init = rt.state(&id)["pid"].as_i64().expect("pid");
    let pids: Vec<i64> =
        serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).expect("ps JSON");
    assert!(pids.contains(&i64::from(pid)), "{pids:?} lacks {pid}");
    assert!(pids.contains(&init), "{pids:?} lacks the init {init}");
    assert_eq!(pids.len(), 2, "{pids:?}");

    let table = rt.ok(&["ps", &id]);
    let mut lines = table.lines();
    assert!(lines.next().is_some_and(|h| h.contains("PID")), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().any(|r| r.contains("sleep 999")), "{table}");
    // ps options are passed through.
    let custom = rt.ok(&["ps", &id, "-o", "pid,comm"]);
    assert!(
        custom
            .lines()
            .next()
            .is_some_and(|h| h.split_whitespace().eq(["PID", "COMMAND"])),
        "{custom}"
    );
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_into_a_stopped_or_unknown_container_is_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = rt.run(&["exec", "no-such-container", "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    let id = unique_id("exec-stopped");
    let b = TestBundle::busybox(&["true"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    assert_eq!(wait_for_status(&rt, &id, "stopped")["status"], "stopped");
    let out = rt.run(&["exec", &id, "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    // No argument at all.
    let (running, _b) = sleeper(&rt, "exec-noargs");
    let out = rt.run(&["exec", &running]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("command"), "{}", stderr(&out));
    delete_and_check_clean(&rt, &id);
    delete_and_check_clean(&rt, &running);
}

#[test]
fn pause_freezes_the_container_and_resume_continues_it() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("pause");
    let shared = tempfile::tempdir().expect("tempdir");
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /shared/count; sleep 0.01; done",
    ]);
    b.edit(|c| {
        c["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": "/shared", "type": "bind", "source": shared.path(), "options": ["rbind", "rw"]
        }));
    });
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let count = || -> u64 {
        std::fs::read_to_string(shared.path().join("count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while count() < 3 {
        assert!(Instant::now() < deadline, "the counter never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Resume of a running container is an error.
    let out = rt.run(&["resume", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not paused"), "{}", stderr(&out));

    rt.ok(&["pause", &id]);
    assert_eq!(rt.state(&id)["status"], "paused");
    let frozen_at = count();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(), frozen_at, "the counter advanced while paused");
    // A second pause, an exec and a non-forced delete are refused while paused.
    assert!(!rt.run(&["pause", &id]).status.success());
    let out = rt.run(&["exec", &id, "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("paused"), "{}", stderr(&out));

    rt.ok(&["resume", &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while count() <= frozen_at {
        assert!(
            Instant::now() < deadline,
            "the counter did not continue after resume"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    delete_and_check_clean(&rt, &id);
    // Pausing a container that is gone is an error too.
    assert!(!rt.run(&["pause", &id]).status.success());
}

#[test]
fn exec_forwards_signals_to_the_process() {
    if !require_root() {
        return;
    }
    use std::io::BufRead;
    let rt = Runtime::new();
    let (id, _b) = sleeper(&rt, "exec-sig");
    let mut child = rt
        .cmd()
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning exec");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading ready");
    assert_eq!(line.trim(), "ready");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signalling exec");
    let status = child.wait().expect("exec exit");
    assert_eq!(status.code(), Some(3), "the trap did not run: {status}");
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_passes_only_stdio_and_preserved_fds() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, b) = sleeper(&rt, "exec-fds");
    let bin = rt.bin.to_str().expect("utf-8");
    let root = rt.root.path().to_str().expect("utf-8");
    let out_file = b.path().join("fd3-output");
    // The host shell opens fd 3 and runs the runtime with it (and a stray fd 4).
    let script = format!(
        "exec 3>{out} 4</dev/null; {bin} --root {root} exec --preserve-fds 1 {id} sh -c 'echo via-fd3 >&3; ls /proc/self/fd'",
        out = out_file.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("host sh");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("fd 3 output"),
        "via-fd3\n"
    );
    // 0-2, the preserved 3, and the directory fd ls itself opens (4): nothing else,
    // in particular not the stray fd 4 of the caller or any fd of the runtime.
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        fds,
        ["0", "1", "2", "3", "4"],
        "fds seen by the exec'd process"
    );
    // Without --preserve-fds fd 3 is closed.
    let script = format!(
        "exec 3>{out}; {bin} --root {root} exec {id} sh -c 'echo x >&3'",
        out = out_file.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("host sh");
    assert!(
        !out.status.success(),
        "fd 3 reached the process without --preserve-fds"
    );
    delete_and_check_clean(&rt, &id);
}

#[test]
fn exec_applies_the_containers_seccomp_filter() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("exec-seccomp");
    let mut b = TestBundle::busybox(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
    });
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let out = rt.run(&["exec", &id, "mkdir", "/tmp/denied"]);
    assert!(!out.status.success(), "mkdir passed the container's filter");
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    let status = rt.ok(&["exec", &id, "grep", "Seccomp:", "/proc/self/status"]);
    assert_eq!(status.split_whitespace().last(), Some("2"), "{status}");
    delete_and_check_clean(&rt, &id);
}
