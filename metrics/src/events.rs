//! The audit stream: BPF process events, enriched with the container's identity, as
//! JSON lines.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_ebpf::{ProcessEvent, ProcessEventKind};
use serde::Serialize;

use crate::discovery::Container;

/// One line of the audit stream.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    /// Wall-clock time, seconds since the Unix epoch.
    pub time: f64,
    /// `exec`, `fork` or `exit`.
    pub kind: &'static str,
    /// The container's id, when the cgroup is a discovered container's.
    pub container_id: Option<&'a str>,
    /// The container's name (its `name` label), likewise.
    pub container_name: Option<&'a str>,
    /// The container's runtime (`berth`, `runc`, `crun`), likewise.
    pub runtime: Option<&'static str>,
    /// The watch list key: the container's cgroup v2 id.
    pub cgroup_id: u64,
    /// Process id in the initial pid namespace.
    pub pid: u32,
    /// Parent's process id (for a fork: the process that forked).
    pub ppid: u32,
    /// User id in the initial user namespace.
    pub uid: u32,
    /// The kernel's `comm` of the process (at most 15 bytes).
    pub comm: &'a str,
    /// exec: the file executed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<&'a str>,
    /// exit: the wait status (`exit_code << 8 | signal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
}

/// Converts `CLOCK_MONOTONIC` event times to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall-clock seconds minus monotonic seconds, measured once.
    offset: f64,
}

impl Clock {
    /// Measures the offset between the two clocks now.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Self {
            offset: wall - monotonic_seconds(),
        }
    }

    /// `monotonic_ns` (`CLOCK_MONOTONIC` nanoseconds) as seconds since the Unix epoch.
    pub fn wall_seconds(&self, monotonic_ns: u64) -> f64 {
        self.offset + monotonic_ns as f64 / 1e9
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

fn monotonic_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Builds the record of `event`, attributed to `container` when known.
pub fn record<'a>(
    event: &'a ProcessEvent,
    container: Option<&'a Container>,
    clock: &Clock,
) -> AuditRecord<'a> {
    AuditRecord {
        time: clock.wall_seconds(event.timestamp_ns),
        kind: match event.kind {
            ProcessEventKind::Exec => "exec",
            ProcessEventKind::Fork => "fork",
            ProcessEventKind::Exit => "exit",
        },
        container_id: container.map(|c| c.id.as_str()),
        container_name: container.map(|c| c.name.as_str()),
        runtime: container.map(|c| c.runtime),
        cgroup_id: event.cgroup_id,
        pid: event.pid,
        ppid: event.ppid,
        uid: event.uid,
        comm: &event.comm,
        filename: event.filename.as_deref(),
        exit_status: event.exit_status,
    }
}

/// Writes `record` as one JSON line.
pub fn write_line(out: &mut dyn Write, record: &AuditRecord<'_>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_and_commands_stay_one_json_line() {
        let container = Container {
            id: "x\"} 0\nforged".into(),
            runtime: "crun",
            name: "a\\\"\n\r\u{2028}\0é".into(),
            image: String::new(),
            labels: Default::default(),
            pid: None,
            created: None,
            cgroup: Default::default(),
            count_syscalls: false,
        };
        let event = ProcessEvent {
            kind: ProcessEventKind::Exec,
            timestamp_ns: 0,
            cgroup_id: 7,
            pid: 1,
            ppid: 0,
            uid: 0,
            comm: "sh\n{\"kind\":\"exit\"}".into(),
            filename: Some("/bin/\u{fffd}\"\n".into()),
            exit_status: None,
        };
        let mut out = Vec::new();
        write_line(&mut out, &record(&event, Some(&container), &Clock::new()))
            .expect("writing into a Vec");
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("one JSON value");
        assert_eq!(back["containerId"], container.id.as_str());
        assert_eq!(back["containerName"], container.name.as_str());
        assert_eq!(back["comm"], event.comm.as_str());
        assert_eq!(back["filename"], "/bin/\u{fffd}\"\n");
        assert_eq!(back["kind"], "exec");
    }
}
