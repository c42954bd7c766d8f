//! Resource limits end to end: memory (OOM kill reported by `events`), pids, cpu quota,
//! cpuset, `update` of a running container, `events --stats`, `features`, and bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::{
    Runtime, TestBundle, cgroup_dirs_named, delete_and_check_clean, require_root, stderr, unique_id,
};
use serde_json::{Value, json};

const MIB: i64 = 1 << 20;

/// A detached container running `args` with `resources` as linux.resources.
fn run_with(rt: &Runtime, prefix: &str, args: &[&str], resources: Value) -> (String, TestBundle) {
    let id = unique_id(prefix);
    let mut b = TestBundle::busybox(args);
    b.edit(|c| c["linux"]["resources"] = resources);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    (id, b)
}

/// The `data` of `events --stats`.
fn stats(rt: &Runtime, id: &str) -> Value {
    let line = rt.ok(&["events", "--stats", id]);
    let event: Value = serde_json::from_str(&line).expect("stats event JSON");
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], id);
    event["data"].clone()
}

fn memory_limit(rt: &Runtime, id: &str) -> i64 {
    stats(rt, id)["memory"]["usage"]["limit"]
        .as_i64()
        .expect("memory limit")
}

/// Allocates and touches `mib` MiB of anonymous memory: dd's buffer is one block, filled
/// by read(2) from /dev/zero, so every page is really charged to the cgroup.
fn alloc_cmd(mib: u32) -> Vec<String> {
    [
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        &format!("bs={mib}M"),
        "count=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn memory_limit_oom_kill_is_reported_by_events() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("oom");
    let args = alloc_cmd(64);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut b = TestBundle::busybox(&args);
    b.edit(|c| c["linux"]["resources"] = json!({"memory": {"limit": 32 * MIB}}));
    rt.ok(&["create", "--bundle", b.path_str(), &id]);

    let out_file = tempfile::NamedTempFile::new().expect("events output");
    let mut events = rt
        .cmd()
        .args(["events", "--interval", "100ms", &id])
        .stdout(out_file.reopen().expect("reopen"))
        .spawn()
        .expect("spawning events");
    // The first stats line means the OOM watcher is registered: only then start.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(out_file.path())
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "events printed nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    rt.ok(&["start", &id]);

    // The OOM kill ends the init, and with it the event stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = events.try_wait().expect("events wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = events.kill();
            panic!("events did not end with the container");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "events: {status}");
    let text = std::fs::read_to_string(out_file.path()).expect("events output");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["type"] == "oom" && e["id"] == id.as_str()),
        "no oom event in {text}"
    );
    let first = &lines[0];
    assert_eq!(first["type"], "stats");
    assert_eq!(first["data"]["memory"]["usage"]["limit"], 32 * MIB);
    assert_eq!(rt.state(&id)["status"], "stopped");
    delete_and_check_clean(&rt, &id);
}

#[test]
fn update_raises_the_memory_limit_of_a_running_container() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "upd-mem",
        &["sleep", "1000"],
        json!({"memory": {"limit": 32 * MIB}}),
    );
    let alloc = alloc_cmd(48);
    let mut exec_alloc = vec!["exec", id.as_str()];
    exec_alloc.extend(alloc.iter().map(String::as_str));
    // 48 MiB in a 32 MiB container: the OOM killer ends it (SIGKILL: 137).
    assert_eq!(rt.run(&exec_alloc).status.code(), Some(137));
    assert_eq!(
        rt.state(&id)["status"],
        "running",
        "only the exec'd process dies"
    );

    rt.ok(&["update", "--memory", "128m", &id]);
    assert_eq!(memory_limit(&rt, &id), 128 * MIB);
    let out = rt.run(&exec_alloc);
    assert!(
        out.status.success(),
        "allocation after update: {} {}",
        out.status,
        stderr(&out)
    );

    // -r with a resources file, the runc way.
    let res = tempfile::NamedTempFile::new().expect("resources file");
    std::fs::write(
        res.path(),
        json!({"memory": {"limit": 96 * MIB}}).to_string(),
    )
    .expect("write");
    rt.ok(&["update", "-r", res.path().to_str().expect("utf-8"), &id]);
    assert_eq!(memory_limit(&rt, &id), 96 * MIB);
    delete_and_check_clean(&rt, &id);
}

#[test]
fn bad_update_input_is_refused_and_changes_nothing() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "upd-bad",
        &["sleep", "1000"],
        json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 50}}),
    );
    for (args, needle) in [
        (vec!["--memory", "-5"], "--memory"),
        (vec!["--memory", "lots"], "--memory"),
        (vec!["--memory", "99999999999p"], "--memory"),
        (vec!["--cpu-share", "-1"], "--cpu-share"),
        (vec!["--cpu-share", "999999999"], "cpu.shares"),
        (vec!["--cpu-quota", "10"], "cpu.quota"),
        (vec!["--blkio-weight", "5000"], "blockIO.weight"),
        // A valid memory value with an invalid one: the valid one must not be applied.
        (vec!["--memory", "128m", "--cpu-period", "5"], "cpu.period"),
    ] {
        let mut cmd = vec!["update"];
        cmd.extend(&args);
        cmd.push(&id);
        let out = rt.run(&cmd);
        assert!(!out.status.success(), "update {args:?} succeeded");
        assert!(
            stderr(&out).contains(needle),
            "update {args:?}: {}",
            stderr(&out)
        );
    }
    let data = stats(&rt, &id);
    assert_eq!(
        data["memory"]["usage"]["limit"],
        64 * MIB,
        "a refused update changed the memory limit"
    );
    assert_eq!(data["pids"]["limit"], 50);

    // Paused: updates apply as runc applies them (runtime_cgroup_edge_cases.rs), and bad
    // input is refused there too, with nothing changed.
    rt.ok(&["pause", &id]);
    let out = rt.run(&["update", "--memory", "128m", "--cpu-period", "5", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cpu.period"), "{}", stderr(&out));
    rt.ok(&["resume", &id]);
    assert_eq!(memory_limit(&rt, &id), 64 * MIB);

    let out = rt.run(&["update", "--memory", "128m", "no-such-container"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    rt.ok(&["kill", &id, "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.state(&id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "container did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = rt.run(&["update", "--memory", "128m", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    let out = rt.run(&["events", "--stats", &id]);
    assert!(!out.status.success(), "events of a stopped container");
    delete_and_check_clean(&rt, &id);
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "pids",
        &["sleep", "1000"],
        json!({"pids": {"limit": 10}}),
    );
    let out = rt.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "for i in $(seq 1 30); do sleep 1000 & done; echo all-forked",
    ]);
    assert!(
        !out.status.success(),
        "30 forks succeeded under a limit of 10"
    );
    assert!(stderr(&out).contains("can't fork"), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("all-forked"));
    let pids: Vec<i64> =
        serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).expect("ps JSON");
    assert!(
        pids.len() <= 10 && pids.len() >= 5,
        "{} processes: {pids:?}",
        pids.len()
    );
    let data = stats(&rt, &id);
    assert_eq!(data["pids"]["limit"], 10);
    assert!(
        data["pids"]["current"].as_i64().is_some_and(|n| n <= 10),
        "{}",
        data["pids"]
    );
    delete_and_check_clean(&rt, &id);
}

#[test]
fn cpu_quota_keeps_a_busy_loop_near_its_share() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "cpu",
        &["sh", "-c", "while :; do :; done"],
        json!({"cpu": {"quota": 20_000, "period": 100_000}}),
    );
    let usage = |rt: &Runtime| {
        stats(rt, &id)["cpu"]["usage"]["total"]
            .as_u64()
            .expect("cpu usage")
    };
    // Let the loop get going, then measure over two seconds.
    std::thread::sleep(Duration::from_millis(300));
    let (u0, t0) = (usage(&rt), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (u1, t1) = (usage(&rt), Instant::now());
    let share = (u1 - u0) as f64 / (t1 - t0).as_nanos() as f64;
    // 0.2 CPU allowed; the upper bound is the limit plus scheduling slack, the lower one
    // leaves room for a busy shared host.
    assert!(
        share < 0.30,
        "busy loop used {share:.3} CPU under a 0.2 quota"
    );
    assert!(share > 0.05, "busy loop used only {share:.3} CPU");
    let data = stats(&rt, &id);
    assert!(
        data["cpu"]["throttling"]["throttledPeriods"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{}",
        data["cpu"]
    );
    delete_and_check_clean(&rt, &id);
}

#[test]
fn cpuset_pins_the_container_to_one_cpu() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "cpuset",
        &["sleep", "1000"],
        json!({"cpu": {"cpus": "0"}}),
    );
    let out = rt.ok(&[
        "exec",
        &id,
        "grep",
        "Cpus_allowed_list",
        "/proc/self/status",
    ]);
    assert_eq!(out.split_whitespace().last(), Some("0"), "{out}");
    // An offline or absent CPU is refused by update.
    let out = rt.run(&["update", "--cpuset-cpus", "4096", &id]);
    assert!(!out.status.success());
    delete_and_check_clean(&rt, &id);
}

#[test]
fn features_reports_what_the_runtime_supports() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let v: Value = serde_json::from_str(&rt.ok(&["features"])).expect("features JSON");
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["ociVersionMax"], "1.2.0");
    let has = |v: &Value, x: &str| v.as_array().is_some_and(|a| a.iter().any(|e| e == x));
    for ns in ["pid", "network", "mount", "ipc", "uts", "user", "cgroup"] {
        assert!(has(&v["linux"]["namespaces"], ns), "namespace {ns}");
    }
    assert!(has(&v["linux"]["capabilities"], "CAP_SYS_ADMIN"));
    assert!(has(&v["mountOptions"], "rbind"));
    assert!(has(&v["hooks"], "createRuntime"));
    assert!(has(&v["linux"]["seccomp"]["actions"], "SCMP_ACT_NOTIFY"));
    assert!(has(
        &v["linux"]["seccomp"]["operators"],
        "SCMP_CMP_MASKED_EQ"
    ));
    assert!(has(&v["linux"]["seccomp"]["archs"], "SCMP_ARCH_X86_64"));
    assert_eq!(v["linux"]["cgroup"]["systemd"], false);
    // The cgroup versions are those this host has.
    let layout = v["annotations"]["org.berth.cgroup.layout"]
        .as_str()
        .unwrap_or_default();
    let (v1, v2) = match layout {
        "hybrid" => (true, true),
        "v2" => (false, true),
        "v1" => (true, false),
        other => panic!("layout annotation {other:?}"),
    };
    assert_eq!(v["linux"]["cgroup"]["v1"], v1);
    assert_eq!(v["linux"]["cgroup"]["v2"], v2);
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(layout == "v2", unified, "layout {layout} on this host");
}

#[test]
fn device_rules_deny_and_allow_opening_nodes() {
    if !require_root() {
        return;
    }
    // A node made with mknod (always allowed, as in runc) opens only if the rules allow
    // its major:minor. 1:11 (kmsg) is in no default rule and opens write-only without
    // capabilities; 10:200 (tun) is in runc's default list, so it always opens.
    let script = "mknod /tmp/kmsg c 1 11; mknod /tmp/tun c 10 200; \
                  (: > /tmp/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; \
                  dd if=/tmp/tun of=/dev/null count=0 2>/dev/null && echo tun-open || echo tun-denied; \
                  echo x > /dev/null && echo null-open";
    let rt = Runtime::new();
    let run = |rules: Option<Value>| {
        let id = unique_id("devices");
        let mut b = TestBundle::busybox(&["sh", "-c", script]);
        if let Some(rules) = rules {
            b.edit(|c| c["linux"]["resources"] = json!({"devices": rules}));
        }
        let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(cgroup_dirs_named(&id).is_empty());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The values runc 1.1.5 gives on the v1 test host for the same rules.
    assert_eq!(
        run(None),
        "kmsg-denied\ntun-open\nnull-open\n",
        "without rules only the default devices open"
    );
    let denied = run(Some(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ])));
    assert_eq!(denied, "kmsg-denied\ntun-open\nnull-open\n");
    let allowed = run(Some(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}
    ])));
    assert_eq!(allowed, "kmsg-open\ntun-open\nnull-open\n");
    let all = run(Some(json!([{"allow": true, "access": "rwm"}])));
    assert_eq!(all, "kmsg-open\ntun-open\nnull-open\n");
}

/// Issue 16 item 4, as reported: a device listed in `linux.devices` gets no allow rule of
/// its own, so under deny-all `hostname | tee /dev/kmsg` fails with EPERM, as with runc;
/// an explicit rule lets it through, and runc's `"rwa"` (unknown letters ignored) works.
#[test]
fn spec_devices_open_only_when_a_rule_allows_them() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let run = |rules: Value| {
        let id = unique_id("kmsg");
        let mut b = TestBundle::busybox(&["sh", "-c", "hostname | tee /dev/kmsg"]);
        b.edit(|c| {
            c["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1,
                "minor": 11, "fileMode": 0o644, "uid": 0, "gid": 0}]);
            c["linux"]["resources"] = json!({"devices": rules});
            for set in ["bounding", "effective", "permitted"] {
                if let Some(caps) = c["process"]["capabilities"][set].as_array_mut() {
                    caps.push(json!("CAP_SYSLOG"));
                }
            }
        });
        let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
        assert!(cgroup_dirs_named(&id).is_empty());
        out
    };
    let out = run(json!([{"allow": false, "access": "rwm"}]));
    assert!(
        !out.status.success(),
        "tee wrote to /dev/kmsg under deny-all"
    );
    assert!(
        stderr(&out).contains("tee: /dev/kmsg: Operation not permitted"),
        "{}",
        stderr(&out)
    );
    let out = run(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The lines berth leaves in a v1 devices cgroup are the ones runc 1.1.5 leaves for the
/// same spec on the v1 test host (read inside the container, through its cgroup mount),
/// in the order of the rules (the spec's, then runc's defaults) where runc sorts them.
#[test]
fn v1_device_list_is_runcs() {
    if !require_root() || !Path::new("/sys/fs/cgroup/devices/devices.list").exists() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("devlist");
    let mut b = TestBundle::busybox(&["cat", "/sys/fs/cgroup/devices/devices.list"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "wwr"}
        ]});
    });
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        list,
        "c 1:11 rw\nc *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\n\
         c 1:5 rwm\nc 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n"
    );
    let runc = "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n\
                c 1:11 rw\nc 5:0 rwm\nc 5:2 rwm\nc 10:200 rwm\nc 136:* rwm\n";
    let sorted = |s: &str| {
        let mut l: Vec<String> = s.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&list), sorted(runc), "not runc's rules");
}

/// Access strings runc refuses are refused at create, naming the rule; nothing is left.
#[test]
fn device_rules_runc_refuses_are_refused() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    for (rules, expect) in [
        (json!([{"allow": false, "access": ""}]), "devices[0].access"),
        (json!([{"allow": false}]), "devices[0].access"),
        (
            json!([{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "x"}]),
            "c 1:11",
        ),
        (
            json!([{"allow": true, "type": "u", "access": "rw"}]),
            "devices[0].type",
        ),
        (
            json!([{"allow": false, "access": "rwm"},
                   {"allow": true, "type": "c", "major": 1, "access": "rwm"},
                   {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "w"}]),
            "c 1:*",
        ),
    ] {
        let id = unique_id("badrule");
        let mut b = TestBundle::busybox(&["true"]);
        b.edit(|c| c["linux"]["resources"] = json!({"devices": rules}));
        let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
        assert!(!out.status.success(), "{rules} accepted");
        assert!(stderr(&out).contains(expect), "{rules}: {}", stderr(&out));
        assert!(cgroup_dirs_named(&id).is_empty(), "{rules}: cgroup left");
    }
}

#[test]
fn update_leaves_device_rules_as_create_set_them() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("upd-dev");
    let b = TestBundle::busybox(&["sleep", "100"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let res = b.path().join("resources.json");
    std::fs::write(
        &res,
        r#"{"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 99}}"#,
    )
    .expect("resources.json");
    rt.ok(&["update", "-r", res.to_str().expect("utf-8"), &id]);
    let out = rt.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo x > /dev/null && echo null-ok",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "null-ok\n");
    delete_and_check_clean(&rt, &id);
}

/// The v1 directory of container `id` for `controller`, or None on a host without the v1
/// memory controller (the zero-value tests below read v1 files, as on this hybrid host).
fn v1_dir(id: &str, controller: &str) -> Option<PathBuf> {
    if !Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        eprintln!("skipping: no cgroup v1 memory controller here");
        return None;
    }
    let dir = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("berth")
        .join(id);
    assert!(dir.is_dir(), "{} missing", dir.display());
    Some(dir)
}

fn read_value(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(file).display()))
        .trim()
        .to_owned()
}

/// The limit files a Go client's zeros could touch, by controller.
const ZERO_SENSITIVE_FILES: [(&str, &str); 8] = [
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.soft_limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("memory", "memory.oom_control"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.cfs_period_us"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.rt_period_us"),
];

/// Values of [`ZERO_SENSITIVE_FILES`] (and the blkio weight, where BFQ gives one) of `id`.
fn limit_files(id: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (controller, file) in ZERO_SENSITIVE_FILES {
        let dir = v1_dir(id, controller)?;
        let mut value = read_value(&dir, file);
        if file == "memory.oom_control" {
            // Only the setting; the counters below it move on their own.
            value = value.lines().next().unwrap_or_default().to_owned();
        }
        out.push((file.to_owned(), value));
    }
    let blkio = v1_dir(id, "blkio")?;
    if blkio.join("blkio.bfq.weight").exists() {
        out.push((
            "blkio.bfq.weight".into(),
            read_value(&blkio, "blkio.bfq.weight"),
        ));
    }
    Some(out)
}

#[test]
fn docker_20_10_zero_resources_run_and_change_nothing() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // What dockerd 20.10 writes for a container without limits: Go zero values that mean
    // "not set" (runc 1.1 runs it; berth refused `blockIO.weight: 0` before).
    let docker = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0,
                   "disableOOMKiller": false},
        "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0,
                "realtimePeriod": 0, "cpus": "", "mems": ""},
        "blockIO": {"weight": 0, "leafWeight": 0},
        "pids": {"limit": 0},
        "network": {"classID": 0},
    });
    let (id, _b) = run_with(&rt, "docker-zero", &["sleep", "1000"], docker);
    assert_eq!(rt.state(&id)["status"], "running");
    let (plain, _p) = run_with(&rt, "no-res", &["sleep", "1000"], json!({}));
    let (Some(got), Some(want)) = (limit_files(&id), limit_files(&plain)) else {
        return;
    };
    assert_eq!(
        got, want,
        "the zeros changed limits a container without resources does not have"
    );
    assert_eq!(
        read_value(&v1_dir(&id, "pids").expect("pids dir"), "pids.max"),
        "max"
    );
    delete_and_check_clean(&rt, &id);
    delete_and_check_clean(&rt, &plain);
}

#[test]
fn docker_update_memory_applies_the_limit_and_leaves_the_zeros_alone() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = run_with(
        &rt,
        "docker-upd",
        &["sleep", "1000"],
        json!({"cpu": {"shares": 512, "quota": 20000, "period": 50000}, "pids": {"limit": 50}}),
    );
    let Some(before) = limit_files(&id) else {
        return;
    };
    // Exactly what `docker update --memory 64m --memory-swap 128m` (20.10) sends.
    let request = r#"{"memory":{"limit":67108864,"reservation":0,"swap":134217728,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#;
    let mut child = rt
        .cmd()
        .args(["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning update");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.as_bytes())
        .expect("writing the request");
    let out = child.wait_with_output().expect("update");
    assert!(out.status.success(), "update: {}", stderr(&out));

    let memory = v1_dir(&id, "memory").expect("memory dir");
    assert_eq!(read_value(&memory, "memory.limit_in_bytes"), "67108864");
    assert_eq!(
        read_value(&memory, "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    let after = limit_files(&id).expect("limit files");
    for ((file, old), (_, new)) in before.iter().zip(&after) {
        if !file.starts_with("memory.limit") && !file.starts_with("memory.memsw") {
            assert_eq!(old, new, "{file} changed by a zero that means 'not set'");
        }
    }
    let cpu = v1_dir(&id, "cpu").expect("cpu dir");
    assert_eq!(read_value(&cpu, "cpu.shares"), "512");
    assert_eq!(read_value(&cpu, "cpu.cfs_quota_us"), "20000");
    assert_eq!(read_value(&cpu, "cpu.cfs_period_us"), "50000");

    // runc writes `max` for any negative pids limit; 0 leaves the limit as it is.
    let pids = v1_dir(&id, "pids").expect("pids dir");
    rt.ok(&["update", "--pids-limit", "0", &id]);
    assert_eq!(read_value(&pids, "pids.max"), "50");
    rt.ok(&["update", "--pids-limit", "-7", &id]);
    assert_eq!(read_value(&pids, "pids.max"), "max");
    delete_and_check_clean(&rt, &id);
}
