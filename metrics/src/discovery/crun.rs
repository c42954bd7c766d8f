//! crun's state: `<root>/<id>/status`, read through berth-state's
//! [`berth_state::CrunStatus`]; annotations come from the bundle's `config.json`.

use std::path::Path;

use berth_cgroups::CgroupPlacement;
use berth_state::CrunStatus;
use berth_state::files::BUNDLE_CONFIG;

use super::{Container, DiscoveryError, DiscoveryOptions, Found};

/// Parses one crun status file; the container id is its directory's name.
pub fn parse(
    dir: &Path,
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let status =
        CrunStatus::from_json(text.as_bytes()).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A bundle that is gone or unreadable only costs the container its name and labels.
    let config = status.bundle.join(BUNDLE_CONFIG);
    let annotations = super::read_text_lossy(&config)
        .map_err(|e| e.to_string())
        .and_then(|t| berth_state::crun::annotations_from_config(&t).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| {
            tracing::debug!(container = %id, config = %config.display(), "no annotations: {e}");
            Default::default()
        });
    Found {
        pid: status.init_pid(),
        id,
        runtime: "crun",
        annotations: &annotations,
        created: Some(status.created),
        placement: CgroupPlacement {
            relative_path: status.cgroup_path,
            ..CgroupPlacement::default()
        },
    }
    .into_container(state_file, options)
}
