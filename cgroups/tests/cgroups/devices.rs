use std::time::Duration;

use berth_cgroups::{DeviceFilter, attached_program_ids};

use crate::harness::{TestPlacement, resources};
use berth_testkit::root::require_root;

/// Tries /dev/zero (1:5) and /dev/null (1:3); prints e.g. `zero=1 null=0` (0 = opened).
const PROBE: &str =
    "(: < /dev/zero) 2>/dev/null; z=$?; (: > /dev/null) 2>/dev/null; n=$?; echo zero=$z null=$n";

const DENY_ALL_BUT_NULL: &str = r#"[{"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#;

#[test]
fn a_denied_device_cannot_be_opened_and_an_allowed_one_can() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("devices");
    cg.apply(&format!(r#"{{"devices":{DENY_ALL_BUT_NULL}}}"#))
        .expect("applying devices");
    let pid = cg.spawn(PROBE);
    let (_, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert_eq!(out.trim(), "zero=1 null=0", "{err}");
    // Updating replaces the rules: now everything is allowed again.
    cg.apply(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#)
        .expect("allowing all");
    let pid = cg.spawn(PROBE);
    let (_, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert_eq!(out.trim(), "zero=0 null=0", "{err}");
}

/// The eBPF filter in the v2 hierarchy directly (on a hybrid host: in
/// /sys/fs/cgroup/unified, which needs no controller for device programs).
#[test]
fn the_bpf_device_filter_denies_in_the_v2_hierarchy_and_replaces_itself_on_update() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("bpfdev");
    let v2 = cg.placement.v2_dir.clone().expect("a v2 directory");
    let rules = resources(&format!(r#"{{"devices":{DENY_ALL_BUT_NULL}}}"#));
    let filter =
        DeviceFilter::compile(rules.devices().as_deref().unwrap_or_default()).expect("compiling");
    filter.attach(&v2).expect("attaching");
    filter.attach(&v2).expect("attaching again");
    assert_eq!(
        attached_program_ids(&v2).expect("query").len(),
        1,
        "old program not detached"
    );
    let pid = cg.spawn(PROBE);
    let (_, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert_eq!(out.trim(), "zero=1 null=0", "{err}");
}

/// runc's meaning of access strings holds on v1 and v2 alike: letters other than r, w, m
/// are ignored ("rwa" is rw), and an update that only adds a device keeps the others.
#[test]
fn access_letters_count_as_runc_counts_them_and_updates_add_devices() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("devaccess");
    cg.apply(
        r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rwa"}]}"#,
    )
    .expect("applying devices");
    let pid = cg.spawn(PROBE);
    let (_, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert_eq!(out.trim(), "zero=1 null=0", "{err}");
    cg.apply(
        r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
            {"allow":true,"type":"c","major":1,"minor":5,"access":"r"}]}"#,
    )
    .expect("adding /dev/zero");
    let pid = cg.spawn(PROBE);
    let (_, out, err) = cg.wait(pid, Duration::from_secs(60));
    assert_eq!(out.trim(), "zero=0 null=0", "{err}");
    if let Some(dir) = cg.placement.v1_dirs.get("devices") {
        assert_eq!(
            std::fs::read_to_string(dir.join("devices.list")).expect("devices.list"),
            "c 1:3 rw\nc 1:5 r\n"
        );
    }
}

#[test]
fn rules_runc_refuses_are_refused_before_anything_is_written() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("devbad");
    for bad in [
        r#"{"devices":[{"allow":false,"access":""}]}"#,
        r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"x"}]}"#,
        r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"access":"rw"},
            {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]}"#,
    ] {
        assert!(cg.apply(bad).is_err(), "{bad} accepted");
    }
}
