//! berth-runtime's state: `<root>/<id>/state.json` (OCI state, camelCase, plus
//! `created`, `initStartTime`, `rootfs` and the serialized `CgroupPlacement`).

use std::collections::HashMap;
use std::path::Path;

use berth_cgroups::CgroupPlacement;
use serde::Deserialize;

use super::{Container, DiscoveryError, DiscoveryOptions, Found};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BerthState {
    id: String,
    #[serde(default)]
    pid: Option<u32>,
    #[serde(default)]
    annotations: HashMap<String, String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    cgroup: CgroupPlacement,
}

/// Parses one berth state file; `Ok(None)` when its cgroups are gone.
pub fn parse(
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let state: BerthState =
        serde_json::from_str(text).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    let pid = state.pid.filter(|&p| p > 0);
    Found {
        id: state.id,
        runtime: "berth",
        annotations: &state.annotations,
        pid,
        created: state.created.as_deref(),
        placement: state.cgroup,
    }
    .into_container(state_file, options)
}
