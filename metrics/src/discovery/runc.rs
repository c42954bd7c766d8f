//! runc's state (also containerd's runc roots): `<root>/<id>/state.json`, read through
//! berth-state's [`berth_state::RuncState`].

use std::path::Path;

use berth_cgroups::CgroupPlacement;
use berth_state::RuncState;

use super::{Container, DiscoveryError, DiscoveryOptions, Found};

/// Parses one runc state file; `Ok(None)` when its cgroups are gone.
pub fn parse(
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let state =
        RuncState::from_json(text.as_bytes()).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    // runc records only directories: the relative path (the id label) is found from the
    // v2 one by discovery.
    let placement = CgroupPlacement {
        v2_dir: state.v2_dir().map(Path::to_path_buf),
        v1_dirs: state.v1_dirs(),
        ..CgroupPlacement::default()
    };
    Found {
        pid: state.init_pid(),
        annotations: &state.annotations(),
        created: state.created,
        id: state.id,
        runtime: "runc",
        placement,
    }
    .into_container(state_file, options)
}
