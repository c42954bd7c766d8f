use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use berth_cgroups::{CgroupPlacement, Layout, detect_layout, resolve_path};

use crate::harness::TestPlacement;
use berth_testkit::root::require_root;

#[test]
fn layout_detection_matches_the_mounts() {
    let layout = detect_layout().expect("detecting the layout");
    // The VM lane sets this, so it cannot pass on the wrong kind of host.
    if let Ok(want) = std::env::var("BERTH_EXPECT_LAYOUT") {
        assert_eq!(
            format!("{layout:?}").to_lowercase(),
            want,
            "unexpected cgroup layout"
        );
    }
    let v2_root = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let hybrid = std::path::Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists();
    match layout {
        Layout::V2 => assert!(v2_root),
        Layout::Hybrid => assert!(!v2_root && hybrid),
        Layout::V1 => assert!(!v2_root && !hybrid),
    }
}

#[test]
fn create_places_the_cgroup_in_every_hierarchy_and_records_the_v2_inode() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("create");
    let p = &cg.placement;
    assert!(p.relative_path.starts_with("/berth"));
    for dir in p.dirs() {
        assert!(
            dir.join("cgroup.procs").exists(),
            "{} is not a cgroup",
            dir.display()
        );
    }
    let v2 = p
        .v2_dir
        .as_ref()
        .expect("a v2 directory on v2 and hybrid hosts");
    assert_eq!(
        p.v2_id,
        Some(std::fs::metadata(v2).expect("stat v2 dir").ino())
    );
    match detect_layout().expect("layout") {
        Layout::V2 => assert!(p.v1_dirs.is_empty()),
        _ => {
            for c in ["memory", "cpu", "pids", "freezer", "devices", "cpuset"] {
                assert!(p.v1_dirs.contains_key(c), "no {c} directory");
            }
        }
    }
}

#[test]
fn placement_round_trips_through_state_json() {
    if !require_root() {
        return;
    }
    let cg = TestPlacement::new("serde");
    let json = serde_json::to_string(&cg.placement).expect("serializing");
    assert!(
        json.contains("\"relativePath\"") && json.contains("\"v2Id\""),
        "{json}"
    );
    let back: CgroupPlacement = serde_json::from_str(&json).expect("deserializing");
    assert_eq!(back, cg.placement);
}

#[test]
fn add_process_moves_a_child_into_every_hierarchy_and_processes_lists_it() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("join");
    let pid = cg.spawn("sleep 30");
    let procs = cg.placement.processes().expect("listing processes");
    assert!(procs.contains(&(pid as i32)), "{procs:?} lacks {pid}");
    let own =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("reading /proc/pid/cgroup");
    let rel = cg.placement.relative_path.display().to_string();
    for line in own.lines() {
        assert!(line.ends_with(&rel), "{line} is not in {rel}:\n{own}");
    }
}

#[test]
fn kill_all_ends_every_process_and_remove_leaves_nothing() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("kill");
    cg.spawn("sleep 30 & sleep 30 & wait");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while cg.placement.processes().expect("processes").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "children did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    cg.placement.kill_all(libc::SIGKILL).expect("kill_all");
    assert!(
        cg.placement
            .wait_empty(Duration::from_secs(10))
            .expect("waiting"),
        "still populated"
    );
    cg.placement.remove().expect("removing");
    for dir in cg.placement.dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    cg.placement.remove().expect("removing again is success");
}

#[test]
fn kill_all_with_sigterm_signals_each_process() {
    if !require_root() {
        return;
    }
    let mut cg = TestPlacement::new("term");
    let pid = cg.spawn("exec sleep 30");
    std::thread::sleep(Duration::from_millis(100));
    cg.placement
        .kill_all(libc::SIGTERM)
        .expect("kill_all SIGTERM");
    let (status, _, _) = cg.wait(pid, Duration::from_secs(20));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

#[test]
fn an_absolute_cgroups_path_is_created_as_given() {
    if !require_root() {
        return;
    }
    let id = format!("/berth/abs-{}/inner", std::process::id());
    let path = resolve_path(Some(&id), "ignored").expect("resolving");
    let p = CgroupPlacement::create(&path).expect("creating");
    let v2 = p.v2_dir.clone().expect("v2 dir");
    assert!(v2.ends_with(format!("abs-{}/inner", std::process::id())));
    p.remove().expect("removing");
    // The intermediate directory is ours too: remove it (tests leave nothing behind).
    let parent = CgroupPlacement::create(path.parent().expect("parent")).expect("parent");
    parent.remove().expect("removing parent");
    assert!(!v2.parent().expect("parent").exists());
}

#[test]
fn a_child_joins_before_exec_with_join_current_process() {
    if !require_root() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let cg = TestPlacement::new("preexec");
    let files = cg.placement.procs_files().expect("procs files");
    let mut cmd = std::process::Command::new(crate::harness::BUSYBOX);
    cmd.args(["cat", "/proc/self/cgroup"]);
    // SAFETY: join_current_process is async-signal-safe and does not allocate.
    unsafe { cmd.pre_exec(move || berth_cgroups::join_current_process(&files)) };
    let out = cmd.output().expect("running cat");
    let text = String::from_utf8_lossy(&out.stdout);
    let rel = cg.placement.relative_path.display().to_string();
    assert!(
        !text.is_empty() && text.lines().all(|l| l.ends_with(&rel)),
        "{text}"
    );
}

#[test]
fn host_cgroups_describe_the_layout() {
    let host = berth_cgroups::host_cgroups().expect("host cgroups");
    assert_eq!(host.layout, detect_layout().expect("layout"));
    assert!(host.controllers.contains("memory") || host.layout == Layout::Hybrid);
    assert_eq!(host.bpf_device_filter, host.layout == Layout::V2);
    let features = serde_json::to_value(berth_cgroups::oci_features()).expect("json");
    assert_eq!(features["v2"], true);
}

#[test]
fn a_relative_cgroups_path_lands_below_berth_on_every_hierarchy() {
    if !require_root() {
        return;
    }
    let rel = format!("rel-{}/x", std::process::id());
    let path = resolve_path(Some(&rel), "ignored").expect("resolving");
    let p = CgroupPlacement::create(&path).expect("creating");
    let result = std::panic::catch_unwind(|| {
        for dir in p.dirs() {
            let s = dir.display().to_string();
            assert!(s.contains(&format!("/berth/{rel}")), "{s}");
            assert!(!s.contains("process_api"), "{s}");
        }
    });
    p.remove().expect("removing");
    CgroupPlacement::create(path.parent().expect("parent"))
        .and_then(|parent| parent.remove())
        .expect("removing the parent");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
