//! Audit records from the kernel: their types ([`EventType`], [`EventTypes`]), the
//! decoded [`AuditEvent`], and the [`AuditStream`] that reads every family's ring
//! buffer (`audit_events`, see `src/bpf/audit.h` and `src/bpf/events.h`).
//!
//! Loss is counted, never silent: a record that finds its ring buffer full is counted
//! in the family's `events_lost` array by type ([`crate::Probes::events_lost`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, RingBuffer, RingBufferBuilder};

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::layouts::types::{
    event_header as RawHeader, event_type as RawType, exec_event as RawExec, exit_event as RawExit,
    net_event as RawNet, open_event as RawOpen, syscall_event as RawSyscall,
};

/// The kinds of audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A process executed a file (argv bounded).
    ProcessExec,
    /// A process ended (wait status, duration).
    ProcessExit,
    /// A socket connected (destination address and port).
    NetworkConnect,
    /// A TCP socket started listening (local address and port).
    NetworkListen,
    /// An open with write intent under a configured path prefix.
    SensitiveOpen,
    /// A privileged syscall (mount, unshare, setns, bpf, ...).
    PrivilegedSyscall,
}

impl EventType {
    /// Every type, in the order of `enum event_type`.
    pub const ALL: [EventType; 6] = [
        EventType::ProcessExec,
        EventType::ProcessExit,
        EventType::NetworkConnect,
        EventType::NetworkListen,
        EventType::SensitiveOpen,
        EventType::PrivilegedSyscall,
    ];

    /// The name in the stream's `type` field and the policy file.
    pub fn name(self) -> &'static str {
        match self {
            EventType::ProcessExec => "process_exec",
            EventType::ProcessExit => "process_exit",
            EventType::NetworkConnect => "network_connect",
            EventType::NetworkListen => "network_listen",
            EventType::SensitiveOpen => "sensitive_open",
            EventType::PrivilegedSyscall => "privileged_syscall",
        }
    }

    /// The type named `name` ([`EventType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    fn raw(self) -> RawType {
        match self {
            EventType::ProcessExec => RawType::EVENT_PROCESS_EXEC,
            EventType::ProcessExit => RawType::EVENT_PROCESS_EXIT,
            EventType::NetworkConnect => RawType::EVENT_NETWORK_CONNECT,
            EventType::NetworkListen => RawType::EVENT_NETWORK_LISTEN,
            EventType::SensitiveOpen => RawType::EVENT_SENSITIVE_OPEN,
            EventType::PrivilegedSyscall => RawType::EVENT_PRIVILEGED_SYSCALL,
        }
    }

    fn from_raw(raw: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.raw().0 == raw)
    }
}

/// A set of [`EventType`]s: the bitmask (`1 << type`) the programs are loaded with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTypes(u32);

impl EventTypes {
    /// No type.
    pub const NONE: EventTypes = EventTypes(0);

    /// Adds `t`.
    pub fn insert(&mut self, t: EventType) {
        self.0 |= 1 << t.raw().0;
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: EventType) -> bool {
        self.0 & (1 << t.raw().0) != 0
    }

    /// The bitmask for `berth_events_on` (`src/bpf/audit.h`).
    pub(crate) fn mask(self) -> u32 {
        self.0
    }
}

impl FromIterator<EventType> for EventTypes {
    fn from_iter<I: IntoIterator<Item = EventType>>(iter: I) -> Self {
        let mut set = EventTypes::NONE;
        for t in iter {
            set.insert(t);
        }
        set
    }
}

/// What every record says about the task that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTask {
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
    /// The watch list key: the container's cgroup v2 id.
    pub cgroup_id: u64,
    /// Process id (thread group id) in the initial pid namespace.
    pub pid: u32,
    /// The real parent's process id.
    pub ppid: u32,
    /// Real uid in the initial user namespace.
    pub uid: u32,
    /// The kernel's `comm` (at most 15 bytes).
    pub comm: String,
}

/// What a record of each type adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDetail {
    /// process_exec.
    Exec {
        /// The file executed.
        filename: String,
        /// The arguments, at most `BERTH_ARGV_MAX - 1` bytes of them.
        argv: Vec<String>,
        /// Whether arguments were cut off.
        argv_truncated: bool,
    },
    /// process_exit.
    Exit {
        /// The wait status (`code << 8 | signal`).
        status: i32,
        /// Since the process started, nanoseconds.
        duration_ns: u64,
    },
    /// network_connect (destination) or network_listen (local address).
    Net {
        /// The address.
        addr: IpAddr,
        /// The port.
        port: u16,
        /// `IPPROTO_*` (6 TCP, 17 UDP).
        protocol: u32,
    },
    /// sensitive_open.
    Open {
        /// The absolute path as passed to open(2).
        path: String,
        /// The open(2) flags.
        flags: i32,
    },
    /// privileged_syscall from the per-syscall tracepoints.
    Syscall {
        /// x86_64 syscall number.
        nr: u32,
    },
}

/// One decoded audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its type.
    pub event_type: EventType,
    /// The task that caused it.
    pub task: EventTask,
    /// The type's own fields.
    pub detail: EventDetail,
}

// SAFETY: a generated `#[repr(C)]` struct of integers and integer arrays (as are the
// records below).
unsafe impl map_read::Record for RawHeader {}
// SAFETY: as above.
unsafe impl map_read::Record for RawExec {}
// SAFETY: as above.
unsafe impl map_read::Record for RawExit {}
// SAFETY: as above.
unsafe impl map_read::Record for RawNet {}
// SAFETY: as above.
unsafe impl map_read::Record for RawOpen {}
// SAFETY: as above.
unsafe impl map_read::Record for RawSyscall {}

impl AuditEvent {
    /// Decodes one ring buffer record; `None` when it is short or of no known type.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        let h: RawHeader = map_read::record(bytes)?;
        let event_type = EventType::from_raw(h.r#type)?;
        let task = EventTask {
            timestamp_ns: h.timestamp_ns,
            cgroup_id: h.cgroup_id,
            pid: h.pid,
            ppid: h.ppid,
            uid: h.uid,
            comm: c_string(&h.comm),
        };
        let detail = match event_type {
            EventType::ProcessExec => {
                let e: RawExec = map_read::record(bytes)?;
                let len = (e.argv_len as usize).min(e.argv.len());
                let argv = bytes_of(&e.argv[..len])
                    .split(|&b| b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>();
                // argv ends with a NUL: the split leaves one empty string after it.
                let argv = match argv.split_last() {
                    Some((last, rest)) if last.is_empty() => rest.to_vec(),
                    _ => argv,
                };
                EventDetail::Exec {
                    filename: c_string(&e.filename),
                    argv: if len == 0 { Vec::new() } else { argv },
                    argv_truncated: e.argv_truncated != 0,
                }
            }
            EventType::ProcessExit => {
                let e: RawExit = map_read::record(bytes)?;
                EventDetail::Exit {
                    status: e.exit_code,
                    duration_ns: e.duration_ns,
                }
            }
            EventType::NetworkConnect | EventType::NetworkListen => {
                let e: RawNet = map_read::record(bytes)?;
                let addr = match e.family {
                    10 => IpAddr::V6(Ipv6Addr::from(e.addr)),
                    _ => IpAddr::V4(Ipv4Addr::new(e.addr[0], e.addr[1], e.addr[2], e.addr[3])),
                };
                EventDetail::Net {
                    addr,
                    port: e.port,
                    protocol: e.protocol,
                }
            }
            EventType::SensitiveOpen => {
                let e: RawOpen = map_read::record(bytes)?;
                EventDetail::Open {
                    path: c_string(&e.path),
                    flags: e.flags,
                }
            }
            EventType::PrivilegedSyscall => {
                let e: RawSyscall = map_read::record(bytes)?;
                EventDetail::Syscall { nr: e.nr }
            }
        };
        Some(Self {
            event_type,
            task,
            detail,
        })
    }
}

fn bytes_of(chars: &[i8]) -> Vec<u8> {
    chars.iter().map(|&c| c.to_ne_bytes()[0]).collect()
}

/// A NUL-terminated (or full) C `char` array as text; invalid UTF-8 becomes U+FFFD.
pub(crate) fn c_string(chars: &[i8]) -> String {
    let bytes: Vec<u8> = bytes_of(chars)
        .into_iter()
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Audit records as they arrive from every family's ring buffer. It owns no
/// skeleton, so it can be moved to a reader thread; poll it often, records that do not
/// fit meanwhile are counted by the kernel side.
pub struct AuditStream {
    ring: RingBuffer<'static>,
}

impl AuditStream {
    /// Subscribes to `rings` (name, map); each decoded record goes to `sink`,
    /// records that do not decode are logged.
    pub(crate) fn new(
        rings: &[(&'static str, &dyn MapCore)],
        sink: impl FnMut(AuditEvent) + Send + Clone + 'static,
    ) -> Result<Self, Error> {
        let mut builder = RingBufferBuilder::new();
        for (name, map) in rings {
            let mut sink = sink.clone();
            builder
                .add(*map, move |bytes: &[u8]| {
                    match AuditEvent::parse(bytes) {
                        Some(event) => sink(event),
                        None => tracing::warn!(len = bytes.len(), "undecodable audit record"),
                    }
                    0
                })
                .map_err(|source| Error::Map {
                    operation: "subscribing to",
                    map: name,
                    source,
                })?;
        }
        let ring = builder.build().map_err(|source| Error::Map {
            operation: "mapping",
            map: "audit_events",
            source,
        })?;
        Ok(Self { ring })
    }

    /// Waits up to `timeout` for a batch of records, then hands every record pending
    /// to the sink (the programs wake the reader only for a batch: a poll that timed
    /// out consumes what arrived meanwhile).
    pub fn poll(&mut self, timeout: Duration) -> Result<(), Error> {
        self.ring.poll(timeout).map_err(|source| Error::Map {
            operation: "polling",
            map: "audit_events",
            source,
        })?;
        self.ring.consume().map_err(|source| Error::Map {
            operation: "consuming",
            map: "audit_events",
            source,
        })
    }
}

/// Adds a family's `events_lost` (per-CPU, indexed by type) into `totals`.
pub(crate) fn add_lost(
    map: &dyn MapCore,
    totals: &mut std::collections::BTreeMap<EventType, u64>,
) -> Result<(), Error> {
    for t in EventType::ALL {
        let per_cpu = map
            .lookup_percpu(&t.raw().0.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| Error::Map {
                operation: "reading",
                map: "events_lost",
                source,
            })?
            .unwrap_or_default();
        let n: u64 = per_cpu.iter().map(|cpu| u64_at(cpu, 0)).sum();
        if n > 0 {
            *totals.entry(t).or_default() += n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_masks_follow_the_c_enum() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.name()), Some(t));
            assert_eq!(EventType::from_raw(t.raw().0), Some(t));
        }
        let set: EventTypes = [EventType::ProcessExec, EventType::SensitiveOpen]
            .into_iter()
            .collect();
        assert_eq!(set.mask(), (1 << 1) | (1 << 5));
        assert!(!set.contains(EventType::ProcessExit));
    }

    #[test]
    fn exec_record_decodes_argv() {
        let mut raw = RawExec::default();
        raw.h.r#type = RawType::EVENT_PROCESS_EXEC.0;
        raw.h.cgroup_id = 9;
        let args = b"/bin/echo\0hello world\0\0";
        for (i, b) in args.iter().enumerate() {
            raw.argv[i] = *b as i8;
        }
        raw.argv_len = args.len() as u32;
        // SAFETY: RawExec is plain data; viewing it as bytes reads initialized memory.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw as *const RawExec).cast::<u8>(), size_of::<RawExec>())
        };
        let event = AuditEvent::parse(bytes).expect("decodes");
        assert_eq!(event.task.cgroup_id, 9);
        let EventDetail::Exec { argv, .. } = event.detail else {
            panic!("not an exec: {event:?}");
        };
        assert_eq!(argv, ["/bin/echo", "hello world", ""]);
    }
}
