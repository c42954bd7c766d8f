//! `berth-runtime spec` writes what `runc spec` writes, and containers made from it look
//! the same from inside as runc's: hostname, and the cgroup paths `exec` sees. Compared
//! with the runc installed on this machine.

use std::fs;
use std::path::Path;

use berth_tests::{Runtime, busybox_fixture, require_root, unique_id};
use serde_json::{Value, json};

/// `<bin> spec [flags]` in a fresh directory; the config it wrote.
fn spec_of(rt: &Runtime, flags: &[&str]) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let mut args = vec!["spec", "--bundle", d];
    args.extend_from_slice(flags);
    rt.ok(&args);
    let config = serde_json::from_slice(&fs::read(dir.path().join("config.json")).expect("config"))
        .expect("JSON");
    (dir, config)
}

#[test]
fn spec_writes_what_runc_spec_writes_and_refuses_to_overwrite() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let runc = Runtime::runc();
    for flags in [&[][..], &["--rootless"][..]] {
        let (_d, mut berth) = spec_of(&rt, flags);
        let (_r, theirs) = spec_of(&runc, flags);
        // The one difference: the runtime-spec version each runtime implements.
        assert_eq!(berth["ociVersion"], "1.2.0");
        berth["ociVersion"] = theirs["ociVersion"].clone();
        assert_eq!(berth, theirs, "spec {flags:?} differs from runc's");
    }

    let (dir, _) = spec_of(&rt, &[]);
    let out = rt.run(&["spec", "--bundle", dir.path().to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}

#[test]
fn spec_hardened_is_runcs_default_plus_berths_hardening() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (_d, plain) = spec_of(&rt, &[]);
    let (_h, mut hardened) = spec_of(&rt, &["--hardened"]);
    assert_eq!(hardened["hostname"], "berth");
    assert!(hardened["linux"]["seccomp"]["syscalls"].is_array());
    assert!(hardened["process"]["capabilities"]["ambient"].is_null());
    assert!(hardened["process"]["capabilities"]["inheritable"].is_null());
    let (_n, no_seccomp) = spec_of(&rt, &["--hardened", "--no-seccomp"]);
    assert!(no_seccomp["linux"]["seccomp"].is_null());
    // Take the additions back out: what is left is exactly the plain (runc's) default.
    hardened["hostname"] = plain["hostname"].clone();
    hardened["process"]["capabilities"]["ambient"] =
        plain["process"]["capabilities"]["ambient"].clone();
    let linux = hardened["linux"].as_object_mut().expect("linux");
    linux.remove("seccomp");
    assert_eq!(
        linux["maskedPaths"].as_array_mut().expect("masked").pop(),
        Some(json!("/sys/devices/virtual/powercap"))
    );
    assert_eq!(
        linux["namespaces"].as_array_mut().expect("ns").pop(),
        Some(json!({"type": "cgroup"}))
    );
    assert_eq!(hardened, plain);
}

/// A bundle in `dir` from `config` (a `spec` output) running `args` on the busybox rootfs,
/// in the cgroup `/<id>` (absolute: runc would put a relative one under its own cgroup).
fn bundle_from(dir: &Path, mut config: Value, id: &str, args: &[&str]) {
    config["root"]["path"] = json!(busybox_fixture().join("rootfs"));
    config["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    fs::write(
        dir.join("config.json"),
        serde_json::to_vec(&config).expect("JSON"),
    )
    .expect("writing config.json");
}

/// Run `args` to completion in a container made from `spec [flags]` by the same
/// runtime; its stdout.
fn run_default(rt: &Runtime, flags: &[&str], args: &[&str]) -> String {
    let (dir, config) = spec_of(rt, flags);
    fs::remove_file(dir.path().join("config.json")).expect("rm config");
    let id = unique_id("defspec");
    bundle_from(dir.path(), config, &id, args);
    let d = dir.path().to_str().expect("utf-8");
    let out = rt.run(&["run", "--bundle", d, &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_default_spec_runs_with_runcs_hostname_and_hardened_with_berths() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let script = ["sh", "-c", "echo default-spec-ok; hostname"];
    let theirs = run_default(&Runtime::runc(), &[], &script);
    assert_eq!(theirs, "default-spec-ok\nrunc\n");
    assert_eq!(run_default(&rt, &[], &script), theirs);
    assert_eq!(
        run_default(&rt, &["--hardened"], &script),
        "default-spec-ok\nberth\n"
    );
}

/// `/proc/self/cgroup` of a process `exec` starts in a container from `spec [flags]`, and
/// the host's view of that container's init, as (hierarchy, path) pairs.
fn exec_cgroup_view(rt: &Runtime, flags: &[&str]) -> (Vec<String>, Vec<String>) {
    let (dir, config) = spec_of(rt, flags);
    fs::remove_file(dir.path().join("config.json")).expect("rm config");
    let id = unique_id("cgview");
    bundle_from(dir.path(), config, &id, &["sleep", "30"]);
    let d = dir.path().to_str().expect("utf-8");
    rt.ok(&["run", "--detach", "--bundle", d, &id]);
    let inside = rt.ok(&["exec", &id, "cat", "/proc/self/cgroup"]);
    let pid = rt.state(&id)["pid"].as_i64().expect("pid");
    let host = fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("init's cgroups");
    rt.ok(&["delete", "--force", &id]);
    let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    (lines(&inside), lines(&host))
}

#[test]
fn exec_sees_the_cgroup_paths_runcs_exec_sees() {
    if !require_root() {
        return;
    }
    // runc's default spec has no cgroup namespace: exec sees the host's paths of the
    // container's cgroups, the same lines the host reads for the init.
    let (theirs, their_host) = exec_cgroup_view(&Runtime::runc(), &[]);
    assert_eq!(theirs, their_host, "runc's own behaviour changed");
    let rt = Runtime::new();
    let (ours, our_host) = exec_cgroup_view(&rt, &[]);
    assert_eq!(ours, our_host);
    assert!(
        ours.iter().all(|l| !l.ends_with(":/")),
        "paths relative to a cgroup namespace: {ours:?}"
    );
    // The same hierarchies, in the same order, as runc's.
    let hierarchies = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|l| l.rsplit_once(':').expect("line").0.into())
            .collect()
    };
    assert_eq!(hierarchies(&ours), hierarchies(&theirs));
    // --hardened adds a cgroup namespace: every path is its root.
    let (hardened, _) = exec_cgroup_view(&rt, &["--hardened", "--no-seccomp"]);
    assert_eq!(hierarchies(&hardened), hierarchies(&theirs));
    assert!(hardened.iter().all(|l| l.ends_with(":/")), "{hardened:?}");
}
