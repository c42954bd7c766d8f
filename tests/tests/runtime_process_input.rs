//! How a process's capabilities and environment are taken, at `run`/`create` and at `exec`
//! (flags and `--process`): what runc 1.1 treats as best effort runs with a warning, what
//! it refuses is refused before anything starts. The expected values are runc 1.1.5's on
//! this host.

use berth_tests::{Runtime, TestBundle, cgroup_dirs_named, require_root, stderr, unique_id};
use serde_json::{Value, json};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `args` in the foreground with `process.capabilities` (or `env`) edited; the output.
fn run_edited(rt: &Runtime, args: &[&str], edit: impl FnOnce(&mut Value)) -> std::process::Output {
    let id = unique_id("input");
    let mut b = TestBundle::busybox(args);
    b.edit(edit);
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    if !out.status.success() {
        assert!(
            !rt.root.path().join(&id).exists() && cgroup_dirs_named(&id).is_empty(),
            "a refused run left state or cgroups behind"
        );
    }
    out
}

/// `out` is a failure whose stderr names every one of `needles`.
fn assert_refused(out: &std::process::Output, what: &str, needles: &[&str]) {
    assert!(!out.status.success(), "{what} ran");
    let err = stderr(out);
    assert!(
        needles.iter().all(|n| err.contains(n)),
        "{what}: {err} (want {needles:?})"
    );
}

/// The value of a `Cap*:` line of /proc/self/status output.
fn cap_line<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:\t")))
        .unwrap_or_else(|| panic!("{name} missing from {status}"))
}

#[test]
fn runc_spec_default_capabilities_run_with_ambient_skipped() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // `runc spec` (1.1) writes this: ambient without inheritable. runc runs it.
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let out = run_edited(&rt, &["grep", "Cap", "/proc/self/status"], |c| {
        c["process"]["capabilities"] = json!({
            "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps,
        });
    });
    assert!(out.status.success(), "run: {}", stderr(&out));
    let status = stdout(&out);
    // runc 1.1.5 here: CapPrm 0000000020000420 (AUDIT_WRITE, KILL, NET_BIND_SERVICE), CapAmb 0.
    assert_eq!(cap_line(&status, "CapPrm"), "0000000020000420");
    assert_eq!(cap_line(&status, "CapAmb"), "0000000000000000");
    assert!(
        stderr(&out).contains("ambient") && stderr(&out).contains("CAP_KILL"),
        "no warning about the skipped ambient set: {}",
        stderr(&out)
    );
}

#[test]
fn ambient_capabilities_outside_inheritable_are_skipped_not_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = run_edited(&rt, &["grep", "Cap", "/proc/self/status"], |c| {
        c["process"]["capabilities"]["inheritable"] = json!(["CAP_KILL"]);
        c["process"]["capabilities"]["ambient"] = json!(["CAP_KILL", "CAP_CHOWN"]);
    });
    assert!(out.status.success(), "run: {}", stderr(&out));
    // runc 1.1.5 on this host, same spec: CapInh 20, CapAmb 20.
    let status = stdout(&out);
    assert_eq!(cap_line(&status, "CapInh"), "0000000000000020");
    assert_eq!(cap_line(&status, "CapAmb"), "0000000000000020");
}

#[test]
fn unknown_capability_names_are_ignored_with_a_warning() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = run_edited(&rt, &["grep", "Cap", "/proc/self/status"], |c| {
        let caps = &mut c["process"]["capabilities"];
        caps["bounding"]
            .as_array_mut()
            .expect("bounding")
            .extend([json!("CAP_UNKNOWN"), json!("UNKNOWN_CAP")]);
        caps["effective"]
            .as_array_mut()
            .expect("effective")
            .push(json!("CAP_FLY"));
    });
    assert!(out.status.success(), "run: {}", stderr(&out));
    // The fixture's 14 capabilities, as runc 1.1.5 gives them for the same spec.
    assert_eq!(cap_line(&stdout(&out), "CapBnd"), "00000000a80425fb");
    assert!(stderr(&out).contains("CAP_FLY"), "{}", stderr(&out));
}

#[test]
fn capability_sets_capset_would_refuse_are_refused_up_front() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // runc 1.1.5 fails both at start with "unable to apply caps: operation not permitted".
    for (edit, needle) in [
        (
            json!({"effective": ["CAP_SYS_ADMIN"], "permitted": []}),
            "effective",
        ),
        (
            json!({"bounding": ["CAP_KILL"], "inheritable": ["CAP_SYS_ADMIN"]}),
            "inheritable",
        ),
    ] {
        let out = run_edited(&rt, &["true"], |c| {
            c["process"]["capabilities"] = edit.clone();
        });
        assert_refused(&out, &edit.to_string(), &[needle, "CAP_SYS_ADMIN"]);
    }
}

#[test]
fn malformed_env_entries_are_refused_like_runc() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for (entry, needle) in [
        ("SECRETNOEQ", "invalid environment variable"),
        ("=value", "name can't be empty"),
        ("A=x\u{0}y", "NUL"),
        ("A\u{0}x=1", "NUL"),
    ] {
        let out = run_edited(&rt, &["true"], |c| {
            c["process"]["env"]
                .as_array_mut()
                .expect("env")
                .push(json!(entry));
        });
        assert_refused(&out, &format!("{entry:?}"), &[needle, "process.env"]);
    }
}

#[test]
fn repeated_env_names_keep_the_first_place_and_the_last_value() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let out = run_edited(&rt, &["env"], |c| {
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "A=1", "B=2", "A=3", "E=", "F==b"]);
    });
    assert!(out.status.success(), "run: {}", stderr(&out));
    // runc 1.1.5 prints A=3 before B=2 for the same list (HOME is added by both).
    let got: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.starts_with("HOME="))
        .map(str::to_owned)
        .collect();
    assert_eq!(got, ["PATH=/bin:/usr/bin", "A=3", "B=2", "E=", "F==b"]);
}

#[test]
fn exec_env_and_process_file_use_the_same_rules() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("exec-env");
    let mut b = TestBundle::busybox(&["sleep", "1000"]);
    b.edit(|c| c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "A=1"]));
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);

    let env_of = |out: String| -> Vec<String> {
        out.lines()
            .filter(|l| !l.starts_with("HOME="))
            .map(str::to_owned)
            .collect()
    };
    // runc exec --env A=2 --env B=3 --env A=4: A keeps its place with the last value.
    let got = rt.ok(&[
        "exec", "--env", "A=2", "--env", "B=3", "--env", "A=4", &id, "env",
    ]);
    assert_eq!(env_of(got), ["PATH=/bin:/usr/bin", "A=4", "B=3"]);
    // runc 1.1.5: exec --cap CAP_FLY warns "ignoring unknown or unavailable capabilities"
    // and runs.
    let out = rt.run(&["exec", "--cap", "CAP_FLY", &id, "true"]);
    assert!(out.status.success(), "exec --cap CAP_FLY: {}", stderr(&out));
    assert!(
        stderr(&out).contains("CAP_FLY"),
        "no warning: {}",
        stderr(&out)
    );
    for (entry, needle) in [
        ("NOEQ", "invalid environment variable"),
        ("=v", "name can't be empty"),
    ] {
        let out = rt.run(&["exec", "--env", entry, &id, "env"]);
        assert_refused(&out, &format!("exec --env {entry:?}"), &[needle, "--env"]);
    }

    let process = |env: Value| {
        let f = tempfile::NamedTempFile::new().expect("process file");
        let p = json!({
            "args": ["env"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": env,
            "capabilities": {"bounding": ["CAP_KILL", "CAP_NOT_A_CAP"]},
        });
        std::fs::write(f.path(), p.to_string()).expect("write process file");
        f
    };
    let good = process(json!(["PATH=/bin:/usr/bin", "X=1", "Y=2", "X=3"]));
    let got = rt.ok(&[
        "exec",
        "--process",
        good.path().to_str().expect("utf-8"),
        &id,
    ]);
    assert_eq!(env_of(got), ["PATH=/bin:/usr/bin", "X=3", "Y=2"]);
    let bad = process(json!(["PATH=/bin", "SECRETNOEQ"]));
    let out = rt.run(&[
        "exec",
        "--process",
        bad.path().to_str().expect("utf-8"),
        &id,
    ]);
    assert_refused(&out, "--process with SECRETNOEQ", &["SECRETNOEQ"]);
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["delete", "--force", &id]);
}
