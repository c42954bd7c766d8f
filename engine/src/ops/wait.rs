//! `wait`: block until a container is no longer running; its exit code. Also the
//! bounded waits `stop` and `rm -f` use.

use std::time::{Duration, Instant};

use crate::container::exit::{ExitRecord, MonitorRecord};
use crate::container::record::ContainerRecord;
use crate::container::{ContainerState, status, store};
use crate::error::Result;
use crate::paths::StorePaths;

/// How often the state is derived again while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Waits until the container is not running (its exit recorded, or its process gone),
/// at most `timeout` (None: forever). Returns the last state derived.
pub fn until_stopped(
    paths: &StorePaths,
    record: &ContainerRecord,
    timeout: Option<Duration>,
) -> Result<ContainerState> {
    let start = Instant::now();
    loop {
        let state = status::derive(paths, record)?;
        let starting = state.status == status::Status::Created && state.monitor.is_some();
        if !state.is_running() && !starting {
            return Ok(state);
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(state);
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until `monitor` (a monitor's record) has exited, at most `timeout`; true if it did.
pub fn until_monitor_gone(monitor: &MonitorRecord, timeout: Duration) -> Result<bool> {
    let boot = crate::container::exit::boot_id()?;
    let start = Instant::now();
    while monitor.is_alive(&boot) {
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(POLL);
    }
    Ok(true)
}

/// Blocks until the container stops; its exit code (docker's `wait`). A `--rm`
/// container removed meanwhile reports the code its monitor kept for waiters.
pub fn wait(paths: &StorePaths, query: &str) -> Result<i32> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    let state = until_stopped(paths, &record, None)?;
    if !paths.container_dir(&id).exists() {
        let kept = crate::ops::remove::kept_exit(paths, &id);
        return match crate::atomic_file::read_json::<ExitRecord>(&kept)? {
            Some(exit) => Ok(exit.exit_code),
            None => Err(crate::error::EngineError::NoSuchContainer(
                query.to_string(),
            )),
        };
    }
    Ok(state.exit_code)
}
