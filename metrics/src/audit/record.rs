//! One line of the audit stream: a record ([`Record`]) built from a kernel record or a
//! seccomp audit record, with the container's identity, as one JSON object
//! (Tetragon-like: `time`, `type`, `container`, `process`, then the type's own object).

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_ebpf::syscall_names::syscall_name;
use berth_ebpf::{AuditEvent, EventDetail, EventType};
use berth_state::Timestamp;
use serde::Serialize;

use crate::discovery::Container;

/// One record of the stream.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// When it happened, RFC 3339 UTC with nanoseconds.
    pub time: Timestamp,
    /// `process_exec`, `process_exit`, `network_connect`, `network_listen`,
    /// `sensitive_open` or `privileged_syscall`.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// The container, when its cgroup is a discovered container's.
    pub container: Option<ContainerInfo>,
    /// The cgroup v2 id the record was attributed to.
    pub cgroup_id: u64,
    /// The process that caused it.
    pub process: ProcessInfo,
    /// process_exit: how it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// network_connect, network_listen: the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// sensitive_open: the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// privileged_syscall: the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<SyscallInfo>,
}

/// Who the container is.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerInfo {
    /// The runtime's container id.
    pub id: String,
    /// Its name (annotation), else the id.
    pub name: String,
    /// Its image (annotation), else empty.
    pub image: String,
    /// `berth`, `runc` or `crun`.
    pub runtime: &'static str,
}

impl From<&Container> for ContainerInfo {
    fn from(c: &Container) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            image: c.image.clone(),
            runtime: c.runtime,
        }
    }
}

/// The process (ids in the initial namespaces).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent's process id (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Real uid (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The executed file (exec), else the last one seen executed by this pid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// Arguments (exec; at most 1023 bytes of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// Whether argv was cut off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub argv_truncated: bool,
    /// Working directory (exec), as the process sees it, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The kernel's `comm`.
    pub comm: String,
}

/// How a process ended.
#[derive(Debug, Clone, Serialize)]
pub struct ExitInfo {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// Seconds since it started.
    pub duration_seconds: f64,
}

/// A socket address.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkInfo {
    /// `tcp`, `udp`, or the protocol number.
    pub protocol: String,
    /// Destination (connect) or local (listen) address.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
}

/// An open.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// The path as passed to open(2).
    pub path: String,
    /// The open(2) flags.
    pub flags: i32,
}

/// A privileged syscall.
#[derive(Debug, Clone, Serialize)]
pub struct SyscallInfo {
    /// Its x86_64 name.
    pub name: String,
    /// Its number.
    pub nr: u32,
    /// Whether seccomp refused it (errno, kill, trap); absent when the source cannot
    /// tell (tracepoints).
    pub denied: Option<bool>,
    /// The seccomp action (`errno`, `kill_process`, `log`, ...), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// `seccomp` (the filter's audit record) or `tracepoint`.
    pub source: &'static str,
}

/// Converts `CLOCK_MONOTONIC` event times to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall-clock nanoseconds minus monotonic nanoseconds, measured once.
    offset_ns: i128,
}

impl Clock {
    /// Measures the offset between the two clocks now.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Self {
            offset_ns: wall - i128::from(monotonic_ns()),
        }
    }

    /// `monotonic_ns` (`CLOCK_MONOTONIC` nanoseconds) as a wall-clock time.
    pub fn wall(&self, monotonic_ns: u64) -> Timestamp {
        let ns = (self.offset_ns + i128::from(monotonic_ns)).max(0);
        let ns = u64::try_from(ns).unwrap_or(u64::MAX);
        Timestamp::from(UNIX_EPOCH + Duration::from_nanos(ns))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// The `exit` object of wait status `status`.
pub fn exit_info(status: i32, duration_ns: u64) -> ExitInfo {
    let signal = status & 0x7f;
    ExitInfo {
        code: (signal == 0).then_some((status >> 8) & 0xff),
        signal: (signal != 0).then_some(signal),
        duration_seconds: duration_ns as f64 / 1e9,
    }
}

fn protocol_name(protocol: u32) -> String {
    match protocol {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        n => n.to_string(),
    }
}

/// The record of kernel record `event`, attributed to `container` when known;
/// `binary` is the file this pid last executed, when known (for records other than
/// exec, where it is the resolved file when given, else the exec's filename); `cwd`
/// the exec's working directory, when read.
pub fn from_kernel(
    event: &AuditEvent,
    container: Option<&Container>,
    clock: &Clock,
    binary: Option<String>,
    cwd: Option<String>,
) -> Record {
    let t = &event.task;
    let mut record = Record {
        time: clock.wall(t.timestamp_ns),
        event_type: event.event_type.name(),
        container: container.map(ContainerInfo::from),
        cgroup_id: t.cgroup_id,
        process: ProcessInfo {
            pid: t.pid,
            ppid: Some(t.ppid),
            uid: Some(t.uid),
            binary,
            comm: t.comm.clone(),
            cwd,
            ..ProcessInfo::default()
        },
        exit: None,
        network: None,
        file: None,
        syscall: None,
    };
    match &event.detail {
        EventDetail::Exec {
            filename,
            argv,
            argv_truncated,
        } => {
            if record.process.binary.is_none() {
                record.process.binary = Some(filename.clone());
            }
            record.process.argv = Some(argv.clone());
            record.process.argv_truncated = *argv_truncated;
        }
        EventDetail::Exit {
            status,
            duration_ns,
        } => record.exit = Some(exit_info(*status, *duration_ns)),
        EventDetail::Net {
            addr,
            port,
            protocol,
        } => {
            record.network = Some(NetworkInfo {
                protocol: protocol_name(*protocol),
                address: *addr,
                port: *port,
            })
        }
        EventDetail::Open { path, flags } => {
            record.file = Some(FileInfo {
                path: path.clone(),
                flags: *flags,
            })
        }
        EventDetail::Syscall { nr } => {
            record.syscall = Some(SyscallInfo {
                name: syscall_name(*nr).unwrap_or("unknown").to_string(),
                nr: *nr,
                denied: None,
                action: None,
                source: "tracepoint",
            })
        }
    }
    debug_assert!(EventType::from_name(record.event_type).is_some());
    record
}

/// Writes `record` as one JSON line.
pub fn write_line(out: &mut dyn Write, record: &Record) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use berth_ebpf::EventTask;

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
        let event = AuditEvent {
            event_type: EventType::ProcessExec,
            task: EventTask {
                timestamp_ns: 0,
                cgroup_id: 7,
                pid: 1,
                ppid: 0,
                uid: 0,
                comm: "sh\n{\"type\":\"exit\"}".into(),
            },
            detail: EventDetail::Exec {
                filename: "/bin/\u{fffd}\"\n".into(),
                argv: vec!["a\nb".into(), "{\"x\":1}".into()],
                argv_truncated: false,
            },
        };
        let mut out = Vec::new();
        let record = from_kernel(&event, Some(&container), &Clock::new(), None, None);
        write_line(&mut out, &record).expect("writing into a Vec");
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("one JSON value");
        assert_eq!(back["container"]["id"], container.id.as_str());
        assert_eq!(back["container"]["name"], container.name.as_str());
        assert_eq!(back["process"]["comm"], "sh\n{\"type\":\"exit\"}");
        assert_eq!(back["process"]["binary"], "/bin/\u{fffd}\"\n");
        assert_eq!(back["process"]["argv"][0], "a\nb");
        assert_eq!(back["type"], "process_exec");
    }

    #[test]
    fn wait_status_splits_into_code_or_signal() {
        let exited = exit_info(3 << 8, 1_500_000_000);
        assert_eq!((exited.code, exited.signal), (Some(3), None));
        assert_eq!(exited.duration_seconds, 1.5);
        let killed = exit_info(9, 0);
        assert_eq!((killed.code, killed.signal), (None, Some(9)));
    }
}
