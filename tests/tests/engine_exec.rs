//! `berth exec` and the other verbs on a running container (restart, rename, top, stats,
//! port, container prune), end to end as root on berth-runtime with a temp store.
//! Containers use `--network none`.

use std::time::Duration;

use berth_testkit::wait::wait_for;
use berth_tests::engine::Engine;
use berth_tests::pty::PtySession;
use berth_tests::require_root;
use serde_json::Value;

fn inspect(e: &Engine, c: &str) -> Value {
    let v: Value = serde_json::from_str(&e.ok(&["inspect", c])).expect("inspect JSON");
    v[0].clone()
}

/// A running `sleep 1000` container named `name`.
fn sleeper(e: &Engine, name: &str) -> String {
    e.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ])
    .trim()
    .to_string()
}

fn code(e: &Engine, args: &[&str]) -> (Option<i32>, String, String) {
    let out = e.run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exec_exits_with_the_process_code_and_docker_s_126_127() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    sleeper(&e, "ex");
    assert_eq!(code(&e, &["exec", "ex", "true"]).0, Some(0));
    let (c, out, err) = code(
        &e,
        &["exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!((c, out.as_str(), err.as_str()), (Some(3), "out\n", "err\n"));
    // A file that is not executable, a name not in PATH, a path that does not exist.
    let (c, _, err) = code(&e, &["exec", "ex", "/etc/passwd"]);
    assert_eq!(c, Some(126), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    let (c, _, err) = code(&e, &["exec", "ex", "no-such-command"]);
    assert_eq!(c, Some(127), "{err}");
    assert!(err.contains("executable file not found"), "{err}");
    assert_eq!(code(&e, &["exec", "ex", "/no/such/path"]).0, Some(127));
    // A process that exits 255 keeps it, whatever it printed: only a runtime that failed
    // before the process started is classified.
    for words in ["executable file not found", "permission denied"] {
        let script = format!("echo {words} >&2; exit 255");
        let (c, _, err) = code(&e, &["exec", "ex", "sh", "-c", &script]);
        assert_eq!(
            (c, err.as_str()),
            (Some(255), format!("{words}\n").as_str())
        );
    }
    // exec in a stopped container fails as docker's does: 1 (docker's CLI gives 125 only
    // for run and create's own failures).
    e.ok(&["kill", "ex"]);
    e.ok(&["wait", "ex"]);
    let (c, _, err) = code(&e, &["exec", "ex", "true"]);
    assert_eq!(c, Some(1), "{err}");
    assert!(err.contains("is not running"), "{err}");
}

#[test]
fn exec_takes_env_workdir_user_and_stdin() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    sleeper(&e, "ex");
    let out = e.ok(&[
        "exec",
        "-e",
        "GREETING=hello there",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "ex",
        "sh",
        "-c",
        "echo \"$GREETING|$(pwd)|$(id -u)|$(id -g)|$HOME\"",
    ]);
    assert_eq!(out, "hello there|/tmp|65534|65534|/nonexistent\n");
    // -e KEY passes the caller's value; an unset KEY is left out.
    let mut cmd = e.cmd();
    cmd.args([
        "exec",
        "-e",
        "FROM_CALLER",
        "-e",
        "NOT_SET_ANYWHERE",
        "ex",
        "sh",
        "-c",
        "echo \"$FROM_CALLER|${NOT_SET_ANYWHERE-unset}\"",
    ])
    .env("FROM_CALLER", "passed on")
    .env_remove("NOT_SET_ANYWHERE");
    let out = berth_tests::output_via_files(cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "passed on|unset\n");
    let out = e.ok(&["exec", "-u", "1234:5678", "ex", "id"]);
    assert!(out.starts_with("uid=1234 gid=5678"), "{out}");
    // -i: our stdin reaches the process and its end is the process's EOF.
    let mut cmd = e.cmd();
    cmd.args(["exec", "-i", "ex", "sh", "-c", "cat; echo done"]);
    let out = pipe_in(cmd, b"typed\n");
    assert_eq!(out, "typed\ndone\n");
}

/// Runs `cmd` with `input` on its stdin; its stdout.
fn pipe_in(mut cmd: std::process::Command, input: &[u8]) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exec_it_runs_on_a_pty_with_the_callers_size_and_resizes() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    sleeper(&e, "ex");
    let mut cmd = e.cmd();
    cmd.args(["exec", "-it", "ex", "sh"]);
    let mut s = PtySession::spawn(cmd, 27, 91);
    let before = s.modes();
    s.shell_sees_size(27, 91);
    s.resize(50, 132);
    s.shell_sees_size(50, 132);
    s.send(b"tty; exit 5\r");
    s.expect("/dev/pts/");
    assert_eq!(s.exit_code(), 5, "{:?}", s.text());
    assert_eq!(
        before.local_flags,
        s.modes().local_flags,
        "raw mode left on"
    );
}

#[test]
fn exec_d_leaves_the_process_running() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    sleeper(&e, "ex");
    let started = std::time::Instant::now();
    let out = e.ok(&[
        "exec",
        "-d",
        "ex",
        "sh",
        "-c",
        "sleep 2; echo done > /tmp/flag",
    ]);
    assert_eq!(out, "");
    assert!(started.elapsed() < Duration::from_secs(2), "exec -d waited");
    assert_eq!(code(&e, &["exec", "ex", "cat", "/tmp/flag"]).0, Some(1));
    wait_for(
        "the detached exec to finish",
        Duration::from_secs(20),
        || {
            let (c, out, _) = code(&e, &["exec", "ex", "cat", "/tmp/flag"]);
            (c == Some(0) && out == "done\n").then_some(())
        },
    );
}

#[test]
fn restart_keeps_the_id_and_starts_anew() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = sleeper(&e, "rs");
    let first = inspect(&e, "rs");
    let pid = first["State"]["Pid"].clone();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(e.ok(&["restart", "-t", "1", "rs"]), "rs\n");
    let second = inspect(&e, "rs");
    assert_eq!(second["Id"], id.as_str());
    assert_eq!(second["State"]["Running"], true);
    assert_ne!(second["State"]["Pid"], pid);
    let (a, b) = (
        first["State"]["StartedAt"].as_str().expect("StartedAt"),
        second["State"]["StartedAt"].as_str().expect("StartedAt"),
    );
    assert!(b > a, "start time {b} not after {a}");
    // A stopped container is started.
    e.ok(&["kill", "rs"]);
    e.ok(&["wait", "rs"]);
    e.ok(&["restart", "rs"]);
    assert_eq!(inspect(&e, "rs")["State"]["Running"], true);
}

#[test]
fn rename_moves_the_name_and_frees_the_old_one() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = sleeper(&e, "before");
    e.ok(&["rename", "before", "after"]);
    let c = inspect(&e, "after");
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/after");
    assert!(e.ok(&["ps"]).contains("after"));
    let (code_, _, err) = code(&e, &["inspect", "--type", "container", "before"]);
    assert_ne!(code_, Some(0));
    assert!(err.contains("no such container: before"), "{err}");
    // The old name is free again; a taken one is refused and nothing changes.
    e.ok(&[
        "create",
        "--name",
        "before",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let (c, _, err) = code(&e, &["rename", "after", "before"]);
    assert_ne!(c, Some(0));
    assert!(err.contains("already in use"), "{err}");
    assert_eq!(inspect(&e, "after")["Id"], id.as_str());
    let (c, _, err) = code(&e, &["rename", "after", "bad/name"]);
    assert_ne!(c, Some(0));
    assert!(err.contains("invalid container name"), "{err}");
}

#[test]
fn top_lists_the_containers_processes() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    sleeper(&e, "tp");
    let pid = inspect(&e, "tp")["State"]["Pid"].to_string();
    let out = e.ok(&["top", "tp"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0][0], "root");
    assert_eq!(rows[0][1], pid);
    assert_eq!(rows[0][5], "?");
    assert_eq!(&rows[0][7..], ["sleep", "1000"]);
    // With ps options: the host's ps, only the container's rows.
    let out = e.ok(&["top", "tp", "-o", "pid,comm"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [pid.as_str(), "sleep"]
    );
    let (c, _, err) = code(&e, &["top", "tp", "-o", "comm"]);
    assert_ne!(c, Some(0));
    assert!(err.contains("no PID column"), "{err}");
    let (c, _, err) = code(&e, &["top", "no-such"]);
    assert_ne!(c, Some(0));
    assert!(err.contains("no such container"), "{err}");
}

#[test]
fn stats_no_stream_shows_the_containers_memory_and_pids() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "st",
        "--memory",
        "64m",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "sleep 1000 & sleep 1000; true",
    ]);
    let out = e.ok(&["stats", "--no-stream", "--format", "json", "st"]);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(v["Name"], "st");
    assert_eq!(v["PIDs"], "3", "{v}");
    let mem = v["MemUsage"].as_str().expect("MemUsage");
    let (used, limit) = mem.split_once(" / ").expect("USAGE / LIMIT");
    assert!(!used.starts_with("0B") && used != "0", "{mem}");
    assert_eq!(limit, "64MiB");
    assert!(v["CPUPerc"].as_str().expect("CPUPerc").ends_with('%'));
    let table = e.ok(&["stats", "--no-stream"]);
    assert!(
        table.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{table}"
    );
    assert!(table.contains(" / 64MiB"), "{table}");
}

#[test]
fn port_lists_the_published_ports() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "create",
        "--name",
        "pt",
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:9053:53/udp",
        "busybox",
        "true",
    ]);
    assert_eq!(
        e.ok(&["port", "pt"]),
        "80/tcp -> 0.0.0.0:8080\n53/udp -> 127.0.0.1:9053\n"
    );
    assert_eq!(e.ok(&["port", "pt", "80"]), "0.0.0.0:8080\n");
    assert_eq!(e.ok(&["port", "pt", "53/udp"]), "127.0.0.1:9053\n");
    let (c, _, err) = code(&e, &["port", "pt", "81"]);
    assert_ne!(c, Some(0));
    assert!(err.contains("no public port '81/tcp'"), "{err}");
}

#[test]
fn container_prune_removes_only_stopped_containers() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let running = sleeper(&e, "keep");
    e.ok(&[
        "run",
        "--name",
        "done",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    e.ok(&[
        "create",
        "--name",
        "fresh",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let done = inspect(&e, "done")["Id"].as_str().expect("Id").to_string();
    let fresh = inspect(&e, "fresh")["Id"].as_str().expect("Id").to_string();
    let out = e.ok(&["container", "prune", "-f"]);
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    assert!(out.contains(&done) && out.contains(&fresh), "{out}");
    assert!(!out.contains(&running), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(e.all_ids(), std::slice::from_ref(&running));
    assert!(e.leaks(&done).is_empty(), "{:?}", e.leaks(&done));
    // Without -f and no one to say yes, nothing goes.
    e.ok(&[
        "run",
        "--name",
        "done2",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    e.ok(&["container", "prune"]);
    assert_eq!(e.all_ids().len(), 2);
}

#[test]
fn exec_under_runc_gives_the_same_codes_and_a_terminal() {
    if !require_root() {
        return;
    }
    // runc takes a console socket only when it detaches: a -t exec runs under berth's
    // exec shim, which waits for the process as its subreaper.
    let Some(runc) = berth_testkit::tools::find_in_path("runc") else {
        eprintln!("runc is not installed: skipped");
        return;
    };
    let e = Engine::new().with_runtime(runc);
    sleeper(&e, "rc");
    assert_eq!(code(&e, &["exec", "rc", "sh", "-c", "exit 3"]).0, Some(3));
    assert_eq!(code(&e, &["exec", "rc", "/etc/passwd"]).0, Some(126));
    assert_eq!(code(&e, &["exec", "rc", "no-such-command"]).0, Some(127));
    let script = "echo executable file not found >&2; exit 255";
    assert_eq!(code(&e, &["exec", "rc", "sh", "-c", script]).0, Some(255));
    let mut cmd = e.cmd();
    cmd.args(["exec", "-it", "rc", "sh"]);
    let mut s = PtySession::spawn(cmd, 33, 99);
    s.shell_sees_size(33, 99);
    s.resize(44, 111);
    s.shell_sees_size(44, 111);
    s.send(b"exit 6\r");
    assert_eq!(s.exit_code(), 6, "{:?}", s.text());
    let mut cmd = e.cmd();
    cmd.args(["exec", "-it", "rc", "no-such-command"]);
    let mut s = PtySession::spawn(cmd, 24, 80);
    assert_eq!(s.exit_code(), 127, "{:?}", s.text());
}

#[test]
fn port_shows_the_host_port_picked_at_start() {
    if !require_root() {
        return;
    }
    // The default bridge network (the store's Engine tears it down on drop).
    let e = Engine::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "pp",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sleep",
        "1000",
    ]);
    let out = e.ok(&["port", "pp"]);
    let host = out
        .strip_prefix("80/tcp -> 127.0.0.1:")
        .unwrap_or_else(|| panic!("{out:?}"));
    let port: u16 = host.trim().parse().expect("a port number");
    assert_ne!(port, 0, "the picked port, not the 0 of -p IP::CTR");
}
