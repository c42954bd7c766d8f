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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::{HostConfig, ProcessConfig};

    fn setup() -> (tempfile::TempDir, StorePaths, ContainerRecord) {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StorePaths::new(
            Some(dir.path().join("root")),
            Some(dir.path().join("run")),
            None,
            Some("/bin/false".into()),
        );
        let record = ContainerRecord {
            id: "c".repeat(64),
            name: "x".into(),
            created: Timestamp::now(),
            image: "busybox".into(),
            image_id: "sha256:00".into(),
            process: ProcessConfig::default(),
            host: HostConfig::default(),
            network_attachment: None,
        };
        crate::container::store::create(&paths, &record).expect("create");
        (dir, paths, record)
    }

    #[test]
    fn created_until_started_and_exited_from_the_exit_file() {
        let (_dir, paths, record) = setup();
        assert_eq!(
            derive(&paths, &record).expect("state").status,
            Status::Created
        );
        let files = ContainerFiles::new(&paths, &record.id);
        let exit = ExitRecord {
            exit_code: 137,
            oom_killed: true,
            started_at: Some(Timestamp::now()),
            finished_at: Timestamp::now(),
            error: String::new(),
        };
        crate::atomic_file::write_json(&files.exit(), &exit).expect("exit.json");
        let s = derive(&paths, &record).expect("state");
        assert_eq!(
            (s.status, s.exit_code, s.oom_killed),
            (Status::Exited, 137, true)
        );
    }

    /// A start recorded under another boot id is a container the reboot ended: exited,
    /// whatever the (stale) monitor record says.
    #[test]
    fn a_container_started_before_a_reboot_is_exited() {
        let (_dir, paths, record) = setup();
        let files = ContainerFiles::new(&paths, &record.id);
        std::fs::create_dir_all(&files.run_dir).expect("run dir");
        let mut monitor = MonitorRecord::current().expect("monitor");
        monitor.boot_id = "an-earlier-boot".into();
        crate::atomic_file::write_json(&files.monitor(), &monitor).expect("monitor.json");
        let start = StartRecord {
            started_at: Timestamp::now(),
            pid: std::process::id(),
            boot_id: "an-earlier-boot".into(),
        };
        crate::atomic_file::write_json(&files.start(), &start).expect("start.json");
        let s = derive(&paths, &record).expect("state");
        assert_eq!((s.status, s.exit_code), (Status::Exited, LOST_EXIT_CODE));
        assert!(s.error.contains("rebooted"), "{}", s.error);
    }

    /// A live monitor of this boot with a start record: running, with the recorded pid.
    #[test]
    fn a_living_monitor_with_a_start_is_running() {
        let (_dir, paths, record) = setup();
        let files = ContainerFiles::new(&paths, &record.id);
        std::fs::create_dir_all(&files.run_dir).expect("run dir");
        crate::atomic_file::write_json(&files.monitor(), &MonitorRecord::current().expect("me"))
            .expect("monitor.json");
        assert_eq!(
            derive(&paths, &record).expect("state").status,
            Status::Created,
            "starting"
        );
        let start = StartRecord {
            started_at: Timestamp::now(),
            pid: 4242,
            boot_id: boot_id().expect("boot"),
        };
        crate::atomic_file::write_json(&files.start(), &start).expect("start.json");
        let s = derive(&paths, &record).expect("state");
        assert_eq!((s.status, s.pid), (Status::Running, Some(4242)));
    }
}
