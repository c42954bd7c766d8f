//! crun's state: `<root>/<id>/status`, as crun's `libcrun_write_container_status`
//! (src/libcrun/status.c) writes it: `pid`, `process-start-time`, `cgroup-path`, `scope`,
//! `rootfs`, `systemd-cgroup`, `bundle`, `created`, `owner` (optional), `detached`,
//! `external_descriptors`. The container id is the directory's name; the annotations are
//! in the bundle's `config.json` ([`annotations_from_config`]).
//!
//! The fields crun's own reader requires (`pid`, `cgroup-path`, `rootfs`, `bundle`,
//! `created`) are required here too. `testdata/crun-status.json` is a sample.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::{StateError, Timestamp};

const FORMAT: &str = "crun status file";

/// What crun's `status` file holds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CrunStatus {
    /// Host pid of the init; 0 when there is none.
    pub pid: i64,
    /// The init's start time in clock ticks since boot (absent before crun 0.20).
    #[serde(default)]
    pub process_start_time: u64,
    /// The cgroup path relative to the hierarchy root (`/machine.slice/...`), or empty.
    pub cgroup_path: PathBuf,
    /// The systemd scope, when crun used the systemd cgroup driver.
    #[serde(default)]
    pub scope: Option<String>,
    /// The root filesystem, as the config gave it.
    pub rootfs: PathBuf,
    /// Whether crun used the systemd cgroup driver.
    #[serde(default)]
    pub systemd_cgroup: bool,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// When the container was created.
    pub created: Timestamp,
    /// The user that created it.
    #[serde(default)]
    pub owner: Option<String>,
    /// Whether crun ran detached.
    #[serde(default)]
    pub detached: bool,
    /// The init's stdio as a JSON array in a string (`"[\"/dev/null\", ...]"`).
    #[serde(default, rename = "external_descriptors")]
    pub external_descriptors: Option<String>,
}

/// The part of an OCI bundle's `config.json` a reader takes.
#[derive(Debug, Default, Deserialize)]
struct BundleConfig {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl CrunStatus {
    /// Parses crun's `status` file.
    pub fn from_json(bytes: &[u8]) -> Result<Self, StateError> {
        crate::error::parse_json(FORMAT, bytes)
    }

    /// The init's pid, when there is one.
    pub fn init_pid(&self) -> Option<u32> {
        crate::error::recorded_pid(self.pid)
    }
}

/// The `annotations` of a bundle's `config.json` (OCI runtime spec), which is where
/// crun's containers keep theirs.
pub fn annotations_from_config(text: &str) -> Result<BTreeMap<String, String>, StateError> {
    serde_json::from_str::<BundleConfig>(text)
        .map(|c| c.annotations)
        .map_err(|source| StateError::Parse {
            format: "bundle config.json",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CRUN: &[u8] = include_bytes!("../testdata/crun-status.json");

    #[test]
    fn crun_status_reads_field_by_field() {
        let status = CrunStatus::from_json(CRUN).expect("parsing crun's status");
        assert_eq!(status.init_pid(), Some(139179));
        assert_eq!(status.process_start_time, 263473330);
        assert_eq!(status.cgroup_path, Path::new("/busybox1"));
        assert_eq!(status.scope.as_deref(), Some(""));
        assert_eq!(status.rootfs, Path::new("/home/user/my_container/rootfs"));
        assert!(!status.systemd_cgroup);
        assert_eq!(status.bundle, Path::new("/home/user/my_container"));
        assert_eq!(status.created.to_string(), "2021-08-29T14:34:52.000293421Z");
        assert_eq!(status.owner.as_deref(), Some("root"));
        assert!(status.detached);
        assert_eq!(
            status.external_descriptors.as_deref(),
            Some(r#"["/dev/pts/1","/dev/pts/1","/dev/pts/1"]"#)
        );
    }

    #[test]
    fn malformed_crun_status_is_an_error() {
        for (text, fault) in [
            (&b""[..], "EOF while parsing"),
            (br#"{"cgroup-path":"/x"}"#, "missing field `pid`"),
            (
                br#"{"pid":"1","cgroup-path":"/x","rootfs":"r","bundle":"/b","created":"2021-08-29T14:34:52Z"}"#,
                "invalid type: string \"1\", expected i64",
            ),
            (
                br#"{"pid":1,"rootfs":"r","bundle":"/b","created":"2021-08-29T14:34:52Z"}"#,
                "missing field `cgroup-path`",
            ),
        ] {
            let msg = CrunStatus::from_json(text).expect_err("parsed").to_string();
            assert!(msg.starts_with("not a crun status file: "), "{msg}");
            assert!(msg.contains(fault), "{msg} lacks {fault}");
        }
    }

    #[test]
    fn bundle_annotations_are_read_and_bad_configs_refused() {
        let annotations =
            annotations_from_config(r#"{"ociVersion":"1.0.2","annotations":{"berth.name":"web"}}"#)
                .expect("parsing a config");
        assert_eq!(annotations["berth.name"], "web");
        assert!(
            annotations_from_config("{}")
                .expect("no annotations")
                .is_empty()
        );
        let msg = annotations_from_config(r#"{"annotations":["x"]}"#)
            .expect_err("parsed")
            .to_string();
        assert!(
            msg.starts_with("not a bundle config.json: invalid type"),
            "{msg}"
        );
    }
}
