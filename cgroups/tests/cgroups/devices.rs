use std::time::Duration;

use berth_cgroups::{DeviceFilter, attached_program_ids};

use crate::harness::{TestCgroup, resources, root_or_skip};

/// Tries /dev/zero (1:5) and /dev/null (1:3); prints e.g. `zero=1 null=0` (0 = opened).
const PROBE: &str =
    "(: < /dev/zero) 2>/dev/null; z=$?; (: > /dev/null) 2>/dev/null; n=$?; echo zero=$z null=$n";

const DENY_ALL_BUT_NULL: &str = r#"[{"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#;

#[test]
fn a_denied_device_cannot_be_opened_and_an_allowed_one_can() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("devices");
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
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("bpfdev");
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
