//! runc's state (also containerd's runc roots): `<root>/<id>/state.json`, libcontainer's
//! `State`: `id`, `init_process_pid`, `created`, `config.labels` (`key=value`, the OCI
//! annotations plus `bundle=`), `cgroup_paths` (v1: controller to dir; v2: "" to dir).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use serde::Deserialize;

use super::{Container, DiscoveryError, DiscoveryOptions, Found, identity};

#[derive(Debug, Deserialize)]
struct RuncState {
    id: String,
    #[serde(default)]
    init_process_pid: Option<u32>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: RuncConfig,
    #[serde(default)]
    cgroup_paths: HashMap<String, PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct RuncConfig {
    #[serde(default)]
    labels: Vec<String>,
}

/// Parses one runc state file; `Ok(None)` when its cgroups are gone.
pub fn parse(
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let state: RuncState =
        serde_json::from_str(text).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    let pid = state.init_process_pid.filter(|&p| p > 0);
    let mut placement = CgroupPlacement::default();
    let mut v1_dirs = BTreeMap::new();
    for (controller, dir) in state.cgroup_paths {
        if controller.is_empty() {
            placement.v2_dir = Some(dir);
        } else {
            v1_dirs.insert(controller, dir);
        }
    }
    placement.v1_dirs = v1_dirs;
    let annotations = identity::from_key_values(&state.config.labels);
    Found {
        id: state.id,
        runtime: "runc",
        annotations: &annotations,
        pid,
        created: state.created.as_deref(),
        placement,
    }
    .into_container(state_file, options)
}
