use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{TestCgroup, root_or_skip};

fn counter(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn freeze_stops_a_counter_and_thaw_resumes_it() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("count");
    let mut cg = TestCgroup::new("freeze");
    cg.spawn(&format!(
        "i=0; while :; do i=$((i+1)); echo $i > {}; done",
        file.display()
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while counter(&file) < 3 {
        assert!(Instant::now() < deadline, "counter never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    cg.placement.freeze().expect("freezing");
    assert!(cg.placement.is_frozen().expect("is_frozen"));
    let frozen_at = std::fs::read_to_string(&file).unwrap_or_default();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        frozen_at,
        "counter advanced"
    );
    cg.placement.thaw().expect("thawing");
    assert!(!cg.placement.is_frozen().expect("is_frozen"));
    let base = counter(&file);
    while counter(&file) <= base {
        assert!(Instant::now() < deadline, "counter did not resume");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_frozen_container_can_still_be_killed_and_removed() {
    if !root_or_skip() {
        return;
    }
    let mut cg = TestCgroup::new("frozenkill");
    cg.spawn("sleep 60");
    cg.placement.freeze().expect("freezing");
    cg.placement.kill_all(libc::SIGKILL).expect("killing");
    // v1 delivers SIGKILL only once thawed; v2 cgroup.kill works frozen.
    cg.placement.thaw().expect("thawing");
    assert!(
        cg.placement
            .wait_empty(Duration::from_secs(20))
            .expect("wait"),
        "not empty"
    );
}
