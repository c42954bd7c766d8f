//! `restart`: stop (the stop signal, SIGKILL after the grace period), then start again.
//! The container keeps its id, name, upper dir and log; its start time is new.

use crate::error::Result;
use crate::ops::{start, stop};
use crate::paths::StorePaths;

/// Restarts container `query`; its id. `timeout`: seconds of grace for the stop (None:
/// the container's own, else 10). A stopped container is just started (as docker).
pub fn restart(paths: &StorePaths, query: &str, timeout: Option<u32>) -> Result<String> {
    let id = stop::stop(paths, query, timeout)?;
    start::start(paths, &id)
}
