//! `pause` and `resume`: freeze and thaw every process of a container through its
//! cgroup (v1 freezer, v2 `cgroup.freeze`); `state` then reports `paused`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::state::{LiveStatus, StateDir, Status};

/// Freeze a running (or created) container, as runc allows.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_exclusive()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    if !matches!(state.status, Status::Running | Status::Created) {
        return Err(Error::Container {
            id: id.to_string(),
            msg: format!("cannot pause a container that is {}", state.status),
        });
    }
    state.cgroup.freeze()?;
    state.status = Status::Paused;
    dir.save(&state)
}

/// Thaw a paused container.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_exclusive()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    if state.status != Status::Paused {
        return Err(Error::Container {
            id: id.to_string(),
            msg: format!(
                "cannot resume a container that is {} (not paused)",
                state.status
            ),
        });
    }
    state.cgroup.thaw()?;
    state.status = Status::Running;
    // The live status is derived on every read; a created container thawed is created
    // again (its exec fifo still exists), which refresh_status works out.
    state.refresh_status(&dir);
    dir.save(&state)
}
