//! What the runtime fills in for the container process when the config leaves it out, as
//! runc does and clients (docker, podman) rely on: a missing `process.cwd` is created, and
//! `HOME` comes from the container's `/etc/passwd`. Both read or write the image, which
//! is untrusted, so each is also checked against an image that tries to reach the host.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use berth_tests::{Runtime, TestBundle, require_root, rootfs_copy, unique_id};
use serde_json::json;

/// Runs the bundle; returns (exit code, stdout, stderr).
fn run(b: &TestBundle) -> (i32, String, String) {
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("defaults")]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_rootfs(b: &mut TestBundle, rootfs: &Path) {
    b.edit(|c| c["root"]["path"] = json!(rootfs));
}

#[test]
fn missing_cwd_is_created_and_entered() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    let mut b = TestBundle::busybox(&["sh", "-c", "pwd; stat -c '%a %u' ."]);
    with_rootfs(&mut b, &rootfs);
    b.edit(|c| c["process"]["cwd"] = json!("/does/not/exist"));
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "/does/not/exist\n755 0\n");
    assert!(rootfs.join("does/not/exist").is_dir());
}

#[test]
fn missing_cwd_is_created_before_the_root_becomes_read_only() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    let mut b = TestBundle::busybox(&["sh", "-c", "pwd; touch here || echo read-only"]);
    with_rootfs(&mut b, &rootfs);
    b.edit(|c| {
        c["process"]["cwd"] = json!("/srv/app");
        c["root"]["readonly"] = json!(true);
    });
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "/srv/app\nread-only\n");
    assert!(rootfs.join("srv/app").is_dir());
}

#[test]
fn missing_cwd_behind_a_symlink_is_created_inside_the_root() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    let host = tempfile::tempdir().expect("host dir");
    // Absolute and climbing: followed naively from the host it would land in `host`.
    let target = format!("/../../../../../..{}", host.path().display());
    symlink(&target, rootfs.join("escape")).expect("planting symlink");
    let mut b = TestBundle::busybox(&["pwd"]);
    with_rootfs(&mut b, &rootfs);
    b.edit(|c| c["process"]["cwd"] = json!("/escape/made"));

    // Dangling inside the root: refused (never followed on the host), as runc's
    // MkdirAllInRoot refuses it.
    let (code, _, err) = run(&b);
    assert_ne!(code, 0, "a cwd through a dangling symlink was accepted");
    assert!(err.contains("creating cwd"), "stderr: {err}");
    assert!(
        !host.path().join("made").exists(),
        "cwd created on the host"
    );

    // Pointing at a directory inside the root: followed there.
    let inside = rootfs.join(host.path().strip_prefix("/").expect("absolute"));
    fs::create_dir_all(&inside).expect("target inside the root");
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    // The shell reports the directory it is in: the symlink's target, inside the root.
    assert_eq!(out, format!("{}/made\n", host.path().display()));
    assert!(inside.join("made").is_dir(), "cwd not created in the root");
    assert!(
        !host.path().join("made").exists(),
        "cwd created on the host"
    );
}

/// What `echo $HOME` prints in a container of `uid` with `env` (PATH is always kept).
fn home_seen(uid: u32, env: &[&str]) -> String {
    let mut b = TestBundle::busybox(&["sh", "-c", "echo \"$HOME\""]);
    b.edit(|c| {
        c["process"]["user"] = json!({ "uid": uid, "gid": uid });
        let env_list = c["process"]["env"].as_array_mut().expect("env");
        env_list.extend(env.iter().map(|e| json!(e)));
    });
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    out.trim_end_matches('\n').to_string()
}

#[test]
fn home_comes_from_the_containers_passwd() {
    if !require_root() {
        return;
    }
    // The fixture's /etc/passwd: root:/root, user (1000):/home/user, no entry for 1234.
    assert_eq!(home_seen(0, &[]), "/root");
    assert_eq!(home_seen(1000, &[]), "/home/user");
    assert_eq!(home_seen(1234, &[]), "/");
}

#[test]
fn an_explicit_home_is_kept() {
    if !require_root() {
        return;
    }
    assert_eq!(home_seen(0, &["HOME=/custom"]), "/custom");
    assert_eq!(home_seen(1234, &["HOME=/data"]), "/data");
}

#[test]
fn exec_gets_home_too() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["sleep", "30"]);
    let id = unique_id("home-exec");
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    assert_eq!(rt.ok(&["exec", &id, "sh", "-c", "echo $HOME"]), "/root\n");
    assert_eq!(
        rt.ok(&["exec", "--user", "1000:1000", &id, "sh", "-c", "echo $HOME"]),
        "/home/user\n"
    );
    assert_eq!(
        rt.ok(&["exec", "--env", "HOME=/x", &id, "sh", "-c", "echo $HOME"]),
        "/x\n"
    );
}

/// The passwd file is read without /proc: a container without a /proc mount gets its
/// HOME all the same (runc's too).
#[test]
fn home_comes_from_passwd_without_a_proc_mount() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "echo \"$HOME\"; test -e /proc/self || echo no-proc",
    ]);
    b.edit(|c| {
        c["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        mounts.retain(|m| m["destination"] != "/proc");
        // Without /proc, masking paths under it has nothing to mask.
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "/home/user\nno-proc\n");
}

#[test]
fn passwd_outside_the_root_or_not_a_file_is_not_read() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    let host = tempfile::tempdir().expect("host dir");
    fs::write(
        host.path().join("passwd"),
        "root:x:0:0:root:/host-secret:/bin/sh\n",
    )
    .expect("host passwd");
    let passwd = rootfs.join("etc/passwd");
    fs::remove_file(&passwd).expect("removing passwd");
    // A symlink climbing out of the root: resolved inside it, where nothing is found.
    let target = format!("/../../../../../..{}/passwd", host.path().display());
    symlink(&target, &passwd).expect("planting symlink");
    let mut b = TestBundle::busybox(&["sh", "-c", "echo \"$HOME\""]);
    with_rootfs(&mut b, &rootfs);
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "/\n");

    // A FIFO would block a reader forever; it is not opened.
    fs::remove_file(&passwd).expect("removing symlink");
    nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("mkfifo");
    let (code, out, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "/\n");
    assert_eq!(
        fs::metadata(&passwd).expect("fifo").mode() & 0o170000,
        0o010000
    );
}

/// The container process's ignored signals, as `/proc/self/status` shows them, under
/// berth-runtime and runc from the same caller: the runtime's own SIGPIPE ignore (Rust's
/// runtime sets it) must not reach the container (`yes | head` would see EPIPE).
#[test]
fn the_container_process_starts_with_the_ignored_signals_runc_gives_it() {
    if !require_root() {
        return;
    }
    let b = TestBundle::busybox(&["grep", "SigIgn", "/proc/self/status"]);
    let (code, berth, err) = run(&b);
    assert_eq!(code, 0, "stderr: {err}");
    let mask = u64::from_str_radix(berth.trim().trim_start_matches("SigIgn:").trim(), 16)
        .expect("a hex mask");
    assert_eq!(
        mask & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE ignored: {berth}"
    );
    let runc = berth_tests::Runtime::runc();
    let out = runc.run(&["run", "--bundle", b.path_str(), &unique_id("defaults-runc")]);
    assert!(out.status.success(), "{out:?}");
    // The classic signals (1-31); 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID),
    // never a program's to handle, and show up here as inherited from the test harness.
    let classic = |text: &str| {
        u64::from_str_radix(text.trim().trim_start_matches("SigIgn:").trim(), 16)
            .expect("a hex mask")
            & 0x7fff_ffff
    };
    assert_eq!(
        classic(&berth),
        classic(&String::from_utf8_lossy(&out.stdout)),
        "berth {berth:?} vs runc {:?}",
        out.stdout
    );
}
