//! Helpers of the exporter tests: state files and exporters (exposition parsing and
//! HTTP are berth-testkit's `scrape`).
#![allow(dead_code)]

pub mod promtool;

use std::fs;
use std::path::{Path, PathBuf};

use berth_ebpf::{ProbeOptions, Probes};
use berth_metrics::discovery::{StateDir, StateFormat};
use berth_metrics::{Exporter, ExporterOptions};

use berth_testkit::cgroup::TestCgroup;

/// Writes `<root>/<id>/state.json` as berth-runtime does, for a container in `cgroup`.
pub fn write_berth_state(
    root: &Path,
    id: &str,
    name: &str,
    image: &str,
    cgroup: &TestCgroup,
    pid: u32,
) {
    let v1_dirs: serde_json::Map<String, serde_json::Value> = cgroup
        .v1_dirs
        .iter()
        .map(|(c, d)| (c.clone(), serde_json::Value::from(d.display().to_string())))
        .collect();
    let state = serde_json::json!({
        "ociVersion": "1.2.0",
        "id": id,
        "status": "running",
        "pid": pid,
        "bundle": "/nonexistent",
        "annotations": { "berth.name": name, "berth.image": image },
        "created": "2026-01-02T03:04:05Z",
        "initStartTime": 0,
        "rootfs": "/nonexistent",
        "cgroup": {
            "relativePath": format!("/berth/{}", cgroup.name),
            "v2Dir": cgroup.v2_dir,
            "v2Id": cgroup.id(),
            "v1Dirs": v1_dirs,
        }
    });
    let dir = root.join(id);
    fs::create_dir_all(&dir).expect("mkdir state dir");
    fs::write(dir.join("state.json"), state.to_string()).expect("writing state.json");
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
        cgroup2_root: berth_ebpf::cgroup2::mount_point().expect("cgroup2 mount"),
        watch_subtrees: Vec::new(),
    }
}

pub fn exporter_with_bpf(options: ExporterOptions) -> Exporter {
    let probes = Probes::load(&ProbeOptions::default()).expect("loading the BPF probes");
    Exporter::new(options, Some(probes))
}

/// The exporter binary built with these tests.
pub fn exporter_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth-exporter"))
}
