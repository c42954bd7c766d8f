//! Process lifecycle per cgroup: execs, forks (new processes, not threads), exits
//! counted, and `process_exec`/`process_exit` audit records ([`crate::audit`]) when
//! enabled (`src/bpf/process.bpf.c`, on `sched/sched_process_exec`,
//! `sched_process_fork`, `sched_process_exit`).

use std::collections::HashMap;
use std::os::fd::BorrowedFd;

use libbpf_rs::MapCore;
use libbpf_rs::skel::Skel as _;

use crate::Error;
use crate::audit::EventTypes;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::process::{OpenProcessSkel, ProcessSkel, ProcessSkelBuilder};

/// One cgroup's process activity since it was first watched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessCounts {
    pub execs: u64,
    pub forks: u64,
    pub exits: u64,
}

pub(crate) struct ProcessProbe {
    skel: ProcessSkel<'static>,
}

impl ProcessProbe {
    /// Loads the programs sending the records of `events` (the others are not built
    /// into them) and attaches them.
    pub(crate) fn load(watchlist: BorrowedFd<'_>, events: EventTypes) -> Result<Self, Error> {
        let mut skel = load_skeleton!(
            ProcessSkelBuilder::default(),
            "process",
            Some(watchlist),
            OpenProcessSkel<'_>,
            events = events
        )?;
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

    /// The ring buffer of process records and its loss counters.
    pub(crate) fn audit_maps(&self) -> (&dyn MapCore, &dyn MapCore) {
        (&self.skel.maps.audit_events, &self.skel.maps.events_lost)
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
