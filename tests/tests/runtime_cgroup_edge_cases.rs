//! cgroup edge cases where berth once differed from runc 1.1.5 on this hybrid host (issue
//! 16, item 5): a pre-existing frozen cgroup, `update` of a paused container, CFS period
//! and quota changed together under a parent with a shorter period, `linux.resources.unified`
//! on a v1/hybrid host. Each test says what runc did here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::{
    Runtime, TestBundle, cgroup_dirs_named, processes_mentioning, require_root, unique_id,
};
use serde_json::{Value, json};

const MIB: i64 = 1 << 20;

/// The cgroup2 root: `/sys/fs/cgroup` on pure v2, `/sys/fs/cgroup/unified` on hybrid.
fn v2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").exists())
}

fn is_pure_v2() -> bool {
    v2_root().is_some_and(|r| r == Path::new("/sys/fs/cgroup"))
}

/// Every hierarchy root: the v1 controller mounts and the v2 root.
fn hierarchy_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    roots.retain(|r| r.join("cgroup.procs").exists());
    roots.extend(v2_root());
    roots.sort();
    roots.dedup();
    roots
}

/// Directories `/<name>` the test makes at the top of the hierarchies (as a client with an
/// absolute cgroupsPath would), thawed and removed with everything below them on drop.
struct TopCgroup {
    name: String,
}

impl TopCgroup {
    fn new(prefix: &str) -> Self {
        Self {
            name: unique_id(prefix),
        }
    }

    fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.name)
    }

    fn make(&self, root: &Path) -> PathBuf {
        let dir = self.dir(root);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        dir
    }
}

impl Drop for TopCgroup {
    fn drop(&mut self) {
        for root in hierarchy_roots() {
            let dir = self.dir(&root);
            if dir.exists() {
                // Thaw, or whatever is inside could never exit.
                let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
                let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
                remove_tree(&dir);
            }
        }
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    if let Err(e) = std::fs::remove_dir(dir) {
        eprintln!("removing {}: {e}", dir.display());
    }
}

fn write(dir: &Path, file: &str, value: &str) {
    std::fs::write(dir.join(file), value)
        .unwrap_or_else(|e| panic!("writing {value} to {}: {e}", dir.join(file).display()));
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(file).display()))
        .trim()
        .to_owned()
}

/// Runs the runtime with `args`, failing the test if it is still running after `limit`
/// (then killed): a hang is the fault these tests guard against.
fn run_within(rt: &Runtime, args: &[&str], limit: Duration) -> (bool, String) {
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    let mut child = rt
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.reopen().expect("reopen"))
        .spawn()
        .expect("spawning berth-runtime");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for berth-runtime") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("berth-runtime {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    (status.success(), stderr)
}

/// runc 1.1.5 here: a v1 freezer cgroup pre-set FROZEN is refused at once, "container's
/// cgroup unexpectedly frozen"; one frozen on the unified hierarchy hangs `runc run` (its
/// init stuck in the freezer). berth refuses both, and a path below a frozen cgroup, in
/// runc's words, within a second, leaving no state, no process and no directory of its
/// own, and the frozen cgroup as it was.
#[test]
fn create_in_a_frozen_cgroup_fails_fast_in_runcs_words_and_leaves_nothing() {
    if !require_root() {
        return;
    }
    let mut freezers: Vec<(PathBuf, &str, &str)> = Vec::new();
    if Path::new("/sys/fs/cgroup/freezer/cgroup.procs").exists() {
        freezers.push(("/sys/fs/cgroup/freezer".into(), "freezer.state", "FROZEN"));
    }
    if let Some(root) = v2_root() {
        freezers.push((root, "cgroup.freeze", "1"));
    }
    assert!(!freezers.is_empty(), "no freezer on this host");
    let rt = Runtime::new();
    for (root, file, frozen) in freezers {
        let top = TopCgroup::new("frozen");
        let dir = top.make(&root);
        write(&dir, file, frozen);
        for (path, made) in [
            (format!("/{}", top.name), None),
            (format!("/{}/c", top.name), Some(dir.join("c"))),
        ] {
            let id = unique_id("frz");
            let mut b = TestBundle::busybox(&["true"]);
            b.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
            let started = Instant::now();
            let (ok, err) = run_within(
                &rt,
                &["create", "--bundle", b.path_str(), &id],
                Duration::from_secs(20),
            );
            assert!(!ok, "{} {file}={frozen}: create succeeded", root.display());
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "slow refusal: {:?}",
                started.elapsed()
            );
            assert!(
                err.contains("container's cgroup unexpectedly frozen")
                    && err.contains(&dir.display().to_string()),
                "{err}"
            );
            assert!(!rt.root.path().join(&id).exists(), "state dir left");
            assert_eq!(processes_mentioning(&id), Vec::<String>::new());
            for r in hierarchy_roots() {
                let d = top.dir(&r);
                if d.exists() {
                    assert_eq!(read(&d, "cgroup.procs"), "", "{}", d.display());
                }
            }
            if let Some(child) = made {
                assert!(!child.exists(), "{} created", child.display());
            }
            assert_eq!(read(&dir, file), frozen, "the frozen cgroup was changed");
        }
    }
}

/// The memory limit file of container `id` (default cgroupsPath `/berth/<id>`).
fn memory_limit_file(id: &str) -> (PathBuf, &'static str) {
    let v1 = Path::new("/sys/fs/cgroup/memory/berth").join(id);
    if v1.is_dir() {
        (v1, "memory.limit_in_bytes")
    } else {
        (Path::new("/sys/fs/cgroup/berth").join(id), "memory.max")
    }
}

/// runc 1.1.5 here: `update --memory 64m` of a paused container applies (the file holds
/// 67108864), the container stays paused and resumes. berth used to refuse it.
#[test]
fn update_of_a_paused_container_applies_and_it_resumes() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("paused-upd");
    let mut b = TestBundle::busybox(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["resources"] = json!({"memory": {"limit": 32 * MIB}}));
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    rt.ok(&["pause", &id]);
    let (ok, err) = run_within(
        &rt,
        &["update", "--memory", "64m", "--pids-limit", "50", &id],
        Duration::from_secs(20),
    );
    assert!(ok, "update of a paused container: {err}");
    let (dir, file) = memory_limit_file(&id);
    assert_eq!(read(&dir, file), (64 * MIB).to_string());
    assert_eq!(rt.state(&id)["status"], "paused", "update thawed it");
    rt.ok(&["resume", &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    let out = rt.run(&["exec", &id, "true"]);
    assert!(out.status.success(), "exec after resume: {out:?}");
    rt.ok(&["delete", "--force", &id]);
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left");
}

/// The container's (quota, period) in microseconds, v1 or v2.
fn bandwidth(container_dir_rel: &Path) -> (String, String) {
    let v1 = Path::new("/sys/fs/cgroup/cpu").join(container_dir_rel);
    if v1.is_dir() {
        return (
            read(&v1, "cpu.cfs_quota_us"),
            read(&v1, "cpu.cfs_period_us"),
        );
    }
    let v2 = Path::new("/sys/fs/cgroup").join(container_dir_rel);
    let max = read(&v2, "cpu.max");
    let (q, p) = max.split_once(' ').expect("cpu.max has two fields");
    (q.to_owned(), p.to_owned())
}

/// runc 1.1.5 here, container at 40 ms per 100 ms under a parent limited to 5 ms per
/// 10 ms: `update --cpu-period 10000 --cpu-quota 3000` succeeds, and so does the way back;
/// berth wrote the period first (40 ms per 10 ms: EINVAL).
#[test]
fn update_of_cpu_period_and_quota_under_a_parent_with_a_shorter_period() {
    if !require_root() {
        return;
    }
    let top = TopCgroup::new("cfs");
    if is_pure_v2() {
        let root = Path::new("/sys/fs/cgroup");
        let dir = top.make(root);
        write(&dir, "cpu.max", "5000 10000");
    } else {
        let dir = top.make(Path::new("/sys/fs/cgroup/cpu"));
        write(&dir, "cpu.cfs_period_us", "10000");
        write(&dir, "cpu.cfs_quota_us", "5000");
    }
    let rt = Runtime::new();
    let id = unique_id("cfs");
    let rel = PathBuf::from(&top.name).join("c");
    let mut b = TestBundle::busybox(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{}", rel.display()));
        c["linux"]["resources"] = json!({"cpu": {"quota": 40000, "period": 100000}});
    });
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    assert_eq!(bandwidth(&rel), ("40000".into(), "100000".into()));
    rt.ok(&[
        "update",
        "--cpu-period",
        "10000",
        "--cpu-quota",
        "3000",
        &id,
    ]);
    assert_eq!(bandwidth(&rel), ("3000".into(), "10000".into()));
    rt.ok(&[
        "update",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "40000",
        &id,
    ]);
    assert_eq!(bandwidth(&rel), ("40000".into(), "100000".into()));
    if !is_pure_v2() {
        // More than the parent has is still v1's EINVAL, and what was in force stays
        // (v2 takes a child's cpu.max above the parent's: the parent still caps it).
        let over = [
            "update",
            "--cpu-period",
            "10000",
            "--cpu-quota",
            "9000",
            &id,
        ];
        assert!(!rt.run(&over).status.success(), "0.9 CPU under 0.5");
        assert_eq!(bandwidth(&rel), ("40000".into(), "100000".into()));
    }
    rt.ok(&["delete", "--force", &id]);
}

fn unified_bundle(unified: Value) -> TestBundle {
    let mut b = TestBundle::busybox(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["resources"] = json!({"unified": unified}));
    b
}

/// runc 1.1.5 here: `"unified": {"cgroup.max.depth": "3"}` fails create and update with
/// "invalid configuration: cannot use unified on cgroup v1"; `"unified": {}` runs. berth
/// used to write the key into the unified hierarchy, where it limits nothing.
#[test]
fn unified_on_a_hybrid_host_is_refused_in_runcs_words() {
    if !require_root() {
        return;
    }
    if is_pure_v2() {
        eprintln!("skipping: pure cgroup v2 host, where unified applies");
        return;
    }
    const RUNC_WORDS: &str = "invalid configuration: cannot use unified on cgroup v1";
    let rt = Runtime::new();
    let id = unique_id("unified");
    let b = unified_bundle(json!({"cgroup.max.depth": "3"}));
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    assert!(!out.status.success(), "unified accepted on a v1 host");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(RUNC_WORDS),
        "{out:?}"
    );
    assert!(!rt.root.path().join(&id).exists(), "state dir left");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left");

    let b = unified_bundle(json!({}));
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let res = tempfile::NamedTempFile::new().expect("resources file");
    std::fs::write(
        res.path(),
        json!({"unified": {"cgroup.max.depth": "3"}}).to_string(),
    )
    .expect("writing resources");
    let out = rt.run(&["update", "-r", res.path().to_str().expect("utf-8"), &id]);
    assert!(!out.status.success(), "update with unified accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(RUNC_WORDS),
        "{out:?}"
    );
    if let Some(root) = v2_root() {
        let dir = root.join("berth").join(&id);
        assert_eq!(
            read(&dir, "cgroup.max.depth"),
            "max",
            "unified file written"
        );
    }
    rt.ok(&["delete", "--force", &id]);
}

/// runc 1.1.5 here: a created container that was paused is `paused` in `state`, `start`
/// refuses it at once ("cannot start a container in the paused state"), and `delete
/// --force` removes it. berth reported `created`, so `start` waited forever on the frozen
/// init and `delete --force` left its cgroups (SIGKILL waits for a v1 thaw).
#[test]
fn a_paused_created_container_is_paused_start_refuses_it_and_delete_removes_it() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("paused-created");
    let b = TestBundle::busybox(&["true"]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    rt.ok(&["pause", &id]);
    assert_eq!(rt.state(&id)["status"], "paused");
    let (ok, err) = run_within(&rt, &["start", &id], Duration::from_secs(20));
    assert!(
        !ok && err.contains("paused"),
        "start of a paused container: {err}"
    );
    rt.ok(&["resume", &id]);
    assert_eq!(rt.state(&id)["status"], "created");
    rt.ok(&["pause", &id]);
    let (ok, err) = run_within(&rt, &["delete", "--force", &id], Duration::from_secs(20));
    assert!(ok, "delete --force of a paused created container: {err}");
    assert!(!rt.root.path().join(&id).exists(), "state dir left");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left");
}
