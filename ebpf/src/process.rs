//! Process lifecycle per cgroup: execs, forks (new processes, not threads), exits,
//! and a stream of [`ProcessEvent`]s through a ring buffer (`src/bpf/process.bpf.c`,
//! on `sched/sched_process_exec`, `sched_process_fork`, `sched_process_exit`).

use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use libbpf_rs::skel::Skel as _;
use libbpf_rs::{MapCore, MapFlags, RingBuffer, RingBufferBuilder};

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::process::{ProcessSkel, ProcessSkelBuilder};

/// One cgroup's process activity since it was first watched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessCounts {
    pub execs: u64,
    pub forks: u64,
    pub exits: u64,
}

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEventKind {
    Exec,
    Fork,
    Exit,
}

/// One process lifecycle event in a watched cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    pub kind: ProcessEventKind,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
    /// The watch list key: the container's cgroup v2 id.
    pub cgroup_id: u64,
    /// Process id (thread group id) in the initial pid namespace.
    pub pid: u32,
    /// Parent's process id (for a fork: the process that forked).
    pub ppid: u32,
    pub uid: u32,
    /// The wait status (`exit_code << 8 | signal`), for [`ProcessEventKind::Exit`].
    pub exit_status: Option<i32>,
    pub comm: String,
    /// The executed file, for [`ProcessEventKind::Exec`].
    pub filename: Option<String>,
}

// `struct process_event` of `src/bpf/events.h`, generated from the C declaration.
use crate::skeletons::layouts::types::{process_event as RawEvent, process_event_kind as RawKind};

impl ProcessEvent {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let raw: RawEvent = map_read::record(bytes)?;
        let kind = match RawKind(raw.kind) {
            RawKind::PROCESS_EVENT_EXEC => ProcessEventKind::Exec,
            RawKind::PROCESS_EVENT_FORK => ProcessEventKind::Fork,
            RawKind::PROCESS_EVENT_EXIT => ProcessEventKind::Exit,
            _ => return None,
        };
        Some(Self {
            kind,
            timestamp_ns: raw.timestamp_ns,
            cgroup_id: raw.cgroup_id,
            pid: raw.pid,
            ppid: raw.ppid,
            uid: raw.uid,
            exit_status: (kind == ProcessEventKind::Exit).then_some(raw.exit_code),
            comm: c_string(&raw.comm),
            filename: (kind == ProcessEventKind::Exec).then(|| c_string(&raw.filename)),
        })
    }
}

/// A NUL-terminated (or full) C `char` array as text; invalid UTF-8 becomes U+FFFD.
fn c_string(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c.to_ne_bytes()[0])
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Process events as they arrive from the kernel; poll it regularly; events that
/// do not fit in the ring buffer meanwhile are counted ([`crate::Probes::events_lost`]).
pub struct EventStream {
    ring: RingBuffer<'static>,
    events: Receiver<ProcessEvent>,
}

impl EventStream {
    /// Waits up to `timeout` for events and returns those that arrived.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ProcessEvent>, Error> {
        self.ring.poll(timeout).map_err(|source| Error::Map {
            operation: "polling",
            map: "process_events",
            source,
        })?;
        Ok(self.events.try_iter().collect())
    }
}

pub(crate) struct ProcessProbe {
    skel: ProcessSkel<'static>,
}

impl ProcessProbe {
    pub(crate) fn load(watchlist: BorrowedFd<'_>) -> Result<Self, Error> {
        let mut skel = load_skeleton!(ProcessSkelBuilder::default(), "process", Some(watchlist))?;
        skel.attach().map_err(|source| Error::Attach {
            program: "process (raw_tp/sched_process_exec, _fork, _exit)",
            source,
        })?;
        Ok(Self { skel })
    }

    pub(crate) fn counts(&self) -> Result<HashMap<u64, ProcessCounts>, Error> {
        Ok(
            map_read::summed_entries::<3>(&self.skel.maps.process_counts, "process_counts")?
                .into_iter()
                .map(|entry| {
                    let [execs, forks, exits] = entry.values;
                    (
                        u64_at(&entry.key, 0),
                        ProcessCounts {
                            execs,
                            forks,
                            exits,
                        },
                    )
                })
                .collect(),
        )
    }

    pub(crate) fn events(&self) -> Result<EventStream, Error> {
        let (sender, events) = mpsc::channel();
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&self.skel.maps.process_events, move |bytes: &[u8]| {
                match ProcessEvent::parse(bytes) {
                    Some(event) => {
                        // The receiver lives in the same EventStream as this callback.
                        let _ = sender.send(event);
                    }
                    None => tracing::warn!(
                        len = bytes.len(),
                        "malformed process event from the ring buffer"
                    ),
                }
                0
            })
            .map_err(|source| Error::Map {
                operation: "subscribing to",
                map: "process_events",
                source,
            })?;
        let ring = builder.build().map_err(|source| Error::Map {
            operation: "mapping",
            map: "process_events",
            source,
        })?;
        Ok(EventStream { ring, events })
    }

    pub(crate) fn events_lost(&self) -> Result<u64, Error> {
        let per_cpu = self
            .skel
            .maps
            .events_lost
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| Error::Map {
                operation: "reading",
                map: "events_lost",
                source,
            })?;
        Ok(per_cpu
            .unwrap_or_default()
            .iter()
            .map(|cpu| u64_at(cpu, 0))
            .sum())
    }

    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        map_read::prune(&self.skel.maps.process_counts, "process_counts", keep)
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 1] {
        [(
            "process_counts",
            map_read::entry_count(&self.skel.maps.process_counts),
        )]
    }
}
