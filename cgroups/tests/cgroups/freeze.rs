use std::path::Path;
use std::time::{Duration, Instant};

use berth_cgroups::{CgroupError, CgroupPlacement};

use crate::harness::TestPlacement;
use berth_testkit::root::require_root;

fn counter(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn freeze_stops_a_counter_and_thaw_resumes_it() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("count");
    let mut cg = TestPlacement::new("freeze");
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
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("frozenkill");
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

/// The refusal of create for a frozen `path`: runc's wording, and the path it read.
fn assert_refused_as_frozen(path: &Path, frozen_dir: &Path) {
    let started = Instant::now();
    let err = CgroupPlacement::create(path).expect_err("a frozen cgroup was accepted");
    assert!(started.elapsed() < Duration::from_secs(2), "slow refusal");
    assert!(matches!(err, CgroupError::Frozen { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("container's cgroup unexpectedly frozen: ")
            && msg.contains(&frozen_dir.display().to_string()),
        "{msg}"
    );
}

/// runc 1.1 refuses a pre-existing frozen cgroup ("container's cgroup unexpectedly
/// frozen") where a process placed in it would stop at once and create would hang; a new
/// cgroup below a frozen one is frozen too. Nothing is created or removed by the refusal.
#[test]
fn create_refuses_a_frozen_cgroup_and_one_below_it() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("frozenpre");
    cg.placement.freeze().expect("freezing the empty cgroup");
    let path = &cg.placement.relative_path;
    let frozen_dir = cg.v1_or_v2_dir("freezer");
    assert_refused_as_frozen(path, &frozen_dir);
    assert_refused_as_frozen(&path.join("child"), &frozen_dir);
    assert!(
        !frozen_dir.join("child").exists(),
        "refusal created a child"
    );
    assert!(cg.placement.is_frozen().expect("is_frozen"), "thawed");
    cg.placement.thaw().expect("thawing");
    let child = CgroupPlacement::create(&path.join("child")).expect("thawed: accepted");
    child.remove().expect("removing the child");
}

/// On hybrid hosts the v2 hierarchy freezes too, without the v1 freezer knowing (runc 1.1
/// then hangs): `cgroup.freeze` of the cgroup or of an ancestor is refused as well.
#[test]
fn create_refuses_a_cgroup_frozen_on_the_v2_hierarchy() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("frozenv2");
    let Some(v2_dir) = v2_dir_or_skip(&cg) else {
        return;
    };
    std::fs::write(v2_dir.join("cgroup.freeze"), "1").expect("writing cgroup.freeze");
    let path = &cg.placement.relative_path;
    assert_refused_as_frozen(path, &v2_dir);
    // The child does not exist: its nearest ancestor, frozen itself, is what was read.
    assert_refused_as_frozen(&path.join("child"), &v2_dir);
    std::fs::write(v2_dir.join("cgroup.freeze"), "0").expect("thawing");
}

/// A child that exists below a v2-frozen parent says so through `cgroup.events` only.
#[test]
fn create_refuses_an_existing_cgroup_whose_v2_ancestor_is_frozen() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("frozenanc");
    let Some(v2_dir) = v2_dir_or_skip(&cg) else {
        return;
    };
    let child_dir = v2_dir.join("child");
    std::fs::create_dir(&child_dir).expect("creating the child");
    std::fs::write(v2_dir.join("cgroup.freeze"), "1").expect("writing cgroup.freeze");
    let err = CgroupPlacement::create(&cg.placement.relative_path.join("child"))
        .expect_err("accepted below a frozen ancestor");
    let msg = err.to_string();
    assert!(
        msg.contains(&child_dir.display().to_string()) && msg.contains("ancestor"),
        "{msg}"
    );
    std::fs::write(v2_dir.join("cgroup.freeze"), "0").expect("thawing");
    std::fs::remove_dir(&child_dir).expect("removing the child");
}

fn v2_dir_or_skip(cg: &TestPlacement) -> Option<std::path::PathBuf> {
    let dir = cg.placement.v2_dir.clone();
    if dir.is_none() {
        eprintln!("skipping: no cgroup v2 hierarchy here");
    }
    dir
}
