use berth_cgroups::{CgroupError, Layout, detect_layout};

use crate::harness::{TestPlacement, read};
use berth_testkit::root::require_root;

const BASELINE: &str = r#"{"memory":{"limit":67108864},"pids":{"limit":20}}"#;

fn assert_unchanged(cg: &TestPlacement) {
    let s = cg.placement.stats().expect("stats");
    assert_eq!(s.memory.limit, Some(64 << 20), "memory limit changed");
    assert_eq!(s.pids.limit, Some(20), "pids limit changed");
}

#[test]
fn negative_and_absurd_limits_are_refused_and_nothing_changes() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("bad");
    cg.apply(BASELINE).expect("baseline");
    for (bad, field) in [
        (
            r#"{"memory":{"limit":33554432},"cpu":{"period":10}}"#,
            "cpu.period",
        ),
        (
            r#"{"pids":{"limit":10},"memory":{"limit":-2}}"#,
            "memory.limit",
        ),
        (
            r#"{"pids":{"limit":10},"cpu":{"quota":50,"period":100000}}"#,
            "cpu.quota",
        ),
        (
            r#"{"pids":{"limit":10},"cpu":{"shares":999999999}}"#,
            "cpu.shares",
        ),
        (r#"{"pids":{"limit":10},"cpu":{"cpus":"4096"}}"#, "cpu.cpus"),
        (
            r#"{"pids":{"limit":10},"devices":[{"allow":true,"type":"c","access":""}]}"#,
            "devices[0].access",
        ),
    ] {
        let err = cg.apply(bad).expect_err(bad);
        let msg = err.to_string();
        assert!(
            msg.contains(field),
            "{bad}: error {msg:?} does not name {field}"
        );
        assert!(
            matches!(err, CgroupError::InvalidResource { .. }),
            "{bad}: {err:?}"
        );
        assert_unchanged(&cg);
    }
}

#[test]
fn zeros_that_mean_not_set_change_nothing() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("zeros");
    cg.apply(BASELINE).expect("baseline");
    // dockerd 20.10's resources for a container without limits, and the zeros of every
    // other field runc 1.1 skips: none of them is a limit.
    cg.apply(
        r#"{"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0,"disableOOMKiller":false},
            "cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0,"cpus":"","mems":""},
            "blockIO":{"weight":0,"leafWeight":0},"pids":{"limit":0},"network":{"classID":0}}"#,
    )
    .expect("zeros refused");
    assert_unchanged(&cg);
    // What runc hands to the kernel as "unlimited": any negative pids limit.
    cg.apply(r#"{"pids":{"limit":-5}}"#).expect("pids -5");
    assert_eq!(cg.placement.stats().expect("stats").pids.limit, None);
}

#[test]
fn an_unknown_controller_in_unified_is_refused_and_nothing_changes() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("unified");
    cg.apply(BASELINE).expect("baseline");
    let err = cg
        .apply(r#"{"pids":{"limit":10},"unified":{"bogus.max":"1"}}"#)
        .expect_err("unknown controller accepted");
    let msg = err.to_string();
    if detect_layout().expect("layout") == Layout::V2 {
        assert!(
            msg.contains("unified.bogus.max") && msg.contains("bogus"),
            "{msg}"
        );
    } else {
        assert!(matches!(err, CgroupError::UnifiedOnV1), "{err:?}");
    }
    assert_unchanged(&cg);
}

/// runc 1.1.5 on this hybrid host: `invalid configuration: cannot use unified on cgroup
/// v1`, for create and update alike, even where the unified hierarchy has the file (here
/// `cgroup.max.depth`): its v2 files do not govern a container limited through v1. An
/// empty map is "not set" (runc runs a container with `"unified": {}` too).
#[test]
fn unified_on_a_v1_or_hybrid_host_is_refused_in_runcs_words() {
    if !require_root() {
        return;
    }
    if detect_layout().expect("layout") == Layout::V2 {
        eprintln!("skipping: pure cgroup v2 host, where unified is applied");
        return;
    }
    let cg = TestPlacement::new("unifiedv1");
    cg.apply(BASELINE).expect("baseline");
    let err = cg
        .apply(r#"{"pids":{"limit":10},"unified":{"cgroup.max.depth":"3"}}"#)
        .expect_err("unified accepted on a v1 host");
    assert!(
        err.to_string()
            .starts_with("invalid configuration: cannot use unified on cgroup v1"),
        "{err}"
    );
    assert_unchanged(&cg);
    if let Some(v2) = &cg.placement.v2_dir {
        assert_eq!(read(v2, "cgroup.max.depth"), "max", "unified file written");
    }
    cg.apply(r#"{"pids":{"limit":20},"unified":{}}"#)
        .expect("an empty unified map is not set");
}

#[test]
fn a_systemd_style_cgroups_path_is_refused() {
    let err =
        berth_cgroups::resolve_path(Some("system.slice:berth:abc"), "abc").expect_err("accepted");
    assert!(err.to_string().contains("systemd"), "{err}");
}
