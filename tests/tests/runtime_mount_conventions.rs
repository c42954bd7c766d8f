//! runc's conventions for what a mount looks like when the options leave it open, checked
//! with `stat` inside a real container: a tmpfs over an existing directory keeps that
//! directory's mode, a missing mount point is made to fit the source, and the /dev and
//! cgroup tmpfs get the modes runc gives them. Values as runc (1.2+) gives them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use berth_tests::{Runtime, TestBundle, require_root, rootfs_copy, unique_id};
use serde_json::{Value, json};

/// Runs `stat -c '%n %a'` on `paths` in a container of `rootfs` with the extra `mounts`;
/// returns one "path mode" line per path.
fn modes_inside(rootfs: &Path, mounts: Vec<Value>, paths: &[&str]) -> Vec<String> {
    let mut args = vec!["stat", "-c", "%n %a"];
    args.extend_from_slice(paths);
    let mut b = TestBundle::busybox(&args);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"].as_array_mut().expect("mounts").extend(mounts);
    });
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("mounts")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
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
