//! `berth`'s container verbs end to end, as root, on berth-runtime with a temp store:
//! the course workflow (run, run -d, ps, logs, stop, kill, rm), exit codes, OOM, a
//! killed monitor or CLI, and many commands at once. Containers use `--network none`
//! unless a test is about networking.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::wait::wait_for;
use berth_tests::engine::Engine;
use berth_tests::require_root;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// `berth inspect` of one container.
fn inspect(e: &Engine, c: &str) -> Value {
    let v: Value = serde_json::from_str(&e.ok(&["inspect", c])).expect("inspect JSON");
    v[0].clone()
}

fn full_id(e: &Engine, c: &str) -> String {
    inspect(e, c)["Id"].as_str().expect("Id").to_string()
}

#[test]
fn run_prints_hello_world_and_leaves_an_exited_container() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let out = e.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "hello",
        "busybox",
        "echo",
        "hello",
        "world",
    ]);
    assert_eq!(out, "hello world\n");
    let c = inspect(&e, "hello");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["ExitCode"], 0);
    assert_eq!(c["Config"]["Image"], "busybox");
    let ps = e.ok(&["ps", "-a"]);
    assert!(
        ps.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER ID") && h.contains("NAMES")),
        "{ps}"
    );
    assert!(
        ps.contains("Exited (0)") && ps.contains("\"echo hello world\"") && ps.contains("hello"),
        "{ps}"
    );
    let id = full_id(&e, "hello");
    e.ok(&["rm", "hello"]);
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

#[test]
fn run_exits_with_the_containers_code_and_stderr_stays_apart() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let out = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert!(e.all_ids().is_empty(), "--rm left a container");
    let missing = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "/no/such/binary",
    ]);
    assert_eq!(
        missing.status.code(),
        Some(127),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert!(
        e.all_ids().is_empty(),
        "a --rm container that failed to start is removed"
    );
}

#[test]
fn a_file_created_in_one_run_is_absent_in_the_next() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo x > /created && cat /created",
    ]);
    let out = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/created",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the file is still there: {out:?}"
    );
}

#[test]
fn a_detached_clock_is_listed_logged_and_stopped() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "clock",
            "busybox",
            "sh",
            "-c",
            "while true; do date; sleep 1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id}");
    let ps = e.ok(&["ps"]);
    let row = ps
        .lines()
        .find(|l| l.contains("clock"))
        .unwrap_or_else(|| panic!("clock not listed: {ps}"));
    assert!(
        row.starts_with(&id[..12])
            && row.contains("Up ")
            && row.contains("\"sh -c while true; d…\""),
        "{row}"
    );
    assert_eq!(e.ok(&["ps", "-q"]).trim(), &id[..12]);
    assert!(e.ok(&["ps", "-l"]).contains("clock"));
    let json: Value =
        serde_json::from_str(e.ok(&["ps", "--format", "json"]).trim()).expect("ps json");
    assert_eq!(
        (json["Names"].as_str(), json["State"].as_str()),
        (Some("clock"), Some("running"))
    );
    assert_eq!(
        e.ok(&["ps", "--format", "{{.Names}} {{.Image}}"]).trim(),
        "clock busybox"
    );

    wait_for("4 lines of log", LIMIT, || {
        (e.ok(&["logs", &id[..5]]).lines().count() >= 4).then_some(())
    });
    let all = e.ok(&["logs", &id[..5]]);
    let tail = e.ok(&["logs", "--tail", "3", "clock"]);
    assert_eq!(tail.lines().count(), 3, "{tail}");
    assert!(
        all.ends_with(&tail) || all.lines().count() > 3,
        "tail is the log's end: {all} / {tail}"
    );
    let stamped = e.ok(&["logs", "-t", "--tail", "1", "clock"]);
    assert!(
        stamped
            .split(' ')
            .next()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T')),
        "{stamped}"
    );

    // --tail 1 --follow: the last line at once, new lines as they come, the end at stop.
    let mut follow = e
        .cmd()
        .args(["logs", "--tail", "1", "--follow", "clock"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("logs -f");
    let mut lines = BufReader::new(follow.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a first line").expect("read");
    let second = lines.next().expect("a new line").expect("read");
    assert_ne!(first, second);
    let stopped = Instant::now();
    e.ok(&["stop", "-t", "1", "clock"]);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = follow.wait().expect("logs -f ends");
    assert!(status.success(), "logs -f: {status}");
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "logs -f ended {:?} after stop",
        stopped.elapsed()
    );
    assert!(rest.len() < 10, "{rest:?}");
    assert!(e.ok(&["ps", "-a"]).contains("Exited (137)"));
}

#[test]
fn stop_of_a_term_ignoring_shell_takes_the_grace_period() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // A shell as PID 1 without a TERM trap ignores SIGTERM: only SIGKILL after 10 s ends it.
    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        "while true; do sleep 1; done",
    ]);
    let t = Instant::now();
    e.ok(&["stop", "stubborn"]);
    let took = t.elapsed();
    assert!(
        took > Duration::from_secs(9) && took < Duration::from_secs(15),
        "stop took {took:?}"
    );
    let ps = e.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert_eq!(inspect(&e, "stubborn")["State"]["ExitCode"], 137);
}

#[test]
fn stop_of_a_term_handler_returns_at_once_and_kill_is_immediate() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "polite",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let t = Instant::now();
    e.ok(&["stop", "polite"]);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(inspect(&e, "polite")["State"]["ExitCode"], 0);

    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "victim",
        "busybox",
        "sleep",
        "1000",
    ]);
    let t = Instant::now();
    e.ok(&["kill", "victim"]);
    wait_for("the kill to land", LIMIT, || {
        (inspect(&e, "victim")["State"]["Status"] == "exited").then_some(())
    });
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "kill took {:?}",
        t.elapsed()
    );
    assert_eq!(inspect(&e, "victim")["State"]["ExitCode"], 137);
    let again = e.run(&["kill", "victim"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not running"));
}

#[test]
fn rm_f_of_a_running_container_leaves_nothing() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e
        .ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let refused = e.run(&["rm", &id[..8]]);
    assert!(
        !refused.status.success(),
        "rm of a running container must fail"
    );
    e.ok(&["rm", "-f", &id[..8]]);
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
    let gone = e.run(&["logs", &id[..8]]);
    assert!(!gone.status.success());
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr).trim(),
        format!("berth: no such container: {}", &id[..8])
    );
}

/// Runs `hog`, a container limited to 32 MiB that allocates 64 MiB at once (dd's block),
/// asserts `run` exits 137 and inspect says OOMKilled; the inspect document.
fn run_memory_hog(e: &Engine) -> Value {
    let out = e.run(&[
        "run",
        "--network",
        "none",
        "--name",
        "hog",
        "--memory",
        "32m",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=64M",
        "count=1",
    ]);
    assert_eq!(out.status.code(), Some(137), "{out:?}");
    let c = inspect(e, "hog");
    assert_eq!(c["State"]["OOMKilled"], true, "{c}");
    c
}

#[test]
fn a_memory_hog_is_oom_killed() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let c = run_memory_hog(&e);
    assert_eq!(c["HostConfig"]["Memory"], 32 << 20);
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--memory",
        "32m",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1M",
        "count=1",
    ]);
}

#[test]
fn a_killed_monitor_leaves_a_container_that_ps_and_rm_handle() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e
        .ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let monitor: Value = serde_json::from_slice(
        &std::fs::read(
            e.runroot
                .path()
                .join("containers")
                .join(&id)
                .join("monitor.json"),
        )
        .expect("monitor.json"),
    )
    .expect("monitor json");
    let pid = monitor["pid"].as_i64().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill monitor");
    wait_for("the monitor to die", LIMIT, || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    let ps = e.ok(&["ps"]);
    assert!(
        ps.contains(&id[..12]) && ps.contains("Up "),
        "still running without its monitor: {ps}"
    );
    e.ok(&["stop", "-t", "1", &id]);
    let c = inspect(&e, &id);
    assert_eq!(c["State"]["Status"], "exited", "{c}");
    assert!(
        c["State"]["Error"]
            .as_str()
            .is_some_and(|m| m.contains("monitor")),
        "{c}"
    );
    let rootfs = e.container_dir(&id).join("bundle/rootfs");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mountinfo.contains(&rootfs.display().to_string()),
        "stop tore the orphan down"
    );
    e.ok(&["rm", "-f", &id]);
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

#[test]
fn a_cli_killed_mid_run_leaves_nothing_after_rm_f() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut cli = e
        .cmd()
        .args([
            "run",
            "--network",
            "none",
            "--name",
            "orphan",
            "busybox",
            "sleep",
            "1000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth run");
    wait_for("the container to run", LIMIT, || {
        e.ok(&["ps"]).contains("orphan").then_some(())
    });
    cli.kill().expect("kill -9 the CLI");
    let _ = cli.wait();
    let id = full_id(&e, "orphan");
    assert_eq!(
        inspect(&e, "orphan")["State"]["Status"],
        "running",
        "the container outlives its CLI"
    );
    e.ok(&["rm", "-f", "orphan"]);
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

#[test]
fn twenty_runs_and_twenty_removals_at_once() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let spawn = |args: Vec<String>| {
        let mut c: Command = e.cmd();
        c.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().expect("berth")
    };
    let runs: Vec<_> = (0..20)
        .map(|i| {
            spawn(
                [
                    "run",
                    "-d",
                    "--network",
                    "none",
                    "--name",
                    &format!("many{i}"),
                    "busybox",
                    "sleep",
                    "1000",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            )
        })
        .collect();
    let mut ids = Vec::new();
    for r in runs {
        let out = r.wait_with_output().expect("run -d");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    assert_eq!(e.ok(&["ps", "-q"]).lines().count(), 20);
    let rms: Vec<_> = ids
        .iter()
        .map(|id| spawn(vec!["rm".into(), "-f".into(), id.clone()]))
        .collect();
    for r in rms {
        let out = r.wait_with_output().expect("rm -f");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(e.all_ids().is_empty());
    for id in &ids {
        assert!(e.leaks(id).is_empty(), "{:?}", e.leaks(id));
    }
    assert!(
        std::fs::read_dir(e.root().join("names"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "names left"
    );
}

#[test]
fn user_workdir_env_hostname_and_read_only_reach_the_process() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "user",
        "-w",
        "/tmp",
        "-e",
        "A=1",
        "--hostname",
        "box",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $A; hostname; echo $HOME",
    ]);
    assert_eq!(out, "1000\n1000\n/tmp\n1\nbox\n/home/user\n");
    let ro = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "busybox",
        "touch",
        "/x",
    ]);
    assert_ne!(ro.status.code(), Some(0), "a read-only rootfs took a write");
    let unknown = e.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "nosuchuser",
        "busybox",
        "true",
    ]);
    assert_eq!(unknown.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unable to find user nosuchuser"));
    let caps = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "KILL",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert_eq!(
        caps.split_whitespace().nth(1),
        Some("0000000000000020"),
        "{caps}"
    );
}

#[test]
fn a_named_volume_keeps_data_across_containers() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let vol = format!("data{}", std::process::id());
    let spec = format!("{vol}:/data");
    e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &spec,
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(out, "kept\n");
    e.ok(&["volume", "rm", &vol]);
}

#[test]
fn no_such_container_is_named_in_the_error_and_exits_1() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    // docker: 1 for every verb's "No such container" (125 is run and create's own).
    for verb in [
        &["logs", "4f2a"][..],
        &["port", "4f2a"],
        &["top", "4f2a"],
        &["stats", "--no-stream", "4f2a"],
        &["stop", "4f2a"],
        &["rm", "4f2a"],
        &["kill", "4f2a"],
        &["wait", "4f2a"],
        &["restart", "4f2a"],
        &["start", "4f2a"],
        &["inspect", "--type", "container", "4f2a"],
        &["exec", "4f2a", "true"],
        &["attach", "4f2a"],
        &["rename", "4f2a", "xy"],
    ] {
        let out = e.run(verb);
        assert_eq!(out.status.code(), Some(1), "{verb:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no such container: 4f2a"),
            "{verb:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Without --type, inspect looks for any kind of object (docker: No such object).
    let out = e.run(&["inspect", "4f2a"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such object: 4f2a"));
}

#[test]
fn argument_errors_exit_as_dockers_and_usage_names_no_global_option() {
    let e = Engine::empty();
    // Measured with docker 28's CLI here: flag errors 125, a missing argument or an
    // unknown command 1, --help 0.
    for (args, want) in [
        (&["run", "--nosuchflag", "busybox", "true"][..], 125),
        (&["run", "--cpus", "abc", "busybox", "true"], 125),
        (&["ps", "--nosuch"], 125),
        (&["run"], 1),
        (&["nosuchcmd"], 1),
        (&["run", "--help"], 0),
        (&["--version"], 0),
    ] {
        let out = e.run(args);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {out:?}");
    }
    let out = e
        .cmd()
        .env("BERTH_ROOT", e.root())
        .arg("run")
        .output()
        .expect("berth run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Usage: berth run [OPTIONS] <IMAGE>"), "{err}");
    assert!(!err.contains("--root"), "{err}");
}

#[test]
fn follow_survives_rotation_and_the_log_stays_capped() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=2",
        "busybox",
        "sh",
        "-c",
        "sleep 1; i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); sleep 0.01; done",
    ]);
    let follow = e
        .cmd()
        .args(["logs", "-f", "chatty"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logs -f");
    let out = follow
        .wait_with_output()
        .expect("logs -f ends with the container");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let want: Vec<String> = (0..300).map(|i| format!("line{i}")).collect();
    assert_eq!(got, want, "every line once, in order, across rotations");
    let dir = e.container_dir(&full_id(&e, "chatty"));
    let logs: Vec<_> = std::fs::read_dir(&dir)
        .expect("container dir")
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().contains("-json.log"))
        .collect();
    assert_eq!(logs.len(), 2, "max-file=2 keeps two files");
    for f in &logs {
        let len = f.metadata().expect("meta").len();
        assert!(len <= 1024, "{:?} is {len} bytes", f.file_name());
    }
    let kept = e.ok(&["logs", "chatty"]);
    assert!(
        kept.ends_with("line299\n") && kept.lines().count() < 300,
        "{kept}"
    );
}

#[test]
fn create_then_start_attached_and_signals_forwarded_in_the_foreground() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e
        .ok(&[
            "create",
            "--network",
            "none",
            "--name",
            "later",
            "busybox",
            "sh",
            "-c",
            "echo ran; exit 4",
        ])
        .trim()
        .to_string();
    assert!(e.ok(&["ps", "-a"]).contains("Created"));
    assert_eq!(inspect(&e, "later")["State"]["Status"], "created");
    let out = e.run(&["start", "-a", &id[..6]]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    assert_eq!(e.ok(&["wait", "later"]).trim(), "4");

    // Ctrl-C at the foreground CLI reaches the container as SIGINT.
    let cli = e
        .cmd()
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got INT; exit 5' INT; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let pid = nix::unistd::Pid::from_raw(cli.id() as i32);
    let mut cli = cli;
    let mut lines = BufReader::new(cli.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().expect("ready").expect("read"), "ready");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    assert_eq!(lines.next().expect("trap output").expect("read"), "got INT");
    assert_eq!(cli.wait().expect("run ends").code(), Some(5));
}

#[test]
fn the_exporter_labels_engine_containers_by_name_and_image() {
    if !require_root() {
        return;
    }
    use berth_testkit::child::Spawned;
    use berth_testkit::scrape::{free_port, metrics_body, sample};
    let e = Engine::new();
    let port = free_port();
    let _exporter = Spawned(
        Command::new(berth_tests::bin("berth-exporter"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--berth-root")
            .arg(e.runtime_root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning berth-exporter"),
    );
    wait_for("the exporter to serve", LIMIT, || metrics_body(port));
    let id = e
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "web",
            "busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let who = [("name", "web"), ("image", "busybox")];
    let text = wait_for(
        "the container's series under its name and image",
        LIMIT,
        || {
            let text = metrics_body(port)?;
            sample(&text, "container_memory_usage_bytes", &who).map(|_| text)
        },
    );
    assert!(text.contains(&id), "the id is a label too: {text}");
    e.ok(&["rm", "-f", "web"]);
    wait_for("the series to go with the container", LIMIT, || {
        let text = metrics_body(port)?;
        sample(&text, "container_memory_usage_bytes", &who)
            .is_none()
            .then_some(())
    });
}

/// The engine drives runc the way it drives berth-runtime (`--runtime`), as podman does.
#[test]
fn the_course_basics_under_runc() {
    if !require_root() {
        return;
    }
    let Some(runc) = berth_testkit::tools::find_in_path("runc") else {
        eprintln!("runc not installed: skipping the comparison");
        return;
    };
    let e = Engine::new().with_runtime(runc);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "echo",
            "hello",
            "world"
        ]),
        "hello world\n"
    );
    run_memory_hog(&e);
    let id = e
        .ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    e.ok(&["kill", &id]);
    wait_for("runc's container to exit", LIMIT, || {
        (inspect(&e, &id)["State"]["ExitCode"] == 137).then_some(())
    });
    e.ok(&["rm", "-f", &id]);
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

/// `run -d` killed with SIGKILL at points spread over its whole run (before the record,
/// before the monitor, while it waits for the start): whatever each left, `ps -a` lists
/// and `rm -f` removes, leaving no container directory, mount, runtime state or cgroup.
#[test]
fn run_killed_at_any_point_leaves_what_rm_f_removes() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    for delay_ms in [0u64, 2, 5, 10, 20, 40, 80, 150, 300, 600] {
        let mut cli = e
            .cmd()
            .args(["run", "-d", "--network", "none", "busybox", "sleep", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run -d");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = cli.kill();
        let _ = cli.wait();
    }
    // Monitors spawned before the kill finish starting their containers.
    std::thread::sleep(Duration::from_secs(2));
    let ids = e.all_ids();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids.iter().map(String::as_str));
        e.ok(&args);
    }
    for id in &ids {
        assert!(e.leaks(id).is_empty(), "{:?}", e.leaks(id));
    }
    let left: Vec<String> = std::fs::read_dir(e.root().join("containers"))
        .map(|d| {
            d.flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with(".creating-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "container directories left: {left:?}");
    // The runtime's compiled seccomp programs (`@seccomp-cache`, no container's state)
    // stay for the next container.
    let rt: Vec<_> = std::fs::read_dir(e.runtime_root.path())
        .map(|d| d.flatten().map(|f| f.file_name()).collect())
        .unwrap_or_default();
    let rt: Vec<_> = rt.into_iter().filter(|n| n != "@seccomp-cache").collect();
    assert!(rt.is_empty(), "runtime state left: {rt:?}");
    // The store's own `<runroot>/netns` directory mount stays (a namespace per
    // container is bind-mounted below it); nothing else may.
    let netns_dir = e.runroot.path().join("netns").display().to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    for root in [e.root(), e.runroot.path()] {
        let r = root.display().to_string();
        let left: Vec<&str> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|mp| mp.starts_with(&r) && *mp != netns_dir)
            .collect();
        assert!(left.is_empty(), "mounts left: {left:?}");
    }
}

#[test]
fn wait_reports_the_code_of_a_container_that_rm_removed() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e
        .ok(&[
            "run",
            "-d",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "sleep 1; exit 7",
        ])
        .trim()
        .to_string();
    assert_eq!(e.ok(&["wait", &id]).trim(), "7");
    wait_for("--rm to remove it", LIMIT, || {
        e.all_ids().is_empty().then_some(())
    });
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

#[test]
fn a_non_root_process_binds_a_low_port_in_its_own_network_namespace() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // docker 20.10+: ip_unprivileged_port_start=0 and the whole ping group range in a
    // container's own network namespace; `nc -l` still listening when `timeout` ends it
    // (143) has bound port 80 as uid 1000.
    let probe = "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range; timeout 1 nc -l -p 80; echo nc=$?";
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "1000",
        "busybox",
        "sh",
        "-c",
        probe,
    ]);
    assert_eq!(out, "0\n0\t2147483647\nnc=143\n");
    // A --sysctl of the user's wins: the bind is refused again.
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "1000",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=1024",
        "busybox",
        "sh",
        "-c",
        probe,
    ]);
    assert!(
        out.starts_with("1024\n") && out.ends_with("nc=1\n"),
        "{out}"
    );
    // --network host keeps the host's value.
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .expect("host value");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "cat",
        "/proc/sys/net/ipv4/ip_unprivileged_port_start",
    ]);
    assert_eq!(out, host);
}

#[test]
fn bad_paths_and_missing_images_get_dockers_messages() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let err = |args: &[&str]| {
        let out = e.run(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        err(&["run", "--rm", "-v", "/tmp:relative", "busybox", "true"]).contains(
            "invalid mount config for type \"bind\": invalid mount path: 'relative' mount path must be absolute"
        )
    );
    assert!(
        err(&["run", "--rm", "-v", "vol:relative", "busybox", "true"]).contains(
            "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute"
        )
    );
    assert!(
        err(&["run", "--rm", "-w", "rel", "busybox", "true"])
            .contains("the working directory 'rel' is invalid, it needs to be an absolute path")
    );
    // docker names the image with its tag; the registry is a closed loopback port.
    assert!(
        err(&["run", "--rm", "127.0.0.1:1/nosuchimage", "true"])
            .contains("Unable to find image '127.0.0.1:1/nosuchimage:latest' locally")
    );
}

#[test]
fn an_attach_client_that_never_reads_does_not_delay_the_log() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // About 1 MB/s of numbered lines: a stalled client's buffers fill in well under a
    // second.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "chatty",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); printf '%d %1000s\\n' $i x; usleep 1000; done",
    ]);
    // `berth attach` whose stdout nobody reads: it stops reading the attach socket.
    let mut stalled = e
        .cmd()
        .args(["attach", "--no-stdin", "chatty"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth attach");
    std::thread::sleep(Duration::from_millis(500));
    let last = || -> u64 {
        let out = e.ok(&["logs", "--tail", "1", "chatty"]);
        out.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (mut seen, mut since) = (last(), Instant::now());
    let mut longest = Duration::ZERO;
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        let now = last();
        if now > seen {
            (seen, since) = (now, Instant::now());
        }
        longest = longest.max(since.elapsed());
    }
    let _ = stalled.kill();
    let _ = stalled.wait();
    // The monitor once waited up to its 5 s write timeout for such a client.
    assert!(
        longest < Duration::from_secs(2),
        "the log stood still for {longest:?} (last line {seen})"
    );
}

#[test]
fn start_attach_of_a_running_container_attaches_to_it() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // docker: `start -a` of a running container attaches (its start is a no-op) and
    // exits with the container's code.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "sleep 1; echo after; exit 6",
    ]);
    let out = e.run(&["start", "-a", "late"]);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "after\n");
    e.ok(&["rm", "late"]);
}

/// A container's signal dispositions are the defaults whatever the caller ignored: a
/// script's background job runs `berth run` with SIGINT and SIGQUIT ignored, and those
/// ignores would reach the container through the monitor and the runtime (a shell in it
/// could not trap INT, `berth kill -s INT` would do nothing). SIGPIPE too: both Rust
/// programs on the way ignore it for themselves.
#[test]
fn the_container_ignores_no_signal_its_caller_ignored() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut cmd = e.cmd();
    cmd.args([
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "grep",
        "SigIgn",
        "/proc/self/status",
    ]);
    // SAFETY: between fork and exec only async-signal-safe signal(2) calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = berth_tests::output_via_files(cmd);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mask = u64::from_str_radix(text.trim().trim_start_matches("SigIgn:").trim(), 16)
        .expect("a hex mask");
    // The classic signals; 32 and 33 are glibc's own.
    assert_eq!(mask & 0x7fff_ffff, 0, "ignored in the container: {text}");
}
