//! berth's own state: `<root>/<id>/state.json`, written by berth-runtime at every
//! transition and read by the runtime's other verbs, the exporter and the engine.
//!
//! The file is one JSON object, camelCase: the OCI state's fields (`ociVersion`, `id`,
//! `status`, `pid`, `bundle`, `annotations`), runc's `rootfs` and `created`, and what the
//! runtime needs to find the container again (`initStartTime`, `cgroup`, the hooks it
//! runs later, `ownPidNs`). `testdata/berth-running.json` is a real one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{StateError, Status, Timestamp};

const FORMAT: &str = "berth state.json";

/// What berth's `state.json` holds.
///
/// `C` is the record of the container's cgroups (`cgroup`; its `Default` when absent):
/// berth-runtime writes
/// `berth_cgroups::CgroupPlacement` (`{"relativePath", "v2Dir", "v2Id", "v1Dirs"}`); a
/// reader that does not look at cgroups can take it as a `serde_json::Value`. Keeping it
/// a parameter keeps the kernel code of berth-cgroups out of this crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState<C> {
    /// The OCI runtime spec version the container was created under (`1.2.0`).
    pub oci_version: String,
    /// The container id: also its state directory's and cgroup's name.
    pub id: String,
    /// The status last recorded; the live one also depends on the init and the cgroup,
    /// which only the runtime checks.
    pub status: Status,
    /// Host pid of the container init; 0 before it exists.
    #[serde(default)]
    pub pid: i32,
    /// Absolute path of the bundle.
    pub bundle: PathBuf,
    /// Absolute path of the root filesystem.
    #[serde(default)]
    pub rootfs: PathBuf,
    /// The config's `annotations`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When `create` began.
    pub created: Timestamp,
    /// Start time of the init in clock ticks since boot (field 22 of `/proc/<pid>/stat`),
    /// so that a recycled pid is never mistaken for the container.
    #[serde(default)]
    pub init_start_time: u64,
    /// Where the container's cgroups are (see the type's doc).
    #[serde(default)]
    pub cgroup: C,
    /// The config's `hooks.poststart`, kept so that `start` need not parse the bundle again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststart_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// The config's `hooks.poststop`, kept because `delete` runs them after the bundle may
    /// be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststop_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// Whether the container has its own pid namespace: without one, `kill --all` and
    /// delete must signal the cgroup's processes, not just the init.
    #[serde(default)]
    pub own_pid_ns: bool,
}

/// The OCI state (runtime spec, "State"): what `state` gives hooks on stdin.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    /// `ociVersion`.
    pub oci_version: &'a str,
    /// `id`.
    pub id: &'a str,
    /// `status`.
    pub status: Status,
    /// `pid`: the init's host pid, 0 when there is none.
    pub pid: i32,
    /// `bundle`: absolute path.
    pub bundle: &'a Path,
    /// `annotations`, left out when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

/// What `state` and `list --format json` print: runc's own state object (its
/// `containerState`), with runc's key order, which is not the OCI state's (pid before
/// status; rootfs and created before annotations, which are left out when empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOutput<'a> {
    /// `ociVersion`.
    pub oci_version: &'a str,
    /// `id`.
    pub id: &'a str,
    /// `pid`.
    pub pid: i32,
    /// `status`.
    pub status: Status,
    /// `bundle`.
    pub bundle: &'a Path,
    /// `rootfs`.
    pub rootfs: &'a Path,
    /// `created`, RFC 3339.
    pub created: Timestamp,
    /// `annotations`, left out when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
    /// The state directory's owner; runc's `state` leaves it empty, its `list` fills it.
    pub owner: &'a str,
}

impl<C: DeserializeOwned + Default> ContainerState<C> {
    /// Parses a `state.json` (see the module doc for its shape).
    pub fn from_json(bytes: &[u8]) -> Result<Self, StateError> {
        crate::error::parse_json(FORMAT, bytes)
    }
}

impl<C: Serialize> ContainerState<C> {
    /// The bytes of `state.json`: compact JSON, keys in the struct's order.
    pub fn to_json(&self) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec(self).map_err(|source| StateError::Serialize {
            format: FORMAT,
            source,
        })
    }
}

impl<C> ContainerState<C> {
    /// The init's pid, when there is one.
    pub fn init_pid(&self) -> Option<u32> {
        crate::error::recorded_pid(self.pid.into())
    }

    /// This state as runc's `state` and `list` print it, with `owner`.
    pub fn runc_output<'a>(&'a self, owner: &'a str) -> StateOutput<'a> {
        StateOutput {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: self.pid,
            status: self.status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: self.created,
            annotations: &self.annotations,
            owner,
        }
    }

    /// The OCI state of this container.
    pub fn oci(&self) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: self.status,
            pid: self.pid,
            bundle: &self.bundle,
            annotations: &self.annotations,
        }
    }

    /// The OCI state as JSON, as hooks read it on stdin.
    pub fn oci_json(&self) -> Vec<u8> {
        // Strings, a path, an integer and a string map always serialize.
        serde_json::to_vec(&self.oci()).unwrap_or_default()
    }

    /// The same state as oci-spec's type, for APIs that take it.
    pub fn to_oci_spec(&self) -> oci_spec::runtime::State {
        use oci_spec::runtime::ContainerState as S;
        let status = match self.status {
            Status::Creating => S::Creating,
            Status::Created => S::Created,
            Status::Running => S::Running,
            // The OCI state has no paused status; runc reports a paused container as running.
            Status::Paused => S::Running,
            Status::Stopped => S::Stopped,
        };
        let mut s = oci_spec::runtime::State::default();
        s.set_version(self.oci_version.clone());
        s.set_id(self.id.clone());
        s.set_status(status);
        s.set_pid(Some(self.pid));
        s.set_bundle(self.bundle.clone());
        s.set_annotations(Some(
            self.annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_cgroups::CgroupPlacement;

    const GOLDEN: &[u8] = include_bytes!("../testdata/berth-running.json");

    type BerthState = ContainerState<CgroupPlacement>;

    fn sample() -> BerthState {
        BerthState {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            status: Status::Running,
            pid: 4242,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            annotations: [("berth.name".to_string(), "web".to_string())].into(),
            created: Timestamp::parse("2026-01-02T03:04:05.000000006Z").expect("time"),
            init_start_time: 77,
            cgroup: CgroupPlacement {
                relative_path: "/berth/c1".into(),
                v2_dir: Some("/sys/fs/cgroup/unified/berth/c1".into()),
                v2_id: Some(9),
                v1_dirs: [(
                    "memory".to_string(),
                    "/sys/fs/cgroup/memory/berth/c1".into(),
                )]
                .into(),
            },
            poststart_hooks: None,
            poststop_hooks: Some(vec![
                serde_json::from_str(r#"{"path":"/bin/true"}"#).expect("hook"),
            ]),
            own_pid_ns: true,
        }
    }

    #[test]
    fn written_state_reads_back_equal() {
        let state = sample();
        let json = state.to_json().expect("serializing");
        assert_eq!(BerthState::from_json(&json).expect("parsing"), state);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(crate::files::STATE_FILE);
        std::fs::write(&path, &json).expect("writing state.json");
        let read = std::fs::read(&path).expect("reading state.json");
        assert_eq!(BerthState::from_json(&read).expect("parsing"), state);
    }

    #[test]
    fn the_runtimes_state_json_parses_and_is_written_back_byte_for_byte() {
        let state = BerthState::from_json(GOLDEN).expect("parsing the golden state.json");
        assert_eq!(state.id, "golden1");
        assert_eq!(state.status, Status::Running);
        assert_eq!(state.pid, 29549);
        assert_eq!(state.init_pid(), Some(29549));
        assert_eq!(state.init_start_time, 277258);
        assert_eq!(state.bundle, Path::new("/tmp/st/bundle"));
        assert_eq!(state.annotations["io.kubernetes.pod.name"], "pod-1");
        assert_eq!(state.created.to_string(), "2026-11-30T17:48:08.469883108Z");
        assert_eq!(
            state.cgroup.relative_path,
            Path::new("/berth-state-golden/c1")
        );
        assert_eq!(state.cgroup.v2_id, Some(265461));
        assert_eq!(state.cgroup.v1_dirs.len(), 9);
        assert_eq!(
            state.cgroup.v1_dirs["memory"],
            Path::new("/sys/fs/cgroup/memory/berth-state-golden/c1")
        );
        let poststart = state.poststart_hooks.as_deref().expect("poststart hooks");
        assert_eq!(poststart[0].path(), Path::new("/bin/true"));
        let poststop = state.poststop_hooks.as_deref().expect("poststop hooks");
        assert_eq!(poststop[0].timeout(), Some(5));
        assert!(state.own_pid_ns);
        let written = state.to_json().expect("serializing");
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(GOLDEN).trim_end()
        );
        // A reader that ignores cgroups reads the same file.
        let loose = ContainerState::<serde_json::Value>::from_json(GOLDEN).expect("parsing");
        assert_eq!(loose.cgroup["v2Id"], 265461);
    }

    #[test]
    fn a_state_before_the_init_exists_has_no_pid() {
        let state = BerthState::from_json(
            br#"{"ociVersion":"1.2.0","id":"c","status":"creating","bundle":"/b","created":"2026-01-02T03:04:05Z"}"#,
        )
        .expect("parsing a minimal state");
        assert_eq!(state.pid, 0);
        assert_eq!(state.init_pid(), None);
        assert_eq!(state.cgroup, CgroupPlacement::default());
        assert!(state.annotations.is_empty());
    }

    #[test]
    fn malformed_state_is_an_error_naming_the_format_and_the_fault() {
        for (text, fault) in [
            (&b""[..], "EOF while parsing"),
            (b"{", "EOF while parsing"),
            (b"[]", "invalid length 0"),
            (b"\xff\xfe", "expected value"),
            (br#"{"id":"c"}"#, "missing field `ociVersion`"),
            (
                br#"{"ociVersion":"1","id":"c","status":"dancing","bundle":"/b","created":"2026-01-02T03:04:05Z"}"#,
                "unknown variant `dancing`",
            ),
            (
                br#"{"ociVersion":"1","id":"c","status":"running","pid":"x","bundle":"/b","created":"2026-01-02T03:04:05Z"}"#,
                "invalid type: string \"x\", expected i32",
            ),
            (
                br#"{"ociVersion":"1","id":"c","status":"running","bundle":"/b","created":"today"}"#,
                "\"today\" is not an RFC 3339 time",
            ),
            (
                br#"{"ociVersion":"1","id":"c","status":"running","bundle":"/b","created":"2026-01-02T03:04:05Z","cgroup":{"v2Id":-1}}"#,
                "invalid value: integer `-1`",
            ),
        ] {
            let err = BerthState::from_json(text).expect_err("malformed state parsed");
            let msg = err.to_string();
            assert!(msg.starts_with("not a berth state.json: "), "{msg}");
            assert!(msg.contains(fault), "{msg} lacks {fault}");
        }
    }

    #[test]
    fn oci_state_and_runc_output_keep_their_key_order() {
        let state = sample();
        assert_eq!(
            String::from_utf8(state.oci_json()).expect("utf-8"),
            r#"{"ociVersion":"1.2.0","id":"c1","status":"running","pid":4242,"bundle":"/b","annotations":{"berth.name":"web"}}"#
        );
        assert_eq!(
            serde_json::to_string(&state.runc_output("root")).expect("serializing"),
            r#"{"ociVersion":"1.2.0","id":"c1","pid":4242,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-02T03:04:05.000000006Z","annotations":{"berth.name":"web"},"owner":"root"}"#
        );
        let paused = BerthState {
            status: Status::Paused,
            ..state
        };
        assert_eq!(
            paused.to_oci_spec().status(),
            &oci_spec::runtime::ContainerState::Running
        );
    }
}
