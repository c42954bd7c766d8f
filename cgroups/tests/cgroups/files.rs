//! Each resource lands in the right file, in the right unit, on v1/hybrid and on v2.

use std::time::{Duration, Instant};

use berth_cgroups::{CgroupError, IoUnit, Layout, detect_layout};

use crate::harness::{TestPlacement, read};
use berth_testkit::root::require_root;

fn is_v2() -> bool {
    detect_layout().expect("layout") == Layout::V2
}

#[test]
fn cpu_shares_reservation_and_quota_are_written_in_each_versions_units() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("files");
    cg.apply(
        r#"{"cpu":{"shares":512,"quota":50000,"period":200000},
            "memory":{"limit":104857600,"reservation":52428800}}"#,
    )
    .expect("applying");
    if is_v2() {
        let dir = cg.placement.v2_dir.clone().expect("v2 dir");
        assert_eq!(read(&dir, "cpu.weight"), "20");
        assert_eq!(read(&dir, "cpu.max"), "50000 200000");
        assert_eq!(read(&dir, "memory.low"), "52428800");
        // Only the period changes: the quota stays.
        cg.apply(r#"{"cpu":{"period":100000}}"#)
            .expect("period only");
        assert_eq!(read(&dir, "cpu.max"), "50000 100000");
    } else {
        let cpu = cg.v1_or_v2_dir("cpu");
        assert_eq!(read(&cpu, "cpu.shares"), "512");
        assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
        assert_eq!(read(&cpu, "cpu.cfs_period_us"), "200000");
        assert_eq!(
            read(&cg.v1_or_v2_dir("memory"), "memory.soft_limit_in_bytes"),
            "52428800"
        );
    }
}

#[test]
fn hugetlb_limits_are_applied_where_the_host_has_hugetlb() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("hugetlb");
    match cg.apply(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#) {
        Ok(()) => {
            // v1 hugetlb, or the v2 hierarchy (pure v2, or the unified one on hybrid hosts).
            let dir = cg.placement.v1_dirs.get("hugetlb").cloned();
            match dir {
                Some(d) => assert_eq!(read(&d, "hugetlb.2MB.limit_in_bytes"), "4194304"),
                None => {
                    let d = cg.placement.v2_dir.clone().expect("v2 dir");
                    assert_eq!(read(&d, "hugetlb.2MB.max"), "4194304");
                }
            }
            let stats = cg.placement.stats().expect("stats");
            assert!(stats.hugetlb.contains_key("2MB"), "{:?}", stats.hugetlb);
        }
        Err(e) => assert!(matches!(e, CgroupError::Unsupported { .. }), "{e}"),
    }
    let err = cg
        .apply(r#"{"hugepageLimits":[{"pageSize":"3MB","limit":1}]}"#)
        .expect_err("3MB");
    assert!(err.to_string().contains("3MB"), "{err}");
}

#[test]
fn unified_keys_write_v2_files_of_available_controllers() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("unifiedok");
    let result = cg.apply(r#"{"unified":{"memory.high":"50331648","pids.max":"7"}}"#);
    if is_v2() {
        result.expect("applying unified");
        let dir = cg.placement.v2_dir.clone().expect("v2 dir");
        assert_eq!(read(&dir, "memory.high"), "50331648");
        assert_eq!(read(&dir, "pids.max"), "7");
    } else {
        // v1 and hybrid: refused as runc refuses it (bad_input.rs has the details).
        let err = result.expect_err("memory.high on a hybrid host");
        assert!(matches!(err, CgroupError::UnifiedOnV1), "{err:?}");
    }
}

/// A block device to throttle: the first virtio disk (the VM lane gives its guest one).
fn block_device() -> Option<(String, u64, u64)> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("vd") || n.starts_with("sd") || n.starts_with("nvme"))
        .collect();
    names.sort();
    let name = names.into_iter().next()?;
    let dev = std::fs::read_to_string(format!("/sys/block/{name}/dev")).ok()?;
    let (major, minor) = dev.trim().split_once(':')?;
    Some((name, major.parse().ok()?, minor.parse().ok()?))
}

#[test]
fn io_throttle_slows_direct_reads_and_io_stats_count_them() {
    if !require_root() {
        return;
    }
    let Some((name, major, minor)) = block_device() else {
        eprintln!("skipped: no virtio/scsi/nvme block device to throttle");
        return;
    };
    let mut cg = TestPlacement::new("io");
    cg.apply(&format!(
        r#"{{"blockIO":{{"throttleReadBpsDevice":[{{"major":{major},"minor":{minor},"rate":1048576}}]}}}}"#
    ))
    .expect("applying io throttle");
    if is_v2() {
        let dir = cg.placement.v2_dir.clone().expect("v2 dir");
        let max = read(&dir, "io.max");
        assert!(
            max.contains(&format!("{major}:{minor} rbps=1048576")),
            "{max}"
        );
    } else {
        let dir = cg.v1_or_v2_dir("blkio");
        let f = read(&dir, "blkio.throttle.read_bps_device");
        assert_eq!(f, format!("{major}:{minor} 1048576"));
    }
    if let Err(e) = std::fs::File::open(format!("/dev/{name}")) {
        // Some sandboxes forbid opening disks even to root: the files were checked above.
        eprintln!("not measuring the throttle: /dev/{name} cannot be opened here: {e}");
        return;
    }
    // 2 MiB at 1 MiB/s, bypassing the page cache.
    let t0 = Instant::now();
    let pid = cg.spawn(&format!(
        "exec dd if=/dev/{name} of=/dev/null bs=64k count=32 iflag=direct"
    ));
    let (status, _, err) = cg.wait(pid, Duration::from_secs(120));
    let elapsed = t0.elapsed();
    assert!(status.success(), "dd failed: {err}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "2 MiB read in {elapsed:?} despite 1 MiB/s"
    );
    let stats = cg.placement.stats().expect("stats");
    let read_bytes: u64 = stats
        .io
        .entries
        .iter()
        .filter(|e| {
            e.major == major && e.minor == minor && e.op == "Read" && e.unit == IoUnit::Bytes
        })
        .map(|e| e.value)
        .sum();
    assert!(read_bytes >= 2 << 20, "io stats: {:?}", stats.io);
}

#[test]
fn oom_killer_and_swappiness_knobs_are_written_on_v1_and_ignored_on_v2() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("knobs");
    cg.apply(r#"{"memory":{"limit":33554432,"disableOOMKiller":true,"swappiness":10}}"#)
        .expect("applying");
    if is_v2() {
        let dir = cg.placement.v2_dir.clone().expect("v2 dir");
        assert_eq!(read(&dir, "memory.max"), "33554432");
    } else {
        let dir = cg.v1_or_v2_dir("memory");
        assert!(read(&dir, "memory.oom_control").contains("oom_kill_disable 1"));
        assert_eq!(read(&dir, "memory.swappiness"), "10");
        // runc ignores useHierarchy; the kernel accounts hierarchically regardless.
        cg.apply(r#"{"memory":{"useHierarchy":false}}"#)
            .expect("useHierarchy false is a warning, as runc ignores it");
        assert_eq!(read(&dir, "memory.use_hierarchy"), "1");
    }
}

#[test]
fn realtime_cpu_runtime_is_granted_on_v1_and_refused_on_v2() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("rt");
    let result = cg.apply(r#"{"cpu":{"realtimePeriod":1000000,"realtimeRuntime":10000}}"#);
    match cg.placement.v1_dirs.get("cpu") {
        Some(dir) if dir.join("cpu.rt_runtime_us").exists() => {
            result.expect("applying realtime");
            assert_eq!(read(dir, "cpu.rt_runtime_us"), "10000");
            assert_eq!(read(dir, "cpu.rt_period_us"), "1000000");
        }
        _ => {
            let err = result.expect_err("realtime without RT group scheduling");
            assert!(err.to_string().contains("realtime"), "{err}");
        }
    }
}
