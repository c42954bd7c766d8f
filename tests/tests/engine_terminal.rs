//! `berth run -it`, `attach` and their terminal, end to end as root: each test runs
//! `berth` on a real pty of its own (tests/src/pty.rs) and types into it as a person
//! would; the container's shell is busybox's. Containers use `--network none`.

use std::time::{Duration, Instant};

use berth_testkit::wait::wait_for;
use berth_tests::engine::Engine;
use berth_tests::pty::PtySession;
use berth_tests::require_root;
use serde_json::Value;

fn on_pty(e: &Engine, args: &[&str], rows: u16, cols: u16) -> PtySession {
    let mut cmd = e.cmd();
    cmd.args(args);
    PtySession::spawn(cmd, rows, cols)
}

/// `berth run FLAGS --network none busybox CMD...` on a pty of `rows` x `cols`.
fn run_on_pty(e: &Engine, flags: &[&str], cmd: &[&str], rows: u16, cols: u16) -> PtySession {
    let mut args = vec!["run"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--network", "none", "busybox"]);
    args.extend_from_slice(cmd);
    on_pty(e, &args, rows, cols)
}

fn running(e: &Engine, c: &str) -> bool {
    let v: Value = serde_json::from_str(&e.ok(&["inspect", c])).expect("inspect JSON");
    v[0]["State"]["Running"] == Value::Bool(true)
}

#[test]
fn run_it_types_into_the_shell_and_exits_with_its_code() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut s = run_on_pty(&e, &["-it", "--rm"], &["sh"], 24, 80);
    let before = s.modes();
    s.send(b"echo hi; exit 3\r");
    // The echo of the typed line holds "hi;" ; the command's output is a line of its own.
    s.expect("\r\nhi\r\n");
    assert_eq!(s.exit_code(), 3, "terminal shows {:?}", s.text());
    let after = s.modes();
    assert_eq!(before.local_flags, after.local_flags, "raw mode left on");
    assert_eq!(before.input_flags, after.input_flags, "raw mode left on");
    assert_eq!(before.output_flags, after.output_flags, "raw mode left on");
    assert!(e.all_ids().is_empty(), "--rm left a container");
}

#[test]
fn the_window_size_reaches_the_container_and_follows_a_resize() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut s = run_on_pty(&e, &["-it", "--rm"], &["sh"], 31, 97);
    // The first size is sent before the container starts.
    s.shell_sees_size(31, 97);
    // A terminal emulator's resize: SIGWINCH to berth, a resize message to the monitor.
    s.resize(42, 123);
    s.shell_sees_size(42, 123);
    s.send(b"exit 0\r");
    assert_eq!(s.exit_code(), 0);
}

#[test]
fn ctrl_c_interrupts_the_containers_foreground_process() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut s = run_on_pty(&e, &["-it", "--rm"], &["sh"], 24, 80);
    s.send(b"echo ready-$((40+2))\r");
    s.expect("ready-42");
    s.send(b"sleep 100; echo slept-$((1+1))\r");
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    // ctrl-c in raw mode is a byte; the container's pty makes it SIGINT for `sleep`.
    s.send(&[0x03]);
    s.send(b"echo after-$((2+3))\r");
    s.expect("after-5");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "sleep was not interrupted"
    );
    assert!(!s.text().contains("slept-2"), "{:?}", s.text());
    s.send(b"exit 7\r");
    assert_eq!(s.exit_code(), 7);
}

#[test]
fn attach_reaches_a_detached_terminal_and_ctrl_p_ctrl_q_leaves_it_running() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-dit",
        "--name",
        "term",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    let mut s = on_pty(&e, &["attach", "term"], 24, 80);
    wait_for(
        "the attached shell to answer",
        Duration::from_secs(20),
        || {
            s.send(b"echo attached-$((3*3))\r");
            s.pump(Duration::from_millis(300));
            s.text().contains("attached-9").then_some(())
        },
    );
    s.send(&[0x10, 0x11]);
    assert_eq!(s.exit_code(), 0, "detach: {:?}", s.text());
    assert!(running(&e, "term"), "the container stopped on detach");
    // The terminal is still there for the next client.
    let mut again = on_pty(&e, &["attach", "term"], 24, 80);
    wait_for(
        "the shell after a re-attach",
        Duration::from_secs(20),
        || {
            again.send(b"echo back-$((5*5))\r");
            again.pump(Duration::from_millis(300));
            again.text().contains("back-25").then_some(())
        },
    );
    again.send(b"exit 4\r");
    assert_eq!(again.exit_code(), 4);
    let code = e.ok(&["wait", "term"]);
    assert_eq!(code.trim(), "4");
}

#[test]
fn with_t_alone_ctrl_c_is_berths_sigint_forwarded_to_the_container() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // No -i: the terminal stays cooked, ctrl-c signals berth, berth signals the container.
    let mut s = run_on_pty(
        &e,
        &["-t", "--rm"],
        &[
            "sh",
            "-c",
            "trap 'echo got-int; exit 9' INT; echo armed; sleep 100 & wait",
        ],
        24,
        80,
    );
    s.expect("armed");
    s.send(&[0x03]);
    s.expect("got-int");
    assert_eq!(s.exit_code(), 9, "{:?}", s.text());
}

#[test]
fn a_berth_killed_by_sigterm_gives_the_terminal_back() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let mut s = run_on_pty(&e, &["-it", "--name", "killed"], &["sh"], 24, 80);
    let before = s.modes();
    s.send(b"echo up-$((6*7))\r");
    s.expect("up-42");
    assert_ne!(
        before.local_flags,
        s.modes().local_flags,
        "the terminal is raw during the session"
    );
    let pid = nix::unistd::Pid::from_raw(s.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("kill");
    assert_eq!(s.exit_code(), 128 + 15);
    let after = s.modes();
    assert_eq!(before.local_flags, after.local_flags, "raw mode left on");
    assert_eq!(before.input_flags, after.input_flags, "raw mode left on");
    // As after a detach: the container runs on.
    assert!(running(&e, "killed"));
}

#[test]
fn with_t_alone_a_resize_still_reaches_the_container() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    // No -i: signals are forwarded by one thread, SIGWINCH taken by another.
    let mut s = run_on_pty(
        &e,
        &["-t", "--rm"],
        &[
            "sh",
            "-c",
            "trap 'echo winch-$(stty size)' WINCH; echo armed; \
             for i in $(seq 200); do sleep 0.1; done",
        ],
        24,
        80,
    );
    s.expect("armed");
    s.resize(30, 100);
    s.expect("winch-30 100");
    let pid = nix::unistd::Pid::from_raw(s.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill");
}

#[test]
fn start_a_i_runs_a_created_tty_container_on_the_terminal() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "create",
        "-it",
        "--name",
        "later",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    let mut s = on_pty(&e, &["start", "-a", "-i", "later"], 26, 88);
    s.shell_sees_size(26, 88);
    s.send(b"exit 12\r");
    assert_eq!(s.exit_code(), 12, "{:?}", s.text());
    let v: Value = serde_json::from_str(&e.ok(&["inspect", "later"])).expect("inspect");
    assert_eq!(v[0]["State"]["ExitCode"], 12);
    assert_eq!(v[0]["Config"]["Tty"], true);
}

#[test]
fn run_it_under_runc_gets_the_pty_through_the_console_socket() {
    if !require_root() {
        return;
    }
    let Some(runc) = berth_testkit::tools::find_in_path("runc") else {
        eprintln!("runc is not installed: skipped");
        return;
    };
    let e = Engine::new().with_runtime(runc);
    let mut s = run_on_pty(&e, &["-it", "--rm"], &["sh"], 29, 101);
    s.shell_sees_size(29, 101);
    s.resize(35, 120);
    s.shell_sees_size(35, 120);
    s.send(b"exit 3\r");
    assert_eq!(s.exit_code(), 3, "{:?}", s.text());
}

#[test]
fn attach_takes_other_detach_keys_and_refuses_bad_ones() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-dit",
        "--name",
        "keys",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    let bad = e.run(&["attach", "--detach-keys", "ctrl-1", "keys"]);
    // docker's CLI: 1 for a verb's failure (125 is run and create's).
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid detach key \"ctrl-1\""),
        "{bad:?}"
    );
    let mut s = on_pty(&e, &["attach", "--detach-keys", "x,ctrl-x", "keys"], 24, 80);
    wait_for(
        "the attached shell to answer",
        Duration::from_secs(20),
        || {
            s.send(b"echo keyed-$((2*4))\r");
            s.pump(Duration::from_millis(300));
            s.text().contains("keyed-8").then_some(())
        },
    );
    // ctrl-p ctrl-q are now keys like others; x then ctrl-x detaches.
    s.send(&[0x10, 0x11, b'x', 0x18]);
    assert_eq!(s.exit_code(), 0, "detach: {:?}", s.text());
    assert!(running(&e, "keys"));
}
