//! Mount options are applied or refused, never dropped: the recursive ones (`rro`,
//! `rnoexec`, `rnoatime`, ...) reach every mount below a bind, the plain ones only the
//! bind itself (as runc 1.1.5 does on this machine), an explicit `rw` wins over a
//! read-only source, and an option berth cannot apply fails create with the reason.
//! Checked with writes, exec and /proc/self/mountinfo inside real containers.

use std::fs;
use std::path::{Path, PathBuf};

use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use serde_json::{Value, json};

/// A host directory holding a submount (a tmpfs at `sub`), unmounted on drop.
struct HostTree {
    dir: tempfile::TempDir,
    mounts: Vec<PathBuf>,
}

impl HostTree {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-mntopt-")
            .tempdir()
            .expect("temp dir");
        let mut t = Self {
            dir,
            mounts: Vec::new(),
        };
        let sub = t.path().join("sub");
        fs::create_dir(&sub).expect("mkdir sub");
        mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=8m"),
        )
        .expect("mounting the tmpfs submount");
        t.mounts.push(sub);
        t
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Make the tree's top directory read-only (a recursive bind of itself, so the
    /// submount stays visible and writable).
    fn make_top_read_only(&mut self) {
        let top = self.path().to_path_buf();
        mount(
            Some(&top),
            &top,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .expect("binding the tree onto itself");
        self.mounts.insert(0, top.clone());
        mount(
            None::<&str>,
            &top,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .expect("remounting the top read-only");
    }
}

impl Drop for HostTree {
    fn drop(&mut self) {
        // A bind of the top first (detaching it takes its copy of the submount along),
        // then the submount itself.
        for m in &self.mounts {
            let _ = umount2(m, MntFlags::MNT_DETACH);
        }
    }
}

/// Runs `script` in a container with `tree` bound on /mnt with `options`; returns its
/// stdout and stderr together, or the runtime's error if create failed.
fn run_with_bind(tree: &HostTree, options: &[&str], script: &str) -> Result<String, String> {
    let mut b = TestBundle::busybox(&["sh", "-c", script]);
    let bind = json!({
        "destination": "/mnt", "type": "bind",
        "source": tree.path(), "options": options,
    });
    b.edit(|c| c["mounts"].as_array_mut().expect("mounts").push(bind));
    run(&b)
}

fn run(b: &TestBundle) -> Result<String, String> {
    let rt = Runtime::new();
    let id = unique_id("mntopt");
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        // Nothing may be left behind by a refused create.
        assert!(!rt.run(&["state", &id]).status.success(), "{id} was left");
        Err(text)
    }
}

/// Prints "<dir> writable" or "<dir> read-only" for each of /mnt and /mnt/sub (or the
/// error of another failure). Writes nothing into the shared rootfs.
const WRITE_BOTH: &str = "for d in /mnt /mnt/sub; do \
     if err=$(touch $d/probe 2>&1); then echo $d writable; \
     else case $err in *'Read-only file system'*) echo $d read-only;; *) echo $err;; esac; \
     fi; done";

/// The mount options (mountinfo field 6) of /mnt and /mnt/sub, one line each.
const OPTIONS_OF_BOTH: &str =
    "awk '$5 == \"/mnt\" || $5 == \"/mnt/sub\" { print $5, $6 }' /proc/self/mountinfo";

fn ok(r: Result<String, String>) -> String {
    r.unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Whether /mnt and /mnt/sub take a write with `tree` bound on /mnt with `options`.
fn writes(tree: &HostTree, options: &[&str]) -> Vec<String> {
    let out = ok(run_with_bind(tree, options, WRITE_BOTH));
    out.lines().map(str::to_string).collect()
}

#[test]
fn rro_makes_a_bind_and_every_mount_below_it_read_only() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    assert_eq!(
        writes(&tree, &["rbind", "rro"]),
        ["/mnt read-only", "/mnt/sub read-only"]
    );
    // Later options win, as for the plain ones.
    assert_eq!(
        writes(&tree, &["rbind", "rro", "rrw"]),
        ["/mnt writable", "/mnt/sub writable"]
    );
}

#[test]
fn ro_without_r_leaves_a_submount_writable_as_runc_does() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    assert_eq!(
        writes(&tree, &["rbind", "ro"]),
        ["/mnt read-only", "/mnt/sub writable"]
    );
}

#[test]
fn rnoexec_and_rnosuid_reach_every_mount_below() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    let busybox = berth_tests::busybox_fixture().join("rootfs/bin/busybox");
    fs::copy(&busybox, tree.path().join("sub/busybox")).expect("copying busybox");
    let script = format!(
        "{OPTIONS_OF_BOTH}; /mnt/sub/busybox true 2>/dev/null && echo exec-ran || echo exec-refused"
    );
    let out = ok(run_with_bind(
        &tree,
        &["rbind", "rnoexec", "rnosuid"],
        &script,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for line in &lines[..2] {
        let opts: Vec<&str> = line
            .split_once(' ')
            .expect("path opts")
            .1
            .split(',')
            .collect();
        assert!(
            opts.contains(&"noexec") && opts.contains(&"nosuid"),
            "{line}"
        );
    }
    assert_eq!(lines[2], "exec-refused");
}

#[test]
fn a_recursive_atime_option_replaces_the_atime_of_every_mount_below() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    let out = ok(run_with_bind(
        &tree,
        &["rbind", "rnoatime", "rnodiratime"],
        OPTIONS_OF_BOTH,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for line in lines {
        let opts: Vec<&str> = line
            .split_once(' ')
            .expect("path opts")
            .1
            .split(',')
            .collect();
        assert!(opts.contains(&"noatime"), "{line}");
        assert!(opts.contains(&"nodiratime"), "{line}");
        assert!(!opts.contains(&"relatime"), "{line}");
    }
}

#[test]
fn rw_on_a_bind_of_a_read_only_source_makes_it_writable() {
    if !require_root() {
        return;
    }
    let mut tree = HostTree::new();
    tree.make_top_read_only();
    assert_eq!(
        writes(&tree, &["rbind", "rw"]),
        ["/mnt writable", "/mnt/sub writable"]
    );
    // A flag the options do not clear stays: the source's read-only with only nosuid asked.
    assert_eq!(
        writes(&tree, &["rbind", "nosuid"]),
        ["/mnt read-only", "/mnt/sub writable"]
    );
}

#[test]
fn rro_on_dev_comes_after_its_devices_and_submounts() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "echo x > /dev/null && echo null-writable; \
         touch /dev/new 2>/dev/null || echo dev-read-only; \
         touch /dev/shm/new 2>/dev/null || echo shm-read-only",
    ]);
    b.edit(|c| add_option(c, "/dev", "rro"));
    let out = ok(run(&b));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["null-writable", "dev-read-only", "shm-read-only"]
    );
}

fn add_option(config: &mut Value, dest: &str, option: &str) {
    for m in config["mounts"].as_array_mut().expect("mounts") {
        if m["destination"] == dest {
            m["options"]
                .as_array_mut()
                .expect("options")
                .push(json!(option));
        }
    }
}

#[test]
fn an_option_berth_cannot_apply_fails_create_with_the_reason() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    for (options, expected) in [
        (
            vec!["rbind", "idmap"],
            "mount option \"idmap\": id-mapped mounts are not supported",
        ),
        (
            vec!["rbind", "ridmap"],
            "mount option \"ridmap\": id-mapped mounts are not supported",
        ),
        (
            vec!["bind", "remount"],
            "mount option \"remount\": not supported",
        ),
        (
            vec!["rbind", "size=1m"],
            "mount option \"size=1m\": unknown option, or filesystem data",
        ),
        (
            vec!["rbind", "sync"],
            "mount option \"sync\": changes the filesystem",
        ),
        (
            vec!["rbind", "tmpcopyup"],
            "mount option \"tmpcopyup\": only a tmpfs",
        ),
    ] {
        let err = run_with_bind(&tree, &options, "true").expect_err("create must fail");
        assert!(
            err.contains("mount on /mnt") && err.contains(expected),
            "{options:?}: {err}"
        );
    }
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| add_option(c, "/dev/shm", "copy-symlink"));
    let err = run(&b).expect_err("copy-symlink must be refused");
    assert!(err.contains("mount option \"copy-symlink\""), "{err}");
}

/// A seccomp filter that fails `mount_setattr` with ENOSYS, as a kernel before 5.12 does,
/// and allows everything else; installed in the runtime just before it executes (and so
/// inherited by the container's init).
fn without_mount_setattr(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let filter = [
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0), // seccomp_data.nr
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_mount_setattr as u32,
        },
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    // SAFETY: between fork and exec only prctl runs, on a filter that outlives the call.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn recursive_options_are_refused_where_the_kernel_has_no_mount_setattr() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    let rt = Runtime::new();
    for (options, refused) in [(["rbind", "rro"], true), (["rbind", "ro"], false)] {
        let mut b = TestBundle::busybox(&["true"]);
        let bind = json!({
            "destination": "/mnt", "type": "bind",
            "source": tree.path(), "options": options,
        });
        b.edit(|c| c["mounts"].as_array_mut().expect("mounts").push(bind));
        let id = unique_id("nosetattr");
        let mut cmd = rt.cmd();
        cmd.args(["run", "--bundle", b.path_str(), &id]);
        without_mount_setattr(&mut cmd);
        let out = cmd.output().expect("running berth-runtime");
        let err = String::from_utf8_lossy(&out.stderr);
        if refused {
            assert!(
                !out.status.success(),
                "{options:?} ran without mount_setattr"
            );
            assert!(
                err.contains("recursive mount options (rro, rnosuid, ...) on /mnt")
                    && err.contains("no mount_setattr"),
                "{err}"
            );
            assert!(!rt.run(&["state", &id]).status.success(), "{id} was left");
        } else {
            assert!(out.status.success(), "{options:?}: {err}");
        }
    }
}

#[test]
fn a_sysfs_bound_from_the_host_in_a_user_namespace_keeps_its_options() {
    if !require_root() {
        return;
    }
    // Without a network namespace of its own, a user namespace cannot mount sysfs: the
    // host's /sys is bound instead, and the mount's options (ro, nosuid, ...) still apply.
    let mut b =
        TestBundle::busybox(&["awk", "$5 == \"/sys\" { print $6 }", "/proc/self/mountinfo"]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    });
    let out = ok(run(&b));
    let opts: Vec<&str> = out.trim().split(',').collect();
    for want in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(opts.contains(&want), "/sys options {out:?} lack {want}");
    }
}

#[test]
fn nosymfollow_stops_symlinks_on_the_bind_and_rnosymfollow_below_it_too() {
    if !require_root() {
        return;
    }
    let tree = HostTree::new();
    for dir in [tree.path().to_path_buf(), tree.path().join("sub")] {
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).expect("symlink");
    }
    let script = "for l in /mnt/link /mnt/sub/link; do \
         if cat $l >/dev/null 2>&1; then echo $l followed; else echo $l stopped; fi; done";
    let lines = |options: &[&str]| -> Vec<String> {
        let out = ok(run_with_bind(&tree, options, script));
        out.lines().map(str::to_string).collect()
    };
    assert_eq!(
        lines(&["rbind"]),
        ["/mnt/link followed", "/mnt/sub/link followed"]
    );
    assert_eq!(
        lines(&["rbind", "nosymfollow"]),
        ["/mnt/link stopped", "/mnt/sub/link followed"]
    );
    assert_eq!(
        lines(&["rbind", "rnosymfollow"]),
        ["/mnt/link stopped", "/mnt/sub/link stopped"]
    );
}
