use std::time::Duration;

use berth_cgroups::{Layout, StatsScope, detect_layout};

use crate::harness::{TestPlacement, read};
use berth_testkit::root::require_root;

#[test]
fn stats_match_the_cgroup_files() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("stats");
    cg.apply(r#"{"memory":{"limit":67108864},"pids":{"limit":50}}"#)
        .expect("applying");
    // The shell keeps 4 MB in a variable, then waits on one sleeper: 2 tasks, steady.
    cg.spawn("x=$(head -c 4000000 /dev/zero | tr '\\0' a); sleep 60 & wait");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = cg.placement.stats().expect("stats");
        if s.pids.current == 2 && s.memory.rss >= 4_000_000 {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "workload never settled: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mem = cg.v1_or_v2_dir("memory");
    let pids = cg.v1_or_v2_dir("pids");
    assert_eq!(s.memory.limit, Some(64 << 20));
    assert_eq!(s.pids.limit, Some(50));
    let current: u64 = read(&pids, "pids.current").parse().expect("pids.current");
    assert_eq!(s.pids.current, current);
    let (usage_file, inactive_key) = match detect_layout().expect("layout") {
        Layout::V2 => ("memory.current", "inactive_file"),
        _ => ("memory.usage_in_bytes", "total_inactive_file"),
    };
    let usage: u64 = read(&mem, usage_file).parse().expect("usage");
    // Usage moves between two reads; the same order of magnitude is what matters.
    assert!(
        s.memory.usage > 0 && s.memory.usage.abs_diff(usage) < 8 << 20,
        "{} vs {usage}",
        s.memory.usage
    );
    let inactive = s.memory.stat.get(inactive_key).copied().unwrap_or(0);
    assert_eq!(
        s.memory.working_set,
        s.memory.usage.saturating_sub(inactive)
    );
    assert!(s.memory.rss > 0, "{:?}", s.memory);
    assert!(
        s.cpu.usage_ns > 0 && s.cpu.usage_ns >= s.cpu.user_ns,
        "{:?}",
        s.cpu
    );
    let runc = s.to_runc_json();
    assert_eq!(runc["memory"]["usage"]["usage"], s.memory.usage);
    assert_eq!(runc["memory"]["usage"]["limit"], 64u64 << 20);
    assert_eq!(runc["pids"]["limit"], 50);
    let json = serde_json::to_value(&s).expect("serializing stats");
    assert!(json["memory"]["workingSet"].is_u64(), "{json}");
}

#[test]
fn scoped_stats_read_only_the_controllers_asked_for() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("scope");
    cg.apply(r#"{"memory":{"limit":67108864},"pids":{"limit":50}}"#)
        .expect("applying");
    cg.spawn("sleep 60");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cg.placement.stats().expect("stats").pids.current < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "sleeper never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let only_pids = StatsScope {
        cpu: false,
        memory: false,
        pids: true,
        io: false,
        hugetlb: false,
    };
    let s = cg.placement.stats_of(only_pids).expect("scoped stats");
    assert!(s.pids.current >= 1);
    assert_eq!(s.pids.limit, Some(50));
    assert_eq!(s.memory.limit, None, "memory was read though not asked for");
    assert_eq!(s.memory.usage, 0);
    let all = cg.placement.stats_of(StatsScope::ALL).expect("all stats");
    assert_eq!(all.memory.limit, Some(64 << 20));
}
