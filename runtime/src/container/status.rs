//! `state`: the OCI state of one container, as the kernel sees it now.

use std::path::Path;

use crate::error::Result;
use crate::state::{ContainerState, LiveStatus, StateDir, Status};

/// Load a container's state with its live status.
pub fn load(root: &Path, id: &str) -> Result<ContainerState> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_shared()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    if state.status == Status::Stopped {
        // runc reports no pid for a stopped container: the number may belong to another.
        state.pid = 0;
    }
    Ok(state)
}
