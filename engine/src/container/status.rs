//! A container's status, derived each time from facts that cannot go stale: the exit
//! file, whether the monitor named in monitor.json is still that process (pid + start
//! time + boot id), the start file, and, when the monitor is gone, the OCI runtime's own
//! `state`. Nothing stores a status word that a killed command would leave behind.

use berth_state::Timestamp;
use serde::Serialize;

use crate::atomic_file::read_json;
use crate::container::exit::{ExitRecord, MonitorRecord, StartRecord, boot_id};
use crate::container::record::ContainerRecord;
use crate::container::store::ContainerFiles;
use crate::error::Result;
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;

/// Docker's status words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Exited => "exited",
        }
    }
}

/// Exit code reported for a container whose monitor died before recording one, or that
/// was running when the host rebooted (docker reports 255 for a lost container too).
pub const LOST_EXIT_CODE: i32 = 255;

/// What `ps` and `inspect` show about a container's life.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerState {
    pub status: Status,
    /// The init's host pid while running.
    pub pid: Option<u32>,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why it is in this state when something went wrong (monitor lost, reboot).
    pub error: String,
    /// The monitor's pid while it lives.
    pub monitor: Option<MonitorRecord>,
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self.status, Status::Running | Status::Paused)
    }

    fn created() -> Self {
        Self {
            status: Status::Created,
            pid: None,
            exit_code: 0,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            error: String::new(),
            monitor: None,
        }
    }
}

/// The container's state now.
pub fn derive(paths: &StorePaths, record: &ContainerRecord) -> Result<ContainerState> {
    let files = ContainerFiles::new(paths, &record.id);
    let boot = boot_id()?;
    if let Some(exit) = read_json::<ExitRecord>(&files.exit())? {
        return Ok(ContainerState {
            status: Status::Exited,
            exit_code: exit.exit_code,
            oom_killed: exit.oom_killed,
            started_at: exit.started_at,
            finished_at: Some(exit.finished_at),
            error: exit.error,
            ..ContainerState::created()
        });
    }
    let start = read_json::<StartRecord>(&files.start())?;
    let monitor = read_json::<MonitorRecord>(&files.monitor())?.filter(|m| m.is_alive(&boot));
    if let Some(monitor) = monitor {
        let mut state = ContainerState::created();
        if let Some(start) = start {
            state.status = Status::Running;
            state.pid = Some(start.pid);
            state.started_at = Some(start.started_at);
        }
        state.monitor = Some(monitor);
        return Ok(state);
    }
    let Some(start) = start else {
        return Ok(ContainerState::created());
    };
    let lost = |error: &str| ContainerState {
        status: Status::Exited,
        exit_code: LOST_EXIT_CODE,
        started_at: Some(start.started_at),
        error: error.to_string(),
        ..ContainerState::created()
    };
    if start.boot_id != boot {
        return Ok(lost("the host rebooted while the container ran"));
    }
    // The monitor is gone without an exit record: the runtime still knows whether the
    // container runs (a monitor killed with SIGKILL leaves it running).
    let runtime = OciRuntime::for_container(paths, record);
    match runtime.status(&record.id).as_deref() {
        Some("running") | Some("created") => Ok(ContainerState {
            status: Status::Running,
            pid: Some(start.pid),
            started_at: Some(start.started_at),
            error: "the container's monitor is gone: its output is no longer logged".into(),
            ..ContainerState::created()
        }),
        Some("paused") => Ok(ContainerState {
            status: Status::Paused,
            pid: Some(start.pid),
            started_at: Some(start.started_at),
            ..ContainerState::created()
        }),
        _ => Ok(lost(
            "the container's monitor died before recording its exit",
        )),
    }
}
