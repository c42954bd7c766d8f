//! `events`: a container's statistics and OOM notifications as JSON lines, in runc's
//! shape (`{"type":"stats","id":...,"data":{...}}`, `{"type":"oom","id":...}`).
//!
//! `--stats` prints one stats event and exits. Otherwise stats go out every interval and
//! an `oom` event whenever the OOM killer acts in the container's memory cgroup, until
//! the container stops (runc waits for its cgroup to be removed; berth stops with the
//! init, after reporting any OOM that ended it).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_cgroups::{OomEvent, OomWatcher};
use serde::Serialize;

use crate::error::{Error, Result, io_err};
use crate::state::{ContainerState, LiveStatus, StateDir, Status};

/// How often the stream checks that the container still runs.
const LIVENESS_CHECK: Duration = Duration::from_millis(200);

/// One line of output, as runc's `types.Event`.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

pub fn events(
    root: &Path,
    id: &str,
    stats_only: bool,
    interval: Duration,
    out: &mut dyn Write,
) -> Result<()> {
    if interval.is_zero() {
        return Err(Error::InvalidArgument(
            "--interval must be greater than 0".into(),
        ));
    }
    let state = {
        let dir = StateDir::open(root, id)?;
        let _lock = dir.lock_shared()?;
        let mut state = dir.load()?;
        state.refresh_status(&dir);
        state
    };
    if matches!(state.status, Status::Stopped | Status::Creating) {
        return Err(Error::Container {
            id: id.to_string(),
            msg: format!(
                "cannot report events of a container that is {}",
                state.status
            ),
        });
    }
    if stats_only {
        return emit(out, &stats_event(&state)?);
    }
    stream(&state, interval, out)
}

fn stats_event(state: &ContainerState) -> Result<Event<'_>> {
    let stats = state.cgroup.stats()?;
    Ok(Event {
        kind: "stats",
        id: &state.id,
        data: Some(stats.to_runc_json()),
    })
}

fn emit(out: &mut dyn Write, event: &Event) -> Result<()> {
    let line = serde_json::to_string(event).map_err(|e| Error::Container {
        id: event.id.to_string(),
        msg: format!("encoding event: {e}"),
    })?;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(io_err("writing events to", "stdout"))
}

fn stream(state: &ContainerState, interval: Duration, out: &mut dyn Write) -> Result<()> {
    let mut oom = match OomWatcher::new(&state.cgroup) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("events of {}: no OOM notifications: {e}", state.id);
            None
        }
    };
    let mut next_stats = Instant::now() + interval;
    loop {
        let now = Instant::now();
        let slice = next_stats
            .saturating_duration_since(now)
            .min(LIVENESS_CHECK);
        let alive = state.init_alive();
        // Once the init is gone only a pending notification is left to report.
        let wait = if alive { slice } else { Duration::ZERO };
        match &mut oom {
            Some(w) => match w.wait(Some(wait))? {
                OomEvent::Oom(_) => emit(
                    out,
                    &Event {
                        kind: "oom",
                        id: &state.id,
                        data: None,
                    },
                )?,
                OomEvent::Gone => return Ok(()),
                OomEvent::Timeout => {}
            },
            None => std::thread::sleep(wait),
        }
        if !alive {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            match stats_event(state) {
                Ok(e) => emit(out, &e)?,
                // As runc: a failed read is logged and the stream goes on.
                Err(e) => tracing::error!("events of {}: reading stats: {e}", state.id),
            }
            next_stats += interval;
        }
    }
}
