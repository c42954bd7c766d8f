//! `start`: spawn the container's monitor, which mounts the rootfs, attaches the network
//! and runs the OCI runtime's create and start.

use crate::container::status;
use crate::container::store::{self, ContainerFiles, ContainerLock};
use crate::error::{EngineError, Result};
use crate::monitor::{self, MonitorHandle};
use crate::paths::StorePaths;

/// Starts a container and returns its id once its process runs. Starting a running
/// container does nothing (as docker).
pub fn start(paths: &StorePaths, query: &str) -> Result<String> {
    match begin(paths, query, false)? {
        (id, Some((mut handle, lock))) => {
            let started = handle.wait_started();
            drop(lock);
            started.map_err(|e| remove_if_auto(paths, &id, e))?;
            Ok(id)
        }
        (id, None) => Ok(id),
    }
}

/// A `--rm` container whose start failed is removed, as docker does; `e` is returned.
pub fn remove_if_auto(paths: &StorePaths, id: &str, e: EngineError) -> EngineError {
    if store::load(paths, id).is_ok_and(|r| r.host.auto_remove) {
        let opts = crate::ops::remove::RemoveOptions {
            force: true,
            volumes: true,
        };
        if let Err(re) = crate::ops::remove::remove(paths, id, opts) {
            tracing::warn!(%id, error = %re, "removing a --rm container that failed to start");
        }
    }
    e
}

/// Starts a container for a caller that attaches: returns once the runtime created it
/// and the monitor's attach socket is up; the monitor waits for the caller's attach
/// connection before starting the process, so no output is missed. Then call
/// [`MonitorHandle::wait_started`] and, after the output ended,
/// [`MonitorHandle::wait_exited`] (a failure there: [`remove_if_auto`]). A running
/// container is a [`EngineError::Conflict`].
pub fn start_attached(paths: &StorePaths, query: &str) -> Result<(String, MonitorHandle)> {
    match begin(paths, query, true)? {
        (id, Some((mut handle, lock))) => {
            let created = handle.wait_created();
            drop(lock);
            created.map_err(|e| remove_if_auto(paths, &id, e))?;
            Ok((id, handle))
        }
        (id, None) => Err(EngineError::Conflict(format!(
            "container {id} is already running: use attach"
        ))),
    }
}

/// Spawns the monitor unless the container runs; the lock is returned with the handle so
/// that the caller holds it until the monitor has recorded itself (a second `start`
/// then sees it).
#[allow(clippy::type_complexity)]
fn begin(
    paths: &StorePaths,
    query: &str,
    wait_attach: bool,
) -> Result<(String, Option<(MonitorHandle, ContainerLock)>)> {
    let id = store::resolve(paths, query)?;
    let files = ContainerFiles::new(paths, &id);
    let lock = store::lock(&files)?;
    let record = store::load(paths, &id)?;
    let state = status::derive(paths, &record)?;
    if state.is_running() {
        return Ok((id, None));
    }
    if state.monitor.is_some() {
        return Err(EngineError::Conflict(format!(
            "container {id} is already being started"
        )));
    }
    // A container that ran before starts again (docker's restart of an exited one):
    // its last run's records go, its upper dir and log stay.
    for f in [files.exit(), files.start()] {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(crate::error::io_err("removing", &f)(e)),
        }
    }
    let handle = monitor::spawn(paths, &id, wait_attach)?;
    Ok((id, Some((handle, lock))))
}
