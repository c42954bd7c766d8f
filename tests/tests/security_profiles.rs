//! Seccomp, capabilities and bad security input, end to end: real containers from the
//! busybox fixture and from `berth-runtime spec --hardened`'s defaults.

use std::fs;
use std::process::Output;

use berth_tests::{Runtime, TestBundle, cgroup_dirs_named, require_root, unique_id};
use serde_json::{Value, json};

fn mask(names: &Value) -> u64 {
    names.as_array().map_or(0, |a| {
        a.iter().fold(0, |m, n| {
            let name = n.as_str().expect("capability name");
            let bit = berth_spec::caps::number(name).unwrap_or_else(|| panic!("unknown {name}"));
            m | (1u64 << bit)
        })
    })
}

/// The Cap* lines of /proc/self/status as printed by the container.
fn cap_lines(status: &str) -> Vec<(String, u64)> {
    status
        .lines()
        .filter(|l| l.starts_with("Cap"))
        .map(|l| {
            let (k, v) = l.split_once(':').expect("Cap line");
            (
                k.to_string(),
                u64::from_str_radix(v.trim(), 16).expect("hex"),
            )
        })
        .collect()
}

fn expected_caps(caps: &Value) -> Vec<(String, u64)> {
    [
        ("CapInh", "inheritable"),
        ("CapPrm", "permitted"),
        ("CapEff", "effective"),
        ("CapBnd", "bounding"),
        ("CapAmb", "ambient"),
    ]
    .iter()
    .map(|(line, set)| (line.to_string(), mask(&caps[*set])))
    .collect()
}

fn run(rt: &Runtime, b: &TestBundle, prefix: &str) -> (Output, String, String) {
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id(prefix)]);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    (out, o, e)
}

/// A bundle whose config is exactly what `berth-runtime spec --hardened` writes (plus the
/// busybox rootfs, no terminal, and `args`).
fn spec_default_bundle(rt: &Runtime, spec_flags: &[&str], args: &[&str]) -> TestBundle {
    let mut b = TestBundle::busybox(args);
    let dir = tempfile::tempdir().expect("spec dir");
    let mut cmd = vec![
        "spec",
        "--hardened",
        "--bundle",
        dir.path().to_str().expect("utf-8"),
    ];
    cmd.extend_from_slice(spec_flags);
    rt.ok(&cmd);
    let mut config: Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("config.json")).expect("spec config"),
    )
    .expect("JSON");
    config["root"]["path"] = b.config["root"]["path"].clone();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = b.config["process"]["args"].clone();
    b.edit(|c| *c = config);
    b
}

// ---------------------------------------------------------------------------------
// The default profile and the default capability set
// ---------------------------------------------------------------------------------

/// Each escape-relevant operation busybox can issue, printed as `name: rc output`.
const ESCAPES: &str = r#"
for c in "unshare -U true" "unshare -m true" "unshare -n true" "mount -t tmpfs x /tmp"; do
  out=$(busybox $c 2>&1); echo "$c: $? $out"
done
"#;

/// Adds CAP_SYS_ADMIN to a config's bounding, effective and permitted sets, so that only
/// seccomp stands between the process and mount or unshare.
fn add_sys_admin(config: &mut Value) {
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set]
            .as_array_mut()
            .expect("set")
            .push(json!("CAP_SYS_ADMIN"));
    }
}

fn escape_results(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| !l.is_empty()).collect()
}

#[test]
fn default_profile_denies_namespaces_and_mount_with_eperm() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // CAP_SYS_ADMIN added, so that only seccomp stands between the process and mount
    // and unshare; without it the capability check alone would answer EPERM.
    let mut b = spec_default_bundle(&rt, &[], &["sh", "-c", ESCAPES]);
    b.edit(add_sys_admin);
    let (out, stdout, stderr) = run(&rt, &b, "default-profile");
    assert!(out.status.success(), "stderr: {stderr}");
    let lines = escape_results(&stdout);
    assert_eq!(lines.len(), 4, "{stdout}");
    for l in lines {
        assert!(
            !l.contains(": 0 "),
            "allowed under the default profile: {l}"
        );
        // busybox mount words EPERM as "permission denied (are you root?)".
        assert!(
            l.contains("Operation not permitted")
                || l.contains("permission denied (are you root?)"),
            "not EPERM: {l}"
        );
    }

    // Control: the same container without the profile can do all of it, so the test
    // above measured seccomp, not something else.
    let mut b = spec_default_bundle(&rt, &["--no-seccomp"], &["sh", "-c", ESCAPES]);
    b.edit(|c| {
        assert!(
            c["linux"]["seccomp"].is_null(),
            "--no-seccomp wrote a profile"
        );
        add_sys_admin(c);
    });
    let (out, stdout, stderr) = run(&rt, &b, "no-profile");
    assert!(out.status.success(), "stderr: {stderr}");
    for l in escape_results(&stdout) {
        assert!(
            l.contains(": 0 "),
            "control run failed, the test proves nothing: {l}"
        );
    }
}

#[test]
fn default_container_capabilities_match_the_default_set_exactly() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = spec_default_bundle(&rt, &[], &["cat", "/proc/self/status"]);
    let (out, stdout, stderr) = run(&rt, &b, "default-caps");
    assert!(out.status.success(), "stderr: {stderr}");
    let caps = &b.config["process"]["capabilities"];
    assert_eq!(
        mask(&caps["effective"]),
        mask(&json!([
            "CAP_AUDIT_WRITE",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE"
        ]))
    );
    assert!(
        caps["inheritable"].is_null() && caps["ambient"].is_null(),
        "CVE-2022-29162: {caps}"
    );
    assert_eq!(cap_lines(&stdout), expected_caps(caps));
}

#[test]
fn default_spec_masks_proc_and_sys_paths() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let script = "wc -c < /proc/timer_list; wc -c < /proc/keys; ls -A /sys/firmware | wc -l; \
                  echo x > /proc/sys/kernel/hostname 2>/dev/null && echo writable || echo read-only";
    let b = spec_default_bundle(&rt, &[], &["sh", "-c", script]);
    let masked = b.config["linux"]["maskedPaths"]
        .as_array()
        .expect("maskedPaths");
    assert!(
        masked.contains(&json!("/sys/devices/virtual/powercap")),
        "{masked:?}"
    );
    let (out, stdout, stderr) = run(&rt, &b, "masked");
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(stdout, "0\n0\n0\nread-only\n");
}

// ---------------------------------------------------------------------------------
// Seccomp from the spec
// ---------------------------------------------------------------------------------

#[test]
fn seccomp_errno_rule_makes_pwd_fail_with_eperm() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // Both load points: with no_new_privs (late, just before exec) and without (early,
    // before the capabilities are dropped).
    for nnp in [true, false] {
        let mut b = TestBundle::busybox(&["pwd", "-P"]);
        b.edit(|c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            });
        });
        let (out, stdout, stderr) = run(&rt, &b, "getcwd");
        assert!(!out.status.success(), "nnp {nnp}: pwd worked: {stdout}");
        assert!(
            stderr.contains("Operation not permitted"),
            "nnp {nnp}: {stderr}"
        );
        assert!(
            !stderr.contains("berth-runtime"),
            "nnp {nnp}: the runtime failed, not pwd: {stderr}"
        );
    }
}

#[test]
fn seccomp_argument_condition_denies_only_the_matching_persona() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "linux64 true; echo linux64=$?; linux32 true; echo linux32=$?",
    ]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]
        });
    });
    let (out, stdout, stderr) = run(&rt, &b, "personality");
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(stdout, "linux64=0\nlinux32=1\n", "stderr: {stderr}");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[test]
fn capabilities_in_proc_status_match_the_spec_exactly() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let caps = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_KILL"]
    });
    for user in [0, 1000] {
        let mut b = TestBundle::busybox(&["cat", "/proc/self/status"]);
        b.edit(|c| {
            c["process"]["capabilities"] = caps.clone();
            c["process"]["user"] = json!({"uid": user, "gid": user});
        });
        let (out, stdout, stderr) = run(&rt, &b, "caps");
        assert!(out.status.success(), "uid {user}: {stderr}");
        let got = cap_lines(&stdout);
        if user == 0 {
            // The kernel's rule for root: execve raises effective to all of permitted.
            let mut want = expected_caps(&caps);
            want[2].1 = mask(&caps["permitted"]);
            assert_eq!(got, want, "uid 0");
        } else {
            // A non-root execve of a file without capabilities: permitted and effective
            // become exactly the ambient set; inheritable and bounding stay as given.
            let amb = mask(&caps["ambient"]);
            let want = vec![
                ("CapInh".to_string(), mask(&caps["inheritable"])),
                ("CapPrm".to_string(), amb),
                ("CapEff".to_string(), amb),
                ("CapBnd".to_string(), mask(&caps["bounding"])),
                ("CapAmb".to_string(), amb),
            ];
            assert_eq!(got, want, "uid 1000");
        }
    }
}

// ---------------------------------------------------------------------------------
// Bad input: refused before the container process starts, nothing left behind
// ---------------------------------------------------------------------------------

fn assert_refused(rt: &Runtime, b: &TestBundle, what: &str, expect_in_error: &[&str]) {
    let id = unique_id("bad-input");
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} was accepted");
    for e in expect_in_error {
        assert!(
            stderr.contains(e),
            "{what}: error does not mention {e:?}: {stderr}"
        );
    }
    assert!(
        !rt.root.path().join(&id).exists(),
        "{what}: state dir left behind"
    );
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "{what}: cgroup left behind"
    );
}

#[test]
fn bad_security_input_is_refused_before_anything_exists() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let tmp = tempfile::tempdir().expect("tempdir");

    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_BOGUS"}]})
    });
    assert_refused(&rt, &b, "unknown seccomp action", &["SCMP_ACT_BOGUS"]);

    // An unknown capability name is not refused: runc ignores it with a warning (see
    // runtime_process_input.rs, unknown_capability_names_are_ignored_with_a_warning).

    let missing = tmp.path().join("no-such-hook");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": missing.display().to_string()}]}));
    assert_refused(&rt, &b, "missing hook", &["createRuntime", "no-such-hook"]);

    let plain = tmp.path().join("not-executable");
    fs::write(&plain, "#!/bin/sh\nexit 0\n").expect("hook file");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| c["hooks"] = json!({"prestart": [{"path": plain.display().to_string()}]}));
    assert_refused(
        &rt,
        &b,
        "non-executable hook",
        &["prestart", "not executable"],
    );
}

/// A profile written before Linux 5.9 knows no close_range: the runtime's own fd sealing
/// (CVE-2024-21626) must not depend on the container's profile allowing it.
#[test]
fn profile_without_close_range_still_starts_with_fds_sealed() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for nnp in [true, false] {
        let mut b = TestBundle::busybox(&["ls", "/proc/self/fd"]);
        b.edit(|c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            });
        });
        let (out, stdout, stderr) = run(&rt, &b, "no-close-range");
        assert!(out.status.success(), "nnp {nnp}: {stderr}");
        // ls's own directory fd is 3.
        assert_eq!(
            stdout.split_whitespace().collect::<Vec<_>>(),
            ["0", "1", "2", "3"],
            "nnp {nnp}"
        );
    }
}

/// A `listenerPath` nobody listens on fails `create` in runc's words (clients match
/// them), checked against the runc on this machine.
#[test]
fn missing_seccomp_agent_fails_create_with_runcs_words() {
    if !require_root() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("no-agent.sock");
    let mut b = TestBundle::busybox(&["true"]);
    for rt in [Runtime::runc(), Runtime::new()] {
        let id = unique_id("no-agent");
        b.edit(|c| {
            // Absolute: runc puts a relative cgroupsPath under its own cgroup.
            c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": socket,
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
            });
        });
        let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{}: create succeeded",
            rt.bin.display()
        );
        assert!(
            stderr.contains("failed to connect with seccomp agent")
                && stderr.contains(&socket.display().to_string()),
            "{}: {stderr}",
            rt.bin.display()
        );
        assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
        assert!(cgroup_dirs_named(&id).is_empty(), "cgroup left behind");
    }
}

// ---------------------------------------------------------------------------------
// The compiled-program cache under the state root
// ---------------------------------------------------------------------------------

/// The cache directory `berth-runtime` keeps compiled seccomp programs in (its
/// `seccomp::CACHE_DIR`), and the entries in it.
fn seccomp_cache_entries(rt: &Runtime) -> Vec<std::path::PathBuf> {
    match fs::read_dir(rt.root.path().join("@seccomp-cache")) {
        Ok(entries) => entries.map(|e| e.expect("cache entry").path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).expect("stat cache entry").ino()
}

#[test]
fn seccomp_cache_cold_warm_and_corrupt_enforce_the_same_profile() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // What must be refused (the escapes, with CAP_SYS_ADMIN so only seccomp refuses
    // them) and what must be allowed (ordinary work, and the filter itself in place).
    let script = format!(
        "{ESCAPES}\necho allowed: $(echo hi | busybox cat) $(busybox date +%Y >/dev/null && echo date)\n\
         grep -E '^Seccomp(_filters)?:' /proc/self/status"
    );
    let mut b = spec_default_bundle(&rt, &[], &["sh", "-c", &script]);
    b.edit(add_sys_admin);
    let check = |stdout: &str, when: &str| {
        let lines = escape_results(stdout);
        let escapes: Vec<&&str> = lines
            .iter()
            .filter(|l| !l.starts_with("allowed") && !l.starts_with("Seccomp"))
            .collect();
        assert_eq!(escapes.len(), 4, "{when}: {stdout}");
        for l in escapes {
            assert!(
                !l.contains(": 0 ")
                    && (l.contains("Operation not permitted")
                        || l.contains("permission denied (are you root?)")),
                "{when}: not refused with EPERM: {l}"
            );
        }
        assert!(lines.contains(&"allowed: hi date"), "{when}: {stdout}");
        assert!(lines.contains(&"Seccomp:\t2"), "{when}: {stdout}");
        assert!(lines.contains(&"Seccomp_filters:\t1"), "{when}: {stdout}");
    };

    assert!(seccomp_cache_entries(&rt).is_empty());
    let (out, cold, stderr) = run(&rt, &b, "cache-cold");
    assert!(out.status.success(), "stderr: {stderr}");
    check(&cold, "cold cache");
    let entries = seccomp_cache_entries(&rt);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = entries[0].clone();
    let good = fs::read(&entry).expect("read cache entry");
    let ino = inode(&entry);

    let (out, warm, stderr) = run(&rt, &b, "cache-warm");
    assert!(out.status.success(), "stderr: {stderr}");
    check(&warm, "warm cache");
    assert_eq!(warm, cold);
    assert_eq!(
        inode(&entry),
        ino,
        "the warm run rebuilt the entry instead of using it"
    );

    // A corrupt entry (torn write, flipped bit) is rebuilt and the profile still holds.
    for (what, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped", {
            let mut b = good.clone();
            let last = b.len() - 1;
            b[last] ^= 0x10;
            b
        }),
    ] {
        fs::write(&entry, &bytes).expect("corrupt cache entry");
        let (out, stdout, stderr) = run(&rt, &b, "cache-corrupt");
        assert!(out.status.success(), "{what}: stderr: {stderr}");
        check(&stdout, what);
        assert_eq!(stdout, cold, "{what}");
        assert_eq!(
            fs::read(&entry).expect("read entry"),
            good,
            "{what}: not rebuilt"
        );
    }
}
