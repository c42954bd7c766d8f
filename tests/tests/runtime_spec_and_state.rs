//! `spec`, process details not covered elsewhere, and state under concurrent commands.

use std::fs;
use std::process::Stdio;

use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use serde_json::{Value, json};

#[test]
fn spec_writes_a_runc_like_default_and_refuses_to_overwrite() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    rt.ok(&["spec", "--bundle", d]);
    let spec: Value =
        serde_json::from_slice(&fs::read(dir.path().join("config.json")).expect("config"))
            .expect("json");
    assert_eq!(spec["root"]["path"], "rootfs");
    assert_eq!(spec["process"]["terminal"], true);
    assert_eq!(spec["process"]["args"], json!(["sh"]));
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    for want in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(ns.contains(&want), "default namespaces {ns:?} lack {want}");
    }
    let masked = spec["linux"]["maskedPaths"].as_array().expect("masked");
    assert!(masked.iter().any(|p| p == "/proc/kcore"));
    let out = rt.run(&["spec", "--bundle", d]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));

    let rootless = tempfile::tempdir().expect("tempdir");
    rt.ok(&[
        "spec",
        "--rootless",
        "--bundle",
        rootless.path().to_str().expect("utf-8"),
    ]);
    let spec: Value =
        serde_json::from_slice(&fs::read(rootless.path().join("config.json")).expect("config"))
            .expect("json");
    assert!(
        spec["linux"]["namespaces"]
            .as_array()
            .expect("ns")
            .iter()
            .any(|n| n["type"] == "user")
    );
    assert_eq!(spec["linux"]["uidMappings"][0]["size"], 1);
}

#[test]
fn the_default_spec_runs_once_pointed_at_a_rootfs() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let dir = tempfile::tempdir().expect("tempdir");
    rt.ok(&["spec", "--bundle", dir.path().to_str().expect("utf-8")]);
    let path = dir.path().join("config.json");
    let mut spec: Value = serde_json::from_slice(&fs::read(&path).expect("config")).expect("json");
    let rootfs = berth_tests::busybox_fixture().join("rootfs");
    spec["root"]["path"] = json!(rootfs);
    spec["root"]["readonly"] = json!(true);
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["sh", "-c", "echo default-spec-ok; hostname"]);
    fs::write(&path, serde_json::to_vec(&spec).expect("json")).expect("write");
    let out = rt.run(&[
        "run",
        "--bundle",
        dir.path().to_str().expect("utf-8"),
        &unique_id("defspec"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "default-spec-ok\nberth\n"
    );
}

#[test]
fn oom_score_adj_and_spec_devices() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "cat /proc/self/oom_score_adj; ls -l /dev/kmsg-copy | cut -c1-10; stat -c '%t:%T' /dev/kmsg-copy",
    ]);
    b.edit(|c| {
        c["process"]["oomScoreAdj"] = json!(345);
        c["linux"]["devices"] = json!([{"path": "/dev/kmsg-copy", "type": "c", "major": 1, "minor": 11, "fileMode": 0o600, "uid": 0, "gid": 0}]);
    });
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("oomdev")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "345\ncrw-------\n1:b\n"
    );
}

#[test]
fn rootfs_propagation_is_applied_to_the_container_root() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"]);
    b.edit(|c| c["linux"]["rootfsPropagation"] = json!("private"));
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("prop")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !line.contains("shared:") && !line.contains("master:"),
        "root is not private: {line}"
    );

    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["linux"]["rootfsPropagation"] = json!("sideways"));
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("badprop")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rootfsPropagation"));
}

/// Many commands on one container at once: state.json is never seen half-written and the
/// one `start` that wins is the only one that succeeds.
#[test]
fn concurrent_commands_on_one_container_do_not_corrupt_state() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("concurrent");
    let b = TestBundle::busybox(&["sleep", "1000"]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    let mut children = Vec::new();
    for i in 0..24 {
        let verb = if i % 6 == 0 { "start" } else { "state" };
        children.push((
            verb,
            rt.cmd()
                .args([verb, id.as_str()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn"),
        ));
    }
    let mut starts_ok = 0;
    for (verb, child) in children {
        let out = child.wait_with_output().expect("wait");
        match verb {
            "start" => starts_ok += usize::from(out.status.success()),
            _ => {
                assert!(
                    out.status.success(),
                    "state failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let st: Value =
                    serde_json::from_slice(&out.stdout).expect("state output is whole JSON");
                assert!(
                    st["status"] == "created" || st["status"] == "running",
                    "{st}"
                );
            }
        }
    }
    assert_eq!(starts_ok, 1, "exactly one start may succeed");
    let raw: Value = serde_json::from_slice(
        &fs::read(rt.root.path().join(&id).join("state.json")).expect("state.json"),
    )
    .expect("state.json is whole JSON");
    assert_eq!(raw["status"], "running");
    rt.ok(&["delete", "--force", &id]);
}
