//! `berth-exporter advise-seccomp` round trip with real berth-runtime containers: a
//! container counted by the exporter from its start gets a profile; re-run with it, the
//! same work succeeds with the same output, and a syscall it never made is refused
//! (EPERM). The complain-mode profile lets everything run and the kernel logs only the
//! syscalls outside it. runc runs the same profile.

use std::collections::BTreeSet;
use std::fs::File;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_metrics::audit::seccomp_log::{AuditSocket, Received};
use berth_testkit::scrape::metrics_body;
use berth_testkit::wait::wait_for;
use berth_tests::exporter::Exporter;
use berth_tests::{
    Runtime, TestBundle, bin, delete_and_check_clean, require_root, rootfs_copy, stderr, unique_id,
    wait_for_status,
};
use serde_json::{Value, json};

/// The fixed workload: a file written and read back, a directory listed.
const WORKLOAD: &str = "echo hi > /dev/shm/x; cat /dev/shm/x; ls /";
/// How long each wait below may take.
const LIMIT: Duration = Duration::from_secs(30);
/// Opts a container in to syscall counting.
const COUNT: (&str, &str) = ("berth.io/syscalls", "count");

/// `berth-exporter advise-seccomp --container id [extra]` against `exporter`.
fn advise(exporter: &Exporter, id: &str, extra: &[&str]) -> Output {
    Command::new(bin("berth-exporter"))
        .args(["advise-seccomp", "--container", id, "--exporter"])
        .arg(format!("http://127.0.0.1:{}", exporter.port))
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running berth-exporter advise-seccomp")
}

/// A busybox bundle running `sh -c script`, opted in to syscall counting.
fn counted_bundle(script: &str) -> TestBundle {
    let mut b = TestBundle::busybox(&["sh", "-c", script]);
    b.edit(|c| c["annotations"] = json!({COUNT.0: COUNT.1}));
    b
}

/// Runs `script` in container `id` the way a complete profile needs: created, listed by
/// the exporter (so counting has begun), then started; waits until it stopped. Returns
/// what it printed.
fn run_counted(rt: &Runtime, exporter: &Exporter, id: &str, script: &str) -> String {
    let b = counted_bundle(script);
    let out_dir = tempfile::tempdir().expect("output dir");
    let out_path = out_dir.path().join("stdout");
    let out = File::create(&out_path).expect("stdout file");
    let st = rt
        .cmd()
        .args(["create", "--bundle", b.path_str(), id])
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .status()
        .expect("berth-runtime create");
    assert!(st.success(), "create {id}: {}", read(&out_path));
    wait_for("the exporter to list the container", LIMIT, || {
        metrics_body(exporter.port)?.contains(id).then_some(())
    });
    rt.ok(&["start", id]);
    assert_eq!(wait_for_status(rt, id, "stopped")["status"], "stopped");
    read(&out_path)
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The advised profile of `id`, from the CLI.
fn advised(exporter: &Exporter, id: &str, extra: &[&str]) -> Value {
    let out = advise(exporter, id, extra);
    assert!(
        out.status.success(),
        "advise-seccomp {id}: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("the profile is JSON")
}

fn allowed(profile: &Value) -> BTreeSet<String> {
    profile["syscalls"][0]["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect()
}

/// `sh -c script` in a fresh container with `profile` as its linux.seccomp.
fn run_with_profile(rt: &Runtime, script: &str, profile: Option<&Value>) -> Output {
    let mut b = TestBundle::busybox(&["sh", "-c", script]);
    if let Some(p) = profile {
        b.edit(|c| c["linux"]["seccomp"] = p.clone());
    }
    let id = unique_id("sc-rerun");
    rt.run(&["run", "--bundle", b.path_str(), &id])
}

#[test]
fn advised_profile_runs_the_same_work_and_refuses_a_syscall_never_made() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let exporter = Exporter::start(&rt);
    let id = unique_id("sc-advise");
    let first = run_counted(&rt, &exporter, &id, WORKLOAD);
    assert!(
        first.starts_with("hi\n") && first.contains("proc"),
        "{first}"
    );

    let profile = advised(&exporter, &id, &[]);
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO", "{profile}");
    assert_eq!(profile["defaultErrnoRet"], 1, "{profile}");
    assert_eq!(
        profile["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let names = allowed(&profile);
    for used in ["execve", "write", "getdents64"] {
        assert!(names.contains(used), "{used} missing from {names:?}");
    }
    assert!(!names.contains("unshare"), "{names:?}");
    // The same answer over HTTP.
    let (status, body) = exporter.get(&format!("/seccomp-profile?container={id}"));
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(allowed(&served), names);

    let again = run_with_profile(&rt, WORKLOAD, Some(&profile));
    assert!(
        again.status.success(),
        "re-run with the advised profile failed ({}): {}",
        again.status,
        stderr(&again)
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), first);

    // unshare(2) was never made: refused with EPERM, where without the profile it works.
    let free = run_with_profile(&rt, "unshare -U true", None);
    assert!(free.status.success(), "{free:?}");
    let refused = run_with_profile(&rt, "unshare -U true", Some(&profile));
    assert!(!refused.status.success(), "{refused:?}");
    let text = String::from_utf8_lossy(&refused.stderr).into_owned()
        + &String::from_utf8_lossy(&refused.stdout);
    assert!(text.contains("Operation not permitted"), "{text}");
}

#[test]
fn advice_says_why_when_a_container_is_unknown_or_not_counted() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let exporter = Exporter::start(&rt);
    let (status, body) = exporter.get("/seccomp-profile?container=no-such-container");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no-such-container"), "{body}");
    let (status, body) = exporter.get("/seccomp-profile");
    assert_eq!(status, 400, "{body}");

    // Not opted in: counted nothing, and the answer names the annotation.
    let id = unique_id("sc-uncounted");
    let b = TestBundle::busybox(&["sh", "-c", "while :; do sleep 1; done"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    wait_for("the exporter to list the container", LIMIT, || {
        metrics_body(exporter.port)?.contains(&id).then_some(())
    });
    let (status, body) = exporter.get(&format!("/seccomp-profile?container={id}"));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("berth.io/syscalls=count"), "{body}");
    let out = advise(&exporter, &id, &[]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("409") && text.contains("berth.io/syscalls=count"),
        "{text}"
    );
    delete_and_check_clean(&rt, &id);
}

/// Syscall numbers of the seccomp audit records (type 1326) that a filter *logged*
/// (action `log`) for busybox, read from the audit multicast group as berth-exporter
/// reads them, sent on as they arrive. Not the kernel's printk copy (dmesg): that one is
/// rate-limited (10 lines per 5 s without auditd), and the default profile's logged
/// refusals in other tests' containers crowd it out.
fn logged_by_busybox() -> std::sync::mpsc::Receiver<u32> {
    let socket = AuditSocket::open().expect("subscribing to the audit multicast group");
    let (tx, rx) = std::sync::mpsc::channel();
    // Ends at the first record after the receiver is dropped (the test's end).
    std::thread::spawn(move || {
        while let Ok(received) = socket.receive() {
            let Received::Records(records) = received else {
                continue;
            };
            for r in records {
                let busybox = r.exe.as_deref() == Some("/bin/busybox");
                if busybox && r.action == "log" && r.native && tx.send(r.nr).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn complain_mode_runs_everything_and_logs_only_syscalls_outside_the_profile() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let exporter = Exporter::start(&rt);
    let id = unique_id("sc-complain");
    run_counted(&rt, &exporter, &id, WORKLOAD);
    let profile = advised(&exporter, &id, &["--complain"]);
    assert_eq!(profile["defaultAction"], "SCMP_ACT_LOG", "{profile}");
    assert!(profile.get("defaultErrnoRet").is_none(), "{profile}");
    assert!(!allowed(&profile).contains("unshare"));

    let records = logged_by_busybox();
    let script = format!("{WORKLOAD}; unshare -U true && echo unshared");
    let out = run_with_profile(&rt, &script, Some(&profile));
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("unshared"));
    let mut logged = Vec::new();
    let deadline = std::time::Instant::now() + LIMIT;
    while !logged.contains(&(libc::SYS_unshare as u32)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match records.recv_timeout(left) {
            Ok(nr) => logged.push(nr),
            Err(_) => panic!("no logged unshare within {LIMIT:?}; logged: {logged:?}"),
        }
    }
    // Only syscalls outside the profile are logged (busybox unshare also asks for its
    // ids, which the workload never did).
    let names = allowed(&profile);
    for nr in logged {
        let name = berth_ebpf::syscall_names::syscall_name(nr)
            .map_or_else(|| format!("nr_{nr}"), str::to_string);
        assert!(!names.contains(&name), "{name} is allowed but was logged");
    }
}

#[test]
fn runc_runs_the_advised_profile() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let exporter = Exporter::start(&rt);
    let id = unique_id("sc-runc");
    let first = run_counted(&rt, &exporter, &id, WORKLOAD);
    let profile = advised(&exporter, &id, &[]);

    let runc = Runtime::runc();
    let mut b = TestBundle::busybox(&["sh", "-c", WORKLOAD]);
    let rootfs = rootfs_copy(b.path());
    let runc_id = unique_id("sc-runc-peer");
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs.display().to_string());
        c["linux"]["cgroupsPath"] = json!(format!("/{runc_id}"));
        c["linux"]["seccomp"] = profile.clone();
    });
    let out = runc.run(&["run", "--bundle", b.path_str(), &runc_id]);
    let _ = runc.run(&["delete", "--force", &runc_id]);
    assert!(
        out.status.success(),
        "runc run with the advised profile ({}): {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), first);
}

/// The exporter follows a `create` at once (inotify on its state root), not at its next
/// periodic discovery: a container started 100 ms after `create`, with no scrape in
/// between, is counted from its first instruction (its execve is in the advice). A
/// container counted only after it started is refused, not advised from partial counts.
#[test]
fn a_created_container_is_counted_before_its_start_without_a_scrape() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let exporter = Exporter::start(&rt);
    let id = unique_id("sc-inotify");
    let b = counted_bundle("echo hi");
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    std::thread::sleep(Duration::from_millis(100));
    rt.ok(&["start", &id]);
    assert_eq!(wait_for_status(&rt, &id, "stopped")["status"], "stopped");
    let names = allowed(&advised(&exporter, &id, &[]));
    assert!(names.contains("execve"), "{names:?}");

    // Started with no exporter running, then discovered: refused.
    let late = unique_id("sc-late");
    let b = counted_bundle("sleep 1; echo hi");
    drop(exporter);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &late]);
    let exporter = Exporter::start(&rt);
    let (status, body) = exporter.get(&format!("/seccomp-profile?container={late}"));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("not counted from its start"), "{body}");
}
