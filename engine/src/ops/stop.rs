//! `stop [-t SECS]`: the container's stop signal (the image's StopSignal or
//! `--stop-signal`, SIGTERM by default), then SIGKILL after the grace period (the
//! container's `--stop-timeout`, else 10 s), as docker does.

use std::time::Duration;

use crate::container::{status, store};
use crate::error::Result;
use crate::oci_runtime::OciRuntime;
use crate::ops::kill::parse_signal;
use crate::ops::wait::until_stopped;
use crate::paths::StorePaths;

/// docker's default grace period.
pub const DEFAULT_STOP_TIMEOUT: u32 = 10;

/// How long to wait for the exit after SIGKILL before giving up.
const AFTER_KILL: Duration = Duration::from_secs(30);

/// Stops a container; returns its id. A container that is not running is left as it is.
/// `timeout`: seconds of grace (None: the container's own, else 10).
pub fn stop(paths: &StorePaths, query: &str, timeout: Option<u32>) -> Result<String> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    if !status::derive(paths, &record)?.is_running() {
        return Ok(id);
    }
    let runtime = OciRuntime::for_container(paths, &record);
    let grace = timeout
        .or(record.process.stop_timeout)
        .unwrap_or(DEFAULT_STOP_TIMEOUT);
    let sig = parse_signal(&record.process.stop_signal)?;
    // A container that ends between our check and the signal makes the runtime refuse:
    // what matters is that it stops.
    if let Err(e) = runtime.kill(&id, &(sig as i32).to_string()) {
        tracing::debug!(%id, error = %e, "sending the stop signal");
    }
    let state = until_stopped(paths, &record, Some(Duration::from_secs(grace.into())))?;
    if state.is_running() {
        if let Err(e) = runtime.kill(&id, "9") {
            tracing::debug!(%id, error = %e, "sending SIGKILL");
        }
        until_stopped(paths, &record, Some(AFTER_KILL))?;
    }
    // Without its monitor nobody else tears the stopped container down.
    crate::monitor::teardown::finish_orphan(paths, &record)?;
    Ok(id)
}
