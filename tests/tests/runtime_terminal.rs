//! A foreground container on the caller's terminal (`run`, `exec -t` with `terminal: true`
//! and no --console-socket), as `runc run` does it: each test runs berth-runtime on a
//! real pty of its own and types into it as a person would.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::pty::PtySession;
use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use nix::sys::termios::{LocalFlags, Termios};
use serde_json::json;

/// The terminal modes a person notices: line editing, echo, and CR/NL handling.
fn assert_same_modes(before: &Termios, after: &Termios) {
    assert_eq!(before.local_flags, after.local_flags, "local modes");
    assert_eq!(before.input_flags, after.input_flags, "input modes");
    assert_eq!(before.output_flags, after.output_flags, "output modes");
    assert_eq!(
        before.control_chars, after.control_chars,
        "control characters"
    );
}

fn terminal_bundle(args: &[&str]) -> TestBundle {
    let mut b = TestBundle::busybox(args);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    b
}

fn run_on_pty(rt: &Runtime, b: &TestBundle, id: &str, rows: u16, cols: u16) -> PtySession {
    let mut cmd = rt.cmd();
    cmd.args(["run", "--bundle", b.path_str(), id]);
    PtySession::spawn(cmd, rows, cols)
}

#[test]
fn run_puts_the_container_on_the_callers_terminal_and_exits_with_its_code() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-run");
    let b = terminal_bundle(&["sh"]);
    let mut pty = run_on_pty(&rt, &b, &id, 24, 80);
    let before = pty.modes();
    pty.expect("# ");
    // While the container runs, our terminal is raw: keys go through unedited, the
    // container's pty does the echoing and line editing.
    let raw = pty.modes();
    assert!(
        !raw.local_flags.contains(LocalFlags::ICANON),
        "caller's terminal not raw"
    );
    assert!(
        !raw.local_flags.contains(LocalFlags::ECHO),
        "caller's terminal still echoes"
    );
    pty.send(b"echo hi-$((40+2)); tty; exit 3\r");
    assert_eq!(pty.exit_code(), 3, "terminal shows {:?}", pty.text());
    let text = pty.text();
    assert!(text.contains("hi-42\r\n"), "output {text:?}");
    // One CR per line: neither side may add a second.
    assert!(!text.contains("\r\r\n"), "output {text:?}");
    assert!(
        text.contains("/dev/pts/0"),
        "the container's own pty: {text:?}"
    );
    assert_same_modes(&before, &pty.modes());
    assert!(!rt.root.path().join(&id).exists(), "run left its container");
}

#[test]
fn resizing_the_callers_terminal_resizes_the_containers() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-size");
    let mut b = terminal_bundle(&["sh"]);
    // The caller's size wins over the spec's from the start, as in runc.
    b.edit(|c| c["process"]["consoleSize"] = json!({"height": 10, "width": 10}));
    let mut pty = run_on_pty(&rt, &b, &id, 24, 80);
    pty.expect("# ");
    pty.shell_sees_size(24, 80);
    pty.resize(40, 120);
    pty.shell_sees_size(40, 120);
    pty.send(b"exit 0\r");
    assert_eq!(pty.exit_code(), 0);
}

#[test]
fn ctrl_c_reaches_the_containers_foreground_process() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-intr");
    let b = terminal_bundle(&["sh", "-c", "echo ready; sleep 100; echo after $?"]);
    let mut pty = run_on_pty(&rt, &b, &id, 24, 80);
    let before = pty.modes();
    pty.expect("ready");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    pty.send(b"\x03");
    assert_eq!(pty.exit_code(), 130, "terminal shows {:?}", pty.text());
    assert!(started.elapsed() < Duration::from_secs(10), "sleep ran on");
    assert!(
        pty.text().contains("^C"),
        "the pty echoes ^C: {:?}",
        pty.text()
    );
    assert_same_modes(&before, &pty.modes());
}

#[test]
fn modes_are_restored_when_the_container_fails_to_start() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-fail");
    let mut b = terminal_bundle(&["sh"]);
    // Fails `start`, after the terminal was taken over at the end of `create`.
    b.edit(|c| c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]}));
    let mut pty = run_on_pty(&rt, &b, &id, 24, 80);
    let before = pty.modes();
    let code = pty.exit_code();
    assert_ne!(code, 0, "terminal shows {:?}", pty.text());
    assert_same_modes(&before, &pty.modes());
    assert!(!rt.root.path().join(&id).exists(), "run left its container");
}

#[test]
fn exec_t_runs_on_the_callers_terminal() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-exec");
    let b = TestBundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);

    let mut cmd = rt.cmd();
    cmd.args(["exec", "-t", &id, "sh"]);
    let mut pty = PtySession::spawn(cmd, 30, 100);
    let before = pty.modes();
    pty.expect("# ");
    pty.shell_sees_size(30, 100);
    pty.resize(50, 132);
    pty.shell_sees_size(50, 132);
    pty.send(b"echo in-$(cat /proc/1/comm); exit 5\r");
    assert_eq!(pty.exit_code(), 5, "terminal shows {:?}", pty.text());
    assert!(pty.text().contains("in-sleep\r\n"), "{:?}", pty.text());
    assert!(!pty.text().contains("\r\r\n"), "{:?}", pty.text());
    assert_same_modes(&before, &pty.modes());

    // Ctrl-C ends an exec'd `sleep` (not the container's pid 1, so SIGINT kills it).
    let mut cmd = rt.cmd();
    cmd.args(["exec", "-t", &id, "sh", "-c", "echo ready; exec sleep 100"]);
    let mut pty = PtySession::spawn(cmd, 24, 80);
    pty.expect("ready");
    std::thread::sleep(Duration::from_millis(300));
    pty.send(b"\x03");
    assert_eq!(pty.exit_code(), 130, "terminal shows {:?}", pty.text());
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn a_terminal_without_console_socket_is_refused_when_the_runtime_detaches() {
    if !require_root() {
        return;
    }
    const RUNC_SAYS: &str =
        "cannot allocate tty if runc will detach without setting console socket";
    let rt = Runtime::new();
    let b = terminal_bundle(&["true"]);
    for verb in [&["create"][..], &["run", "--detach"][..]] {
        let id = unique_id("term-detach");
        let mut args = verb.to_vec();
        args.extend(["--bundle", b.path_str(), &id]);
        let out = rt.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{verb:?} succeeded");
        assert!(err.contains(RUNC_SAYS), "{verb:?}: {err}");
        assert!(!rt.root.path().join(&id).exists(), "{verb:?} left {id}");
    }
    let id = unique_id("term-detach-exec");
    let plain = TestBundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", plain.path_str(), &id]);
    let out = rt.run(&["exec", "--detach", "--tty", &id, "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(RUNC_SAYS), "exec -d -t: {err}");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn without_a_terminal_the_pty_is_still_proxied() {
    // Unlike runc, which fails with "open /dev/tty", a caller with no terminal at all (a
    // script, CI) still gets the container's terminal output.
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("term-none");
    let b = terminal_bundle(&["sh", "-c", "test -t 0 && echo stdin-is-a-tty; exit 7"]);
    let mut cmd = rt.cmd();
    cmd.args(["run", "--bundle", b.path_str(), &id])
        .stdin(Stdio::null());
    // SAFETY: setsid is async-signal-safe. A new session has no controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    let out = cmd.output().expect("berth-runtime");
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stdin-is-a-tty"));
}
