//! Bad input gets a one-line error naming what and where, a non-zero exit, and leaves
//! nothing behind: no state dir, no cgroup, no mount.

use std::fs;
use std::time::{Duration, Instant};

use berth_tests::{CreateInHook, Runtime, TestBundle, cgroup_dirs_named, require_root, unique_id};
use serde_json::json;

/// Assert a failed command: non-zero, the error on one line, mentioning every needle.
fn assert_fails(out: &std::process::Output, needles: &[&str]) {
    assert!(!out.status.success(), "unexpected success");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got: {err}");
    for n in needles {
        assert!(err.contains(n), "error {err:?} does not mention {n:?}");
    }
    // Each cause once ("opening B: ENOENT: ENOENT" says one thing twice).
    let parts: Vec<&str> = err.trim_end().split(": ").collect();
    assert!(
        parts.windows(2).all(|w| w[0] != w[1]),
        "a cause repeated in {err:?}"
    );
}

fn assert_nothing_left(rt: &Runtime, id: &str) {
    assert!(!rt.root.path().join(id).exists(), "state dir left for {id}");
    assert!(
        cgroup_dirs_named(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs_named(id)
    );
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mountinfo.contains(id), "mount left for {id}");
}

#[test]
fn missing_bundle() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("nobundle");
    let out = rt.run(&["create", "--bundle", "/nonexistent/bundle", &id]);
    assert_fails(&out, &["/nonexistent/bundle", "No such file"]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn invalid_json() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("badjson");
    let b = TestBundle::busybox(&["true"]);
    fs::write(
        b.path().join("config.json"),
        "{ \"ociVersion\": \"1.2.0\", ",
    )
    .expect("write");
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert_fails(&out, &["config.json", "EOF"]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn field_of_the_wrong_type() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("badtype");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["process"]["args"] = json!(5));
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert_fails(&out, &["config.json", "invalid type"]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn rootfs_that_does_not_exist() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("norootfs");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["root"]["path"] = json!("/nonexistent/rootfs"));
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert_fails(&out, &["rootfs", "/nonexistent/rootfs"]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn executable_that_does_not_exist() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("noexe");
    let b = TestBundle::busybox(&["/no/such/program"]);
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    // runc's words, which dockerd maps to exit code 127.
    assert_fails(&out, &["/no/such/program", "no such file or directory"]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn duplicate_id_keeps_the_first_container() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("dup");
    let b = TestBundle::busybox(&["sleep", "100"]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert_fails(&out, &[&id, "already exists"]);
    assert_eq!(
        rt.state(&id)["status"],
        "created",
        "the first container was disturbed"
    );
    rt.ok(&["delete", &id]);
    assert_nothing_left(&rt, &id);
}

#[test]
fn unknown_id_for_every_command() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for args in [
        vec!["start", "ghost"],
        vec!["state", "ghost"],
        vec!["kill", "ghost", "KILL"],
        vec!["delete", "ghost"],
    ] {
        let out = rt.run(&args);
        assert_fails(&out, &["ghost", "does not exist"]);
    }
    // runc: delete --force of a missing container succeeds.
    assert!(rt.run(&["delete", "--force", "ghost"]).status.success());
}

#[test]
fn invalid_ids_are_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["true"]);
    for id in ["../escape", "a/b", "..", ""] {
        let out = rt.run(&["create", "--bundle", b.path_str(), id]);
        assert_fails(&out, &["invalid container id"]);
    }
    assert!(fs::read_dir(rt.root.path()).map(|d| d.count()).unwrap_or(0) == 0);
}

#[test]
fn systemd_cgroup_flag_is_a_clear_error() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = rt.run(&["--systemd-cgroup", "list"]);
    assert_fails(&out, &["--systemd-cgroup", "not supported"]);
}

/// `create` killed with SIGKILL half-way (here: while a prestart hook runs, after the
/// cgroup and the init exist), then `delete --force`: nothing may remain.
#[test]
fn delete_force_after_create_was_killed_half_way() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("crash");
    let mut b = TestBundle::busybox(&["sleep", "100"]);
    let mut hooked = CreateInHook::start(&rt, &mut b, &id, "prestart");
    let (create, marker) = (&mut hooked.create, hooked.marker.clone());
    assert!(
        !cgroup_dirs_named(&id).is_empty(),
        "cgroup should exist mid-create"
    );
    create.kill().expect("SIGKILL create");
    let _ = create.wait();
    // The hook dies with the create that ran it (its parent-death signal): nothing of it
    // may be left, although it lives outside the container's cgroup.
    // The hook's pid (its shell exec'd sleep, keeping the pid).
    let deadline = Instant::now() + Duration::from_secs(5);
    let hook_pid: i32 = loop {
        if let Ok(pid) = fs::read_to_string(&marker)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the hook never wrote its pid");
        std::thread::sleep(Duration::from_millis(10));
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let hook_left = || {
        fs::read_to_string(format!("/proc/{hook_pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    while hook_left() {
        assert!(
            Instant::now() < deadline,
            "the prestart hook outlived the killed create"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    rt.ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &id);
}

/// containerd's shim reads why a command failed from `--log` in runc's JSON format.
#[test]
fn errors_reach_the_json_log_as_containerd_reads_it() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let log_dir = tempfile::tempdir().expect("tempdir");
    let log = log_dir.path().join("log.json");
    let id = unique_id("jsonlog");
    let out = rt.run(&[
        "--log",
        log.to_str().expect("utf-8"),
        "--log-format",
        "json",
        "create",
        "--bundle",
        "/nonexistent",
        &id,
    ]);
    assert!(!out.status.success());
    let text = fs::read_to_string(&log).expect("log file");
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("a log line")).expect("JSON line");
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"].as_str().expect("msg").contains("/nonexistent"),
        "{last}"
    );
    assert!(last["time"].as_str().expect("time").contains('T'));
}

/// A cgroupsPath naming a cgroup in use (here another container's) is refused: the new
/// container's delete would otherwise kill and remove what lives there.
#[test]
fn a_cgroup_in_use_cannot_be_taken_over() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let first = unique_id("owner");
    let b = TestBundle::busybox(&["sleep", "100"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &first]);
    let thief = unique_id("thief");
    let mut t = TestBundle::busybox(&["true"]);
    let path = format!("/berth/{first}");
    t.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let out = rt.run(&["create", "--bundle", t.path_str(), &thief]);
    assert_fails(&out, &["in use", &first]);
    assert!(!rt.root.path().join(&thief).exists());
    assert_eq!(
        rt.state(&first)["status"],
        "running",
        "the owner was disturbed"
    );
    rt.ok(&["delete", "--force", &first]);
    assert_nothing_left(&rt, &first);
}

/// A create that died right after making its cgroup directories and before recording them
/// (state.json then holds only the planned path): `delete --force` still removes them.
#[test]
fn delete_force_finds_cgroups_a_crashed_create_did_not_record() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("unrecorded");
    let dir = rt.root.path().join(&id);
    fs::create_dir_all(&dir).expect("state dir");
    let state = json!({
        "ociVersion": "1.2.0", "id": id, "status": "creating", "pid": 0,
        "bundle": "/nonexistent", "created": "2026-01-01T00:00:00Z",
        "cgroup": {"relativePath": format!("/berth/{id}")}
    });
    fs::write(dir.join("state.json"), state.to_string()).expect("state.json");
    // What CgroupPlacement::create makes: the directory on every cgroup hierarchy.
    let mut made = Vec::new();
    for h in fs::read_dir("/sys/fs/cgroup")
        .expect("cgroup root")
        .flatten()
    {
        let is_cgroup_fs = nix::sys::statfs::statfs(&h.path()).is_ok_and(|s| {
            s.filesystem_type() == nix::sys::statfs::CGROUP_SUPER_MAGIC
                || s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC
        });
        if is_cgroup_fs && h.path().join("berth").is_dir() {
            let d = h.path().join("berth").join(&id);
            fs::create_dir(&d).expect("mkdir cgroup");
            made.push(d);
        }
    }
    assert!(!made.is_empty());
    rt.ok(&["delete", "--force", &id]);
    let left: Vec<_> = made.iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "cgroups left: {left:?}");
    assert_nothing_left(&rt, &id);
}

#[test]
fn what_runc_runs_with_a_warning_is_not_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let hook_dir = tempfile::tempdir().expect("hook dir");
    let hook = hook_dir.path().join("hook.sh");
    fs::write(&hook, "#!/bin/sh\ncat > /dev/null\n").expect("write hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod hook");
    let hook = hook.to_str().expect("utf-8").to_owned();
    // Each of these ran (exit 0) under runc 1.1.5 on this host; berth refused them.
    let cases: [(&str, serde_json::Value); 5] = [
        ("ociVersion 0.9", json!({"ociVersion": "0.9"})),
        ("empty ociVersion", json!({"ociVersion": ""})),
        (
            "poststop hook that cannot run",
            json!({"hooks": {"poststop": [{"path": "/nonexistent/hook"}]}}),
        ),
        (
            "poststart hook with a relative path",
            json!({"hooks": {"poststart": [{"path": "relative/hook"}]}}),
        ),
        (
            "hook env entry without '='",
            json!({"hooks": {"prestart": [{"path": hook, "env": ["NOEQ"]}]}}),
        ),
    ];
    for (what, patch) in cases {
        let id = unique_id("best-effort");
        let mut b = TestBundle::busybox(&["true"]);
        b.edit(|c| {
            for (k, v) in patch.as_object().expect("patch object") {
                c[k] = v.clone();
            }
        });
        let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        rt.run(&["delete", "--force", &id]);
        assert_nothing_left(&rt, &id);
    }
}

/// A bad flag and a missing container at once. `exec` names the container, as runc does
/// (it looks the container up before it reads the process flags, here `--user`);
/// `update` names the flag, whose value berth checks before it reads anything.
#[test]
fn exec_names_a_missing_container_before_a_bad_user_update_the_bad_flag() {
    if !require_root() {
        return;
    }
    let id = unique_id("nosuch");
    let exec = ["exec", "--user", "abc", &id, "true"];
    let rt = Runtime::new();
    let out = rt.run(&exec);
    assert_eq!(out.status.code(), Some(255), "exec's own failure");
    assert_fails(&out, &[&format!("container {id} does not exist")]);
    if let Some(runc) = Runtime::runc_if_installed() {
        let theirs = runc.run(&exec);
        assert_eq!(theirs.status.code(), Some(255));
        assert!(
            String::from_utf8_lossy(&theirs.stderr).contains("container does not exist"),
            "runc's answer changed: {:?}",
            String::from_utf8_lossy(&theirs.stderr)
        );
    }
    let out = rt.run(&["update", "--memory", "abc", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert_fails(&out, &["--memory", "\"abc\"", "64m"]);
    assert_nothing_left(&rt, &id);
}
