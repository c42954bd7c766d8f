use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use berth_cgroups::{OomEvent, OomWatcher};

use crate::harness::{TestCgroup, root_or_skip};

/// busybox dd with a 64 MiB block: one 64 MiB buffer, every page touched by the read.
const ALLOC_64M: &str = "exec dd if=/dev/zero of=/dev/null bs=64M count=1";
const MIB: u64 = 1 << 20;

#[test]
fn memory_limit_of_32m_oom_kills_a_64m_allocation_and_stats_count_it() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("oom");
    cg.apply(r#"{"memory":{"limit":33554432,"swap":33554432}}"#)
        .expect("applying 32 MiB");
    let mut watcher = OomWatcher::new(&cg.placement).expect("watching for OOM");
    assert_eq!(
        watcher.wait(Some(Duration::ZERO)).expect("polling"),
        OomEvent::Timeout
    );
    let pid = cg.spawn(ALLOC_64M);
    let (status, _, err) = cg.wait(pid, Duration::from_secs(120));
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "not OOM-killed: {status:?} {err}"
    );
    let event = watcher
        .wait(Some(Duration::from_secs(10)))
        .expect("waiting for the OOM event");
    assert!(matches!(event, OomEvent::Oom(n) if n >= 1), "{event:?}");
    let stats = cg.placement.stats().expect("stats");
    assert!(stats.memory.oom_kill_events >= 1, "{:?}", stats.memory);
    assert!(stats.memory.oom_events >= 1, "{:?}", stats.memory);
    assert_eq!(stats.memory.limit, Some(32 * MIB));
    assert!(stats.memory.max_usage == 0 || stats.memory.max_usage <= 32 * MIB + MIB);
}

#[test]
fn update_raises_the_memory_limit_and_the_next_allocation_succeeds() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("update");
    cg.apply(r#"{"memory":{"limit":33554432,"swap":33554432}}"#)
        .expect("applying 32 MiB");
    let pid = cg.spawn(ALLOC_64M);
    let (status, _, _) = cg.wait(pid, Duration::from_secs(120));
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    // `update` passes only what changes: the limit.
    cg.apply(r#"{"memory":{"limit":134217728}}"#)
        .expect("raising to 128 MiB");
    assert_eq!(
        cg.placement.stats().expect("stats").memory.limit,
        Some(128 * MIB)
    );
    let pid = cg.spawn(ALLOC_64M);
    let (status, _, err) = cg.wait(pid, Duration::from_secs(120));
    assert!(
        status.success(),
        "allocation failed after update: {status:?} {err}"
    );
}

#[test]
fn pids_limit_of_10_stops_a_fork_bomb() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("pids");
    cg.apply(r#"{"pids":{"limit":10}}"#)
        .expect("applying pids 10");
    // 30 background sleepers; forks past the limit fail.
    let pid =
        cg.spawn("i=0; while [ $i -lt 30 ]; do sleep 60 & i=$((i+1)); done; echo forked; sleep 60");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = cg.placement.stats().expect("stats");
        assert!(
            stats.pids.current <= 10,
            "{} tasks despite the limit",
            stats.pids.current
        );
        assert_eq!(stats.pids.limit, Some(10));
        if stats.pids.current == 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never reached 10 tasks: {}",
            stats.pids.current
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let procs = cg.placement.processes().expect("processes");
    assert!(procs.len() <= 10, "{} processes: {procs:?}", procs.len());
    cg.placement.kill_all(libc::SIGKILL).expect("kill");
    let (_, _, err) = cg.wait(pid, Duration::from_secs(30));
    assert!(
        err.contains("fork") || err.contains("resource"),
        "no fork failure reported: {err}"
    );
}

#[test]
fn cpu_quota_of_0_2_keeps_a_busy_loop_near_20_percent() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("quota");
    cg.apply(r#"{"cpu":{"quota":20000,"period":100000}}"#)
        .expect("applying 0.2 CPU");
    cg.spawn("while :; do :; done");
    std::thread::sleep(Duration::from_millis(300));
    let before = cg.placement.stats().expect("stats").cpu;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let after = cg.placement.stats().expect("stats").cpu;
    let share = (after.usage_ns - before.usage_ns) as f64 / t0.elapsed().as_nanos() as f64;
    assert!(
        share <= 0.30,
        "busy loop used {share:.2} CPU despite a 0.2 quota"
    );
    assert!(
        share >= 0.05,
        "busy loop used only {share:.2} CPU: did it run?"
    );
    // A loop starved by a busy machine may stay under its quota and never be throttled.
    if share >= 0.15 {
        assert!(
            after.throttled_periods > before.throttled_periods,
            "never throttled: {after:?}"
        );
    }
}

#[test]
fn cpuset_pins_the_container_to_one_cpu() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("cpuset");
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("online cpus");
    let last = online
        .trim()
        .rsplit([',', '-'])
        .next()
        .expect("a cpu")
        .to_owned();
    cg.apply(&format!(r#"{{"cpu":{{"cpus":"{last}","mems":"0"}}}}"#))
        .expect("pinning");
    let pid = cg.spawn("grep Cpus_allowed_list /proc/self/status");
    let (status, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert!(status.success(), "{err}");
    assert_eq!(out.split_whitespace().nth(1), Some(last.as_str()), "{out}");
}

#[test]
fn the_oom_watcher_reports_a_removed_cgroup_as_gone() {
    if !root_or_skip() {
        return;
    }
    let cg = TestCgroup::new("oomgone");
    let mut watcher = OomWatcher::new(&cg.placement).expect("watching for OOM");
    cg.placement.remove().expect("removing");
    let event = watcher
        .wait(Some(Duration::from_secs(10)))
        .expect("waiting");
    assert_eq!(event, OomEvent::Gone);
}
