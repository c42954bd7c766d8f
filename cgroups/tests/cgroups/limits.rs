use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use berth_cgroups::{CgroupPlacement, OomEvent, OomWatcher};

use crate::harness::{TestPlacement, resources};
use berth_testkit::root::require_root;

/// busybox dd with a 64 MiB block: one 64 MiB buffer, every page touched by the read.
const ALLOC_64M: &str = "exec dd if=/dev/zero of=/dev/null bs=64M count=1";
const MIB: u64 = 1 << 20;

#[test]
fn memory_limit_of_32m_oom_kills_a_64m_allocation_and_stats_count_it() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("oom");
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
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("update");
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
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("pids");
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
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("quota");
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
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("cpuset");
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
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("oomgone");
    let mut watcher = OomWatcher::new(&cg.placement).expect("watching for OOM");
    cg.placement.remove().expect("removing");
    let event = watcher
        .wait(Some(Duration::from_secs(10)))
        .expect("waiting");
    assert_eq!(event, OomEvent::Gone);
}

/// The container's CFS bandwidth (quota, period) as the kernel holds it.
fn bandwidth(p: &CgroupPlacement) -> (Option<u64>, u64) {
    let s = p.stats().expect("stats").cpu;
    (s.quota_us, s.period_us)
}

/// A cgroup limited to 0.5 CPU over `period_us` and a container cgroup `c` below it
/// (remove `c` before the parent drops).
fn under_a_half_cpu_parent(name: &str, period_us: u64) -> (TestPlacement, CgroupPlacement) {
    let parent = TestPlacement::new(name);
    parent
        .apply(&format!(
            r#"{{"cpu":{{"quota":{},"period":{period_us}}}}}"#,
            period_us / 2
        ))
        .expect("limiting the parent to 0.5 CPU");
    let child = CgroupPlacement::create(&parent.placement.relative_path.join("c"))
        .expect("creating the container's cgroup");
    (parent, child)
}

/// Under a parent limited to 0.5 CPU (over 10 ms, shorter than the container's period,
/// and over 200 ms, longer), a container at 40 ms per 100 ms moves to 3 ms per 10 ms and
/// back. v1 takes period and quota in two writes, each checked against the parent's
/// ratio: period first passes through 40 ms per 10 ms (EINVAL, berth's old order), quota
/// first on the way back through 40 ms per 10 ms. runc 1.1.5 does both here.
#[test]
fn cfs_period_and_quota_change_together_under_a_parent_with_another_period() {
    if !require_root() {
        return;
    }
    for parent_period in [10_000, 200_000] {
        let (_parent, child) = under_a_half_cpu_parent("cfsparent", parent_period);
        let result = (|| {
            child.apply(&resources(r#"{"cpu":{"quota":40000,"period":100000}}"#))?;
            let start = bandwidth(&child);
            child.apply(&resources(r#"{"cpu":{"quota":3000,"period":10000}}"#))?;
            let shorter = bandwidth(&child);
            child.apply(&resources(r#"{"cpu":{"quota":40000,"period":100000}}"#))?;
            Ok::<_, berth_cgroups::CgroupError>((start, shorter, bandwidth(&child)))
        })();
        child.remove().expect("removing the container's cgroup");
        let (start, shorter, back) = result.expect("changing period and quota together");
        assert_eq!(
            start,
            (Some(40000), 100000),
            "parent period {parent_period}"
        );
        assert_eq!(
            shorter,
            (Some(3000), 10000),
            "parent period {parent_period}"
        );
        assert_eq!(back, (Some(40000), 100000), "parent period {parent_period}");
    }
}

/// A quota the parent cannot give: v1 refuses it (EINVAL) whatever the order, and the
/// limits in force stay as they were; v2 takes it (the parent's limit still caps the
/// child), in its one `cpu.max` write.
#[test]
fn cfs_bandwidth_above_the_parents_is_refused_on_v1_in_either_order() {
    if !require_root() {
        return;
    }
    let (_parent, child) = under_a_half_cpu_parent("cfsover", 10_000);
    let result = child
        .apply(&resources(r#"{"cpu":{"quota":40000,"period":100000}}"#))
        .and_then(|()| child.apply(&resources(r#"{"cpu":{"quota":9000,"period":10000}}"#)));
    let after = bandwidth(&child);
    child.remove().expect("removing the container's cgroup");
    if child.v1_dirs.contains_key("cpu") {
        let err = result.expect_err("0.9 CPU under a 0.5 CPU parent");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        assert_eq!(after, (Some(40000), 100000), "limits changed");
    } else {
        result.expect("v2 takes a child's cpu.max above the parent's");
        assert_eq!(after, (Some(9000), 10000));
    }
}
