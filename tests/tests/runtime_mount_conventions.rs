//! runc's conventions for what a mount looks like when the options leave it open, checked
//! with `stat` inside a real container: a tmpfs over an existing directory keeps that
//! directory's mode, a missing mount point is made to fit the source, and the /dev and
//! cgroup tmpfs get the modes runc gives them. Values as runc (1.2+) gives them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use berth_tests::{Runtime, TestBundle, require_root, rootfs_copy, unique_id};
use serde_json::{Value, json};

/// Runs `args` in a container of `rootfs` with the extra `mounts`; returns its stdout.
fn run_in(rootfs: &Path, mounts: Vec<Value>, args: &[&str]) -> String {
    let mut b = TestBundle::busybox(args);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"].as_array_mut().expect("mounts").extend(mounts);
    });
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("mounts")]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "run failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `stat -c '%n %a'` of `paths` in a container of `rootfs` with the extra `mounts`: one
/// "path mode" line per path.
fn modes_inside(rootfs: &Path, mounts: Vec<Value>, paths: &[&str]) -> Vec<String> {
    let mut args = vec!["stat", "-c", "%n %a"];
    args.extend_from_slice(paths);
    run_in(rootfs, mounts, &args)
        .lines()
        .map(str::to_string)
        .collect()
}

fn make_dir(rootfs: &Path, rel: &str, mode: u32) {
    let dir = rootfs.join(rel);
    fs::create_dir_all(&dir).expect("creating dir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn tmpfs(dest: &str, options: &[&str]) -> Value {
    json!({ "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options })
}

#[test]
fn tmpfs_over_an_existing_directory_keeps_its_mode() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    make_dir(&rootfs, "tmp", 0o7777);
    make_dir(&rootfs, "srv/private", 0o710);
    make_dir(&rootfs, "srv/explicit", 0o755);
    let got = modes_inside(
        &rootfs,
        vec![
            tmpfs("/tmp", &[]),
            tmpfs("/srv/private", &["size=1m"]),
            // An explicit mode wins over the directory's.
            tmpfs("/srv/explicit", &["mode=1777"]),
            // Nothing there: the tmpfs default.
            tmpfs("/srv/new", &["ro"]),
        ],
        &["/tmp", "/srv/private", "/srv/explicit", "/srv/new"],
    );
    assert_eq!(
        got,
        [
            "/tmp 7777",
            "/srv/private 710",
            "/srv/explicit 1777",
            "/srv/new 1777"
        ]
    );
}

#[test]
fn dev_and_cgroup_tmpfs_get_runcs_modes() {
    if !require_root() {
        return;
    }
    let fixture_root = berth_tests::busybox_fixture().join("rootfs");
    // The fixture mounts /dev with mode=755 and a cgroup tree at /sys/fs/cgroup, whose
    // tmpfs runc mounts with mode=755 over sysfs's 0555 directory.
    let got = modes_inside(&fixture_root, vec![], &["/dev", "/sys/fs/cgroup"]);
    assert_eq!(got, ["/dev 755", "/sys/fs/cgroup 755"]);
}

#[test]
fn a_missing_mount_point_is_made_to_fit_the_source() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    let src = tempfile::tempdir().expect("source dir");
    let file = src.path().join("file");
    fs::write(&file, "data").expect("source file");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let bind = |dest: &str, source: &Path| json!({ "destination": dest, "type": "bind", "source": source, "options": ["bind"] });
    let got = modes_inside(
        &rootfs,
        vec![bind("/opt/conf/file", &file), bind("/opt/dir", src.path())],
        &["/opt/conf/file"],
    );
    // Inside: the source itself.
    assert_eq!(got, ["/opt/conf/file 600"]);
    // In the image: an empty 0644 file for a file source, 0755 directories otherwise.
    let point = fs::metadata(rootfs.join("opt/conf/file")).expect("file mount point");
    assert!(point.is_file());
    assert_eq!((point.len(), point.mode() & 0o7777), (0, 0o644));
    for dir in ["opt", "opt/conf", "opt/dir"] {
        let meta = fs::metadata(rootfs.join(dir)).expect("dir mount point");
        assert!(meta.is_dir(), "{dir}");
        assert_eq!(meta.mode() & 0o7777, 0o755, "{dir}");
    }
}

/// A private rootfs with /srv/seed holding one of each kind of entry, for `tmpcopyup`;
/// removed with the returned dir.
fn seeded_rootfs() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    seed_dir(&rootfs);
    (tmp, rootfs)
}

fn seed_dir(rootfs: &Path) {
    make_dir(rootfs, "srv/seed/sub", 0o750);
    let file = rootfs.join("srv/seed/file");
    fs::write(&file, "from the image").expect("seed file");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::chown(&file, Some(1000), Some(1000)).expect("chown");
    fs::write(rootfs.join("srv/seed/sub/deep"), "deep").expect("deep file");
    std::os::unix::fs::symlink("/etc/passwd", rootfs.join("srv/seed/link")).expect("symlink");
    nix::unistd::mkfifo(
        &rootfs.join("srv/seed/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o620),
    )
    .expect("mkfifo");
    // Exact, whatever the umask.
    fs::set_permissions(
        rootfs.join("srv/seed/fifo"),
        fs::Permissions::from_mode(0o620),
    )
    .expect("chmod fifo");
}

/// Runs `script` in a container of `rootfs` with a tmpfs on /srv/seed with `options`.
fn run_with_seed_tmpfs(rootfs: &Path, options: &[&str], script: &str) -> String {
    run_in(
        rootfs,
        vec![tmpfs("/srv/seed", options)],
        &["sh", "-c", script],
    )
}

#[test]
fn tmpcopyup_starts_the_tmpfs_with_a_copy_of_the_directory() {
    if !require_root() {
        return;
    }
    let (_tmp, rootfs) = seeded_rootfs();
    let out = run_with_seed_tmpfs(
        &rootfs,
        &["tmpcopyup"],
        "cd /srv/seed && stat -f -c %T . && stat -c '%n %F %a %u' file sub sub/deep fifo \
         && readlink link && cat file && echo changed > file",
    );
    assert_eq!(
        out,
        "tmpfs\n\
         file regular file 640 1000\n\
         sub directory 750 0\n\
         sub/deep regular file 644 0\n\
         fifo fifo 620 0\n\
         /etc/passwd\n\
         from the image"
    );
    // Written to the tmpfs, not to the image.
    assert_eq!(
        fs::read_to_string(rootfs.join("srv/seed/file")).expect("image file"),
        "from the image"
    );
}

#[test]
fn tmpcopyup_with_ro_is_filled_then_read_only() {
    if !require_root() {
        return;
    }
    let (_tmp, rootfs) = seeded_rootfs();
    let out = run_with_seed_tmpfs(
        &rootfs,
        &["tmpcopyup", "ro"],
        "cat /srv/seed/sub/deep; echo; touch /srv/seed/new 2>/dev/null || echo read-only",
    );
    assert_eq!(out, "deep\nread-only\n");
}

/// `levels` nested directories `d` under `rootfs`/srv/seed, the last holding `leaf`.
fn nested_seed(rootfs: &Path, levels: usize) {
    let deepest = rootfs.join("srv/seed").join(vec!["d"; levels].join("/"));
    fs::create_dir_all(&deepest).expect("nested dirs");
    fs::write(deepest.join("leaf"), "bottom").expect("leaf");
}

/// The copy goes 256 directories deep (each level holds fds and a stack frame in the
/// init); an image's deeper tree fails the container with the path named, instead of
/// running out of fds or stack.
#[test]
fn tmpcopyup_copies_256_levels_and_refuses_deeper_by_name() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    nested_seed(&rootfs, 256);
    let leaf = format!("/srv/seed/{}/leaf", ["d"; 256].join("/"));
    let out = run_in(
        &rootfs,
        vec![tmpfs("/srv/seed", &["tmpcopyup"])],
        &["cat", &leaf],
    );
    assert_eq!(out, "bottom");

    let tmp = tempfile::tempdir().expect("temp dir");
    let rootfs = rootfs_copy(tmp.path());
    nested_seed(&rootfs, 257);
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(tmpfs("/srv/seed", &["tmpcopyup"]));
    });
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("mounts")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a 257-level copy-up ran");
    assert!(
        err.contains(&format!("copying /{}", ["d"; 257].join("/")))
            && err.contains("directories nested deeper than 256"),
        "{err}"
    );
}

#[test]
fn without_tmpcopyup_the_tmpfs_starts_empty() {
    if !require_root() {
        return;
    }
    let (_tmp, rootfs) = seeded_rootfs();
    let out = run_with_seed_tmpfs(&rootfs, &[], "ls -A /srv/seed | wc -l");
    assert_eq!(out.trim(), "0");
}

#[test]
fn a_read_only_dev_gets_its_devices_and_submounts_first() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "awk '$5 == \"/dev\" { opts = $6 } END { print opts }' /proc/self/mountinfo; \
         echo x > /dev/null && echo null-writable; test -d /dev/pts/ && echo pts; \
         touch /dev/new 2>/dev/null || echo read-only",
    ]);
    b.edit(|c| {
        for m in c["mounts"].as_array_mut().expect("mounts") {
            if m["destination"] == "/dev" {
                m["options"]
                    .as_array_mut()
                    .expect("options")
                    .push(json!("ro"));
            }
        }
    });
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("dev-ro")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("ro,"),
        "/dev mount options: {}",
        lines[0]
    );
    assert_eq!(lines[1..], ["null-writable", "pts", "read-only"]);
}
