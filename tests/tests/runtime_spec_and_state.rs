//! Process details not covered elsewhere, and state under concurrent commands (`spec`
//! itself: runtime_spec_default.rs).

use std::fs;
use std::process::Stdio;

use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use serde_json::{Value, json};

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

/// `list --format json` prints runc's objects byte for byte in shape: runc's key order
/// (pid before status, annotations only when there are some, then the state directory's
/// owner), one line; `null` for no containers. `state` prints the same object with runc's
/// empty owner and no final newline. Checked against `runc list`/`runc state` 1.1.5.
#[test]
fn list_json_and_state_print_runcs_objects_in_runcs_key_order() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    assert_eq!(rt.ok(&["list", "--format", "json"]), "null\n");
    let with_annotations = unique_id("lista");
    let plain = unique_id("listb");
    let mut a = TestBundle::busybox(&["sleep", "100"]);
    a.edit(|c| c["annotations"] = json!({"org.example.b": "2", "org.example.a": "1"}));
    let b = TestBundle::busybox(&["sleep", "100"]);
    rt.ok(&["run", "-d", "--bundle", a.path_str(), &with_annotations]);
    rt.ok(&["run", "-d", "--bundle", b.path_str(), &plain]);
    // The config's root.path made absolute against the bundle, as runc prints it.
    let rootfs = |bundle: &TestBundle| {
        let config: Value = serde_json::from_slice(
            &fs::read(bundle.path().join("config.json")).expect("config.json"),
        )
        .expect("config JSON");
        let root = config["root"]["path"].as_str().expect("root.path");
        bundle.path().join(root).display().to_string()
    };
    let object = |id: &str, bundle: &TestBundle, annotations: &str, owner: &str| {
        let s = rt.state(id);
        format!(
            r#"{{"ociVersion":"{}","id":"{id}","pid":{},"status":"running","bundle":"{}","rootfs":"{}","created":"{}",{annotations}"owner":"{owner}"}}"#,
            s["ociVersion"].as_str().expect("ociVersion"),
            s["pid"],
            bundle.path_str(),
            rootfs(bundle),
            s["created"].as_str().expect("created"),
        )
    };
    let annotations = r#""annotations":{"org.example.a":"1","org.example.b":"2"},"#;
    assert_eq!(
        rt.ok(&["list", "--format", "json"]),
        format!(
            "[{},{}]\n",
            object(&with_annotations, &a, annotations, "root"),
            object(&plain, &b, "", "root")
        )
    );
    let state = rt.ok(&["state", &plain]);
    assert!(!state.ends_with('\n'), "state ends with a newline");
    // The same values (serde_json's Value ignores key order: that is checked after).
    let parsed = |text: &str| serde_json::from_str::<Value>(text).expect("JSON");
    assert_eq!(parsed(&state), parsed(&object(&plain, &b, "", "")));
    let keys = [
        "\"ociVersion\"",
        "\"id\"",
        "\"pid\"",
        "\"status\"",
        "\"bundle\"",
        "\"rootfs\"",
        "\"created\"",
        "\"owner\"",
    ];
    let at: Vec<usize> = keys.iter().filter_map(|k| state.find(k)).collect();
    assert!(
        at.len() == keys.len() && at.windows(2).all(|w| w[0] < w[1]),
        "state key order: {state}"
    );
    // An owner without a name shows as #uid, as in runc.
    let dir = rt.root.path().join(&plain);
    std::os::unix::fs::chown(&dir, Some(54321), None).expect("chown state dir");
    let listed = rt.ok(&["list", "--format", "json"]);
    std::os::unix::fs::chown(&dir, Some(0), None).expect("chown state dir back");
    assert!(listed.contains(r##""owner":"#54321"}]"##), "{listed}");
    for id in [&with_annotations, &plain] {
        rt.ok(&["delete", "--force", id]);
    }
}
