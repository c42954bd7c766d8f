//! crun's state: `<root>/<id>/status` (`pid`, `cgroup-path`, `bundle`, `created`);
//! annotations come from the bundle's `config.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use serde::Deserialize;

use super::{Container, DiscoveryError, DiscoveryOptions, Found};

#[derive(Debug, Deserialize)]
struct CrunStatus {
    #[serde(default)]
    pid: Option<u32>,
    #[serde(default, rename = "cgroup-path")]
    cgroup_path: Option<PathBuf>,
    #[serde(default)]
    bundle: Option<PathBuf>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct BundleConfig {
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// Parses one crun status file; the container id is its directory's name.
pub fn parse(
    dir: &Path,
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let status: CrunStatus =
        serde_json::from_str(text).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = status.pid.filter(|&p| p > 0);
    let placement = CgroupPlacement {
        relative_path: status.cgroup_path.unwrap_or_default(),
        ..CgroupPlacement::default()
    };
    let annotations = status
        .bundle
        .and_then(|b| super::read_text_lossy(&b.join("config.json")).ok())
        .and_then(|t| serde_json::from_str::<BundleConfig>(&t).ok())
        .unwrap_or_default()
        .annotations;
    Found {
        id,
        runtime: "crun",
        annotations: &annotations,
        pid,
        created: status.created.as_deref(),
        placement,
    }
    .into_container(state_file, options)
}
