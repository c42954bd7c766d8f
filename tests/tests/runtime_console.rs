//! `terminal: true`: the pty master arrives over --console-socket, as with runc.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use berth_tests::{Runtime, TestBundle, receive_pty_master, require_root, unique_id};
use serde_json::json;

#[test]
fn terminal_output_arrives_on_the_pty_master() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("tty");
    let sock_dir = tempfile::tempdir().expect("tempdir");
    let sock = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).expect("bind console socket");
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && echo stdio-is-a-tty; stty size",
    ]);
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 33, "width": 111});
    });
    let receiver = std::thread::spawn(move || receive_pty_master(&listener));
    rt.ok(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        sock.to_str().expect("utf-8"),
        &id,
    ]);
    let (master, name) = receiver.join().expect("receiver thread");
    assert!(name.starts_with("/dev/pts/"), "pty name {name}");
    rt.ok(&["start", &id]);

    let mut out = Vec::new();
    let mut f = std::fs::File::from(master);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1024];
    // Reading the master ends with EIO once the last slave fd closes.
    while Instant::now() < deadline {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("/dev/pts/0"), "tty output: {text:?}");
    assert!(text.contains("stdio-is-a-tty"), "tty output: {text:?}");
    assert!(text.contains("33 111"), "console size: {text:?}");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn terminal_without_console_socket_is_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("tty-nosock");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert!(!out.status.success());
    // runc's words: `create` detaches, so nobody would hold the pty master.
    assert!(String::from_utf8_lossy(&out.stderr).contains("without setting console socket"));
    assert!(!rt.root.path().join(&id).exists());
}
