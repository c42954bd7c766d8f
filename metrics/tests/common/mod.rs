//! Helpers of the exporter tests: state files and exporters (exposition parsing and
//! HTTP are berth-testkit's `scrape`).
#![allow(dead_code)]

pub mod promtool;

use std::fs;
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use berth_ebpf::{ProbeOptions, Probes};
use berth_metrics::discovery::{StateDir, StateFormat};
use berth_metrics::exporter::SyscallMode;
use berth_metrics::{Exporter, ExporterOptions};
use berth_state::files::STATE_FILE;
use berth_state::{ContainerState, Status, Timestamp};

use berth_testkit::cgroup::TestCgroup;

/// Writes `<root>/<id>/state.json` through berth-state, as berth-runtime does, for a
/// running container in `cgroup`.
pub fn write_berth_state(
    root: &Path,
    id: &str,
    name: &str,
    image: &str,
    cgroup: &TestCgroup,
    pid: u32,
) {
    let state = ContainerState {
        oci_version: "1.2.0".to_string(),
        id: id.to_string(),
        status: Status::Running,
        pid: i32::try_from(pid).expect("a pid fits i32"),
        bundle: PathBuf::from("/nonexistent"),
        rootfs: PathBuf::from("/nonexistent"),
        annotations: [("berth.name", name), ("berth.image", image)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        created: Timestamp::parse("2026-01-02T03:04:05Z").expect("a fixed creation time"),
        init_start_time: 0,
        cgroup: CgroupPlacement {
            relative_path: PathBuf::from(format!("/berth/{}", cgroup.name)),
            v2_dir: Some(cgroup.v2_dir.clone()),
            v2_id: Some(cgroup.id()),
            v1_dirs: cgroup.v1_dirs.iter().cloned().collect(),
        },
        poststart_hooks: None,
        poststop_hooks: None,
        own_pid_ns: true,
    };
    let dir = root.join(id);
    fs::create_dir_all(&dir).expect("mkdir state dir");
    fs::write(
        dir.join(STATE_FILE),
        state.to_json().expect("serializing state.json"),
    )
    .expect("writing state.json");
}

/// Exporter options reading berth state from `root` (and runc state from `runc_root`).
pub fn options(root: &Path, runc_root: Option<&Path>) -> ExporterOptions {
    let mut state_dirs = vec![StateDir {
        path: root.to_path_buf(),
        format: StateFormat::Berth,
    }];
    if let Some(runc) = runc_root {
        state_dirs.push(StateDir {
            path: runc.to_path_buf(),
            format: StateFormat::Runc,
        });
    }
    ExporterOptions {
        state_dirs,
        per_syscall_labels: true,
        label_allowlist: vec!["io.kubernetes.pod.name".to_string()],
        cgroup2_root: berth_testkit::cgroup::cgroup2_root(),
        watch_subtrees: Vec::new(),
        // The tests that count syscalls count every container's.
        syscalls: SyscallMode::All,
    }
}

pub fn exporter_with_bpf(options: ExporterOptions) -> Exporter {
    let probes = Probes::load(&ProbeOptions::new(berth_testkit::cgroup::cgroup2_root()))
        .expect("loading the BPF probes");
    Exporter::new(options, Some(probes))
}

/// The exporter binary built with these tests.
pub fn exporter_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth-exporter"))
}
