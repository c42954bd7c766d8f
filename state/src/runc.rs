//! runc's state: `<root>/<id>/state.json` (also containerd's runc roots, one level
//! deeper: `<root>/<namespace>/<id>/state.json`), libcontainer's `State` in runc 1.x.
//!
//! Only the fields a reader of a running container needs are taken; the rest (the whole
//! libcontainer `config` but its labels, namespace paths, ...) is ignored.
//! `testdata/runc-1.1.5-running.json` is a real one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{StateError, Timestamp};

const FORMAT: &str = "runc state.json";

/// The label runc adds to the config's annotations to record the bundle.
const BUNDLE_LABEL: &str = "bundle";

/// What a reader takes from runc's `state.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RuncState {
    /// The container id.
    pub id: String,
    /// Host pid of the init (`init_process_pid`); 0 or absent when there is none.
    #[serde(default)]
    pub init_process_pid: i64,
    /// The init's start time in clock ticks since boot (`init_process_start`, field 22
    /// of `/proc/<pid>/stat`).
    #[serde(default)]
    pub init_process_start: u64,
    /// When the container was created (Go's RFC 3339 with nanoseconds, UTC).
    #[serde(default)]
    pub created: Option<Timestamp>,
    /// From libcontainer's `config`: only its labels.
    #[serde(default)]
    pub config: RuncConfig,
    /// cgroup directories by v1 controller (`memory`, `name=systemd`, ...); the key `""`
    /// is the cgroup v2 directory (the only key on a pure v2 host).
    #[serde(default)]
    pub cgroup_paths: BTreeMap<String, PathBuf>,
}

/// The part of libcontainer's `config` a reader needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RuncConfig {
    /// `key=value` strings: the OCI annotations, plus `bundle=<path>`.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl RuncState {
    /// Parses runc's `state.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StateError> {
        crate::error::parse_json(FORMAT, bytes)
    }

    /// The init's pid, when there is one.
    pub fn init_pid(&self) -> Option<u32> {
        crate::error::recorded_pid(self.init_process_pid)
    }

    /// The OCI annotations, as runc's `state` prints them: every `key=value` label but
    /// `bundle`; a label without `=` is dropped.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.labels()
            .filter(|(k, _)| *k != BUNDLE_LABEL)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The bundle directory, from the `bundle=` label.
    pub fn bundle(&self) -> Option<&Path> {
        self.labels()
            .find(|(k, _)| *k == BUNDLE_LABEL)
            .map(|(_, v)| Path::new(v))
    }

    /// The cgroup v2 directory (the `""` entry of `cgroup_paths`).
    pub fn v2_dir(&self) -> Option<&Path> {
        self.cgroup_paths.get("").map(PathBuf::as_path)
    }

    /// The cgroup v1 directories by controller (every other entry).
    pub fn v1_dirs(&self) -> BTreeMap<String, PathBuf> {
        self.cgroup_paths
            .iter()
            .filter(|(controller, _)| !controller.is_empty())
            .map(|(c, d)| (c.clone(), d.clone()))
            .collect()
    }

    fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.config
            .labels
            .iter()
            .filter_map(|kv| kv.split_once('='))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNC_1_1: &[u8] = include_bytes!("../testdata/runc-1.1.5-running.json");

    #[test]
    fn runc_1_1_state_reads_as_runc_state_prints_it() {
        let state = RuncState::from_json(RUNC_1_1).expect("parsing runc 1.1.5's state.json");
        assert_eq!(state.id, "r1");
        assert_eq!(state.init_pid(), Some(30975));
        assert_eq!(state.init_process_start, 277648);
        assert_eq!(
            state.created.map(|t| t.to_string()).as_deref(),
            Some("2026-11-30T17:48:12.388668955Z")
        );
        assert_eq!(
            state.annotations(),
            BTreeMap::from([
                ("berth.name".to_string(), "web".to_string()),
                ("io.kubernetes.pod.name".to_string(), "pod-1".to_string()),
            ])
        );
        assert_eq!(state.bundle(), Some(Path::new("/tmp/st/rbundle")));
        assert_eq!(
            state.v2_dir(),
            Some(Path::new("/sys/fs/cgroup/unified/berth-state-runc/r1"))
        );
        let v1 = state.v1_dirs();
        assert_eq!(v1.len(), 9);
        assert_eq!(
            v1["memory"],
            Path::new("/sys/fs/cgroup/memory/berth-state-runc/r1")
        );
        assert!(v1.contains_key("name=systemd"));
    }

    #[test]
    fn a_stopped_or_pure_v2_state_has_no_pid_and_only_a_v2_dir() {
        let state = RuncState::from_json(
            br#"{"id":"x","init_process_pid":0,"cgroup_paths":{"":"/sys/fs/cgroup/x"},"config":{"labels":["nolabel","a=b=c"]}}"#,
        )
        .expect("parsing");
        assert_eq!(state.init_pid(), None);
        assert_eq!(state.created, None);
        assert_eq!(state.v2_dir(), Some(Path::new("/sys/fs/cgroup/x")));
        assert!(state.v1_dirs().is_empty());
        assert_eq!(state.bundle(), None);
        assert_eq!(
            state.annotations(),
            BTreeMap::from([("a".to_string(), "b=c".to_string())])
        );
    }

    #[test]
    fn malformed_runc_state_is_an_error() {
        for (text, fault) in [
            (&b"not json"[..], "expected ident"),
            (b"{}", "missing field `id`"),
            (br#"{"id":7}"#, "invalid type: integer `7`"),
            (
                br#"{"id":"x","created":"noon"}"#,
                "\"noon\" is not an RFC 3339 time",
            ),
            (br#"{"id":"x","cgroup_paths":[]}"#, "invalid type: sequence"),
        ] {
            let msg = RuncState::from_json(text).expect_err("parsed").to_string();
            assert!(msg.starts_with("not a runc state.json: "), "{msg}");
            assert!(msg.contains(fault), "{msg} lacks {fault}");
        }
    }
}
