//! berth-runtime's state: `<root>/<id>/state.json`, read through berth-state's
//! [`berth_state::ContainerState`] (the type the runtime writes).

use std::path::Path;

use berth_cgroups::CgroupPlacement;

use super::{Container, DiscoveryError, DiscoveryOptions, Found};

/// berth's state file, with the cgroups as berth-runtime places them.
type BerthState = berth_state::ContainerState<CgroupPlacement>;

/// Parses one berth state file; `Ok(None)` when its cgroups are gone.
pub fn parse(
    state_file: &Path,
    text: &str,
    options: &DiscoveryOptions,
) -> Result<Option<Container>, DiscoveryError> {
    let state =
        BerthState::from_json(text.as_bytes()).map_err(|source| DiscoveryError::ParseState {
            path: state_file.to_path_buf(),
            source,
        })?;
    Found {
        pid: state.init_pid(),
        id: state.id,
        runtime: "berth",
        annotations: &state.annotations,
        created: Some(state.created),
        placement: state.cgroup,
    }
    .into_container(state_file, options)
}
