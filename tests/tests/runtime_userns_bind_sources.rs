//! Bind-mount sources of a container in a user namespace are opened by the runtime, not
//! by the container's root (an unprivileged uid on the host): a source under a root-owned
//! 0700 directory is bound as runc binds it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use berth_tests::{Runtime, TestBundle, cgroup_dirs_named, require_root, rootfs_copy, unique_id};
use serde_json::{Value, json};

/// The host uid/gid the container's root maps to.
const HOST_ROOT: u32 = 200000;

/// A 0700 root-owned directory holding `data/f` ("in a dir") and `single` ("a file").
fn private_sources() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    fs::create_dir(dir.path().join("data")).expect("mkdir data");
    fs::write(dir.path().join("data/f"), "in a dir\n").expect("write");
    fs::write(dir.path().join("single"), "a file\n").expect("write");
    dir
}

/// Whether the uid the container's root maps to can read `path` on its own.
fn mapped_root_can_read(path: &Path) -> bool {
    let id = HOST_ROOT.to_string();
    Command::new("setpriv")
        .args(["--reuid", &id, "--regid", &id, "--clear-groups", "cat"])
        .arg(path)
        .output()
        .expect("setpriv")
        .status
        .success()
}

/// A userns container binding the sources, on a copy of the busybox rootfs in `dir` with
/// the mount points made (the container's root may not create them in a root-owned
/// image, under runc either).
fn userns_bundle(dir: &Path, sources: &Path, args: &[&str]) -> TestBundle {
    let rootfs = rootfs_copy(dir);
    fs::create_dir_all(rootfs.join("mnt/d")).expect("mkdir /mnt/d");
    fs::write(rootfs.join("mnt/single"), "").expect("touch /mnt/single");
    let mut b = TestBundle::busybox(args);
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": HOST_ROOT, "size": 65536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        mounts.push(json!({"destination": "/mnt/d", "type": "bind",
            "source": sources.join("data"), "options": ["rbind", "ro"]}));
        mounts.push(json!({"destination": "/mnt/single", "type": "bind",
            "source": sources.join("single"), "options": ["bind"]}));
    });
    b
}

/// `run` the bundle with runc, then with berth: both succeed and print `want`.
fn runs_the_same_under_runc_and_berth(b: &mut TestBundle, want: &str) {
    for rt in [Runtime::runc(), Runtime::new()] {
        let id = unique_id("userns-bind");
        // Absolute: runc puts a relative cgroupsPath under its own cgroup.
        b.edit(|c| c["linux"]["cgroupsPath"] = Value::String(format!("/{id}")));
        let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
        let what = rt.bin.display().to_string();
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{what}");
    }
}

#[test]
fn bind_sources_under_a_0700_dir_reach_a_userns_container_as_with_runc() {
    if !require_root() {
        return;
    }
    let sources = private_sources();
    // The setting that matters: the container's root could not open these itself.
    assert!(!mapped_root_can_read(&sources.path().join("single")));
    let script = "cat /mnt/d/f /mnt/single; id -u; touch /mnt/d/new 2>/dev/null || echo read-only";
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    let mut b = userns_bundle(rootfs_dir.path(), sources.path(), &["sh", "-c", script]);
    runs_the_same_under_runc_and_berth(&mut b, "in a dir\na file\n0\nread-only\n");
    assert!(!sources.path().join("data/new").exists());
}

#[test]
fn a_missing_bind_source_of_a_userns_container_is_named_and_nothing_is_left() {
    if !require_root() {
        return;
    }
    let sources = private_sources();
    fs::remove_file(sources.path().join("single")).expect("rm");
    let rt = Runtime::new();
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    let b = userns_bundle(rootfs_dir.path(), sources.path(), &["true"]);
    let id = unique_id("userns-nosrc");
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    assert!(!out.status.success(), "run succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let missing = sources.path().join("single").display().to_string();
    assert!(
        stderr.contains(&format!("bind source {missing}")) && stderr.contains("No such file"),
        "{stderr}"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
}

/// A user namespace of its own (a `sleep` in it), with root mapped to [`HOST_ROOT`];
/// killed on drop.
struct UserNs(std::process::Child);

impl UserNs {
    fn new() -> Self {
        let child = Command::new("unshare")
            .args(["--user", "sleep", "60"])
            .spawn()
            .expect("unshare --user");
        let ns = UserNs(child);
        let pid = ns.0.id();
        // unshare(1) execs sleep once the namespace exists; the maps are written from out
        // here, as root of the parent namespace.
        let own = fs::read_link("/proc/self/ns/user").expect("own userns");
        let start = std::time::Instant::now();
        while fs::read_link(format!("/proc/{pid}/ns/user")).ok() == Some(own.clone()) {
            assert!(
                start.elapsed().as_secs() < 5,
                "unshare made no user namespace"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let map = format!("0 {HOST_ROOT} 65536");
        fs::write(format!("/proc/{pid}/uid_map"), &map).expect("uid_map");
        fs::write(format!("/proc/{pid}/gid_map"), &map).expect("gid_map");
        ns
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/user", self.0.id())
    }
}

impl Drop for UserNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_joined_user_namespace_gets_the_bind_sources_too() {
    if !require_root() {
        return;
    }
    let sources = private_sources();
    let userns = UserNs::new();
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    let mut b = userns_bundle(
        rootfs_dir.path(),
        sources.path(),
        &["sh", "-c", "cat /mnt/d/f /mnt/single; id -u"],
    );
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "user");
        // The maps stay: runc 1.1 wants them, equal to the namespace's own.
        ns.push(json!({"type": "user", "path": userns.path()}));
    });
    runs_the_same_under_runc_and_berth(&mut b, "in a dir\na file\n0\n");
}

/// The host O_PATH fds of the bind sources are closed once the mounts are made: the init
/// of a created container (waiting for `start`, its createContainer hooks run, its root
/// pivoted) holds none of them, so nothing that reaches the init reaches the host paths.
#[test]
fn the_init_holds_no_bind_source_fd_after_the_mounts() {
    if !require_root() {
        return;
    }
    let sources = private_sources();
    let rootfs_dir = tempfile::tempdir().expect("rootfs dir");
    let mut b = userns_bundle(rootfs_dir.path(), sources.path(), &["true"]);
    let rt = Runtime::new();
    let id = unique_id("userns-bind-fds");
    b.edit(|c| c["linux"]["cgroupsPath"] = Value::String(format!("/{id}")));
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let pid = rt.state(&id)["pid"].as_i64().expect("init pid");
    let fd_dir = format!("/proc/{pid}/fd");
    let targets: Vec<String> = fs::read_dir(&fd_dir)
        .expect("reading the init's fds")
        .filter_map(|e| fs::read_link(e.expect("fd entry").path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    rt.ok(&["delete", "--force", &id]);
    let src = sources.path().display().to_string();
    assert!(!targets.is_empty(), "no fds read from {fd_dir}");
    assert!(
        targets.iter().all(|t| !t.starts_with(&src)),
        "the init still holds fds of the bind sources under {src}: {targets:?}"
    );
}
