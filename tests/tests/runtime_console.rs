//! `terminal: true`: the pty master arrives over --console-socket, as with runc.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use serde_json::json;

/// Accept one connection and receive the fd runc-style clients send with SCM_RIGHTS.
fn receive_pty_master(listener: &UnixListener) -> (OwnedFd, String) {
    let (conn, _) = listener.accept().expect("console socket accept");
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            fd = fds.first().copied();
        }
    }
    let n = msg.bytes;
    let name = String::from_utf8_lossy(&name[..n]).into_owned();
    // SAFETY: the fd came to us through SCM_RIGHTS and nothing else owns it.
    (
        unsafe { OwnedFd::from_raw_fd(fd.expect("no fd in SCM_RIGHTS")) },
        name,
    )
}

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("console-socket"));
    assert!(!rt.root.path().join(&id).exists());
}
