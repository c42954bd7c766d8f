//! Syscalls per cgroup and per syscall number, and failed syscalls per cgroup
//! (`src/bpf/syscalls.bpf.c`, on `raw_syscalls/sys_enter` and `sys_exit`).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, BorrowedFd};

use libbpf_rs::MapCore;

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::syscalls::types::syscall_key as SyscallKey;
use crate::skeletons::syscalls::{SyscallsSkel, SyscallsSkelBuilder};

/// One cgroup's syscalls since it was first watched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallStats {
    /// Syscall number (x86_64) to count; see [`crate::syscall_names`].
    pub by_number: BTreeMap<u32, u64>,
    /// Syscalls that returned an error (-4095..=-1).
    pub errors: u64,
}

impl SyscallStats {
    /// All syscalls, whatever their number.
    pub fn total(&self) -> u64 {
        self.by_number.values().sum()
    }
}

pub(crate) struct SyscallProbe {
    skel: SyscallsSkel<'static>,
}

impl SyscallProbe {
    /// Loads the programs (creating the watch list map) and attaches them: none when
    /// `!count_syscalls` (the maps still exist, empty), the `sys_exit` program only
    /// when `count_errors` too (it doubles the per-syscall cost).
    pub(crate) fn load(count_syscalls: bool, count_errors: bool) -> Result<Self, Error> {
        let mut skel = load_skeleton!(
            SyscallsSkelBuilder::default(),
            "syscalls",
            None::<BorrowedFd<'_>>
        )?;
        if !count_syscalls {
            return Ok(Self { skel });
        }
        let enter = skel
            .progs
            .berth_sys_enter
            .attach()
            .map_err(|source| Error::Attach {
                program: "syscalls (raw_tp/sys_enter)",
                source,
            })?;
        skel.links.berth_sys_enter = Some(enter);
        if count_errors {
            let exit = skel
                .progs
                .berth_sys_exit
                .attach()
                .map_err(|source| Error::Attach {
                    program: "syscalls (raw_tp/sys_exit)",
                    source,
                })?;
            skel.links.berth_sys_exit = Some(exit);
        }
        Ok(Self { skel })
    }

    /// The watch list map, shared with every other family.
    pub(crate) fn watchlist(&self) -> &dyn MapCore {
        &self.skel.maps.watched_cgroups
    }

    pub(crate) fn watchlist_fd(&self) -> BorrowedFd<'_> {
        self.skel.maps.watched_cgroups.as_fd()
    }

    pub(crate) fn stats(&self) -> Result<HashMap<u64, SyscallStats>, Error> {
        let mut stats: HashMap<u64, SyscallStats> = HashMap::new();
        for entry in
            map_read::summed_entries::<1>(&self.skel.maps.syscall_counts, "syscall_counts")?
        {
            let Some(key) = map_read::record::<SyscallKey>(&entry.key) else {
                continue;
            };
            *stats
                .entry(key.cgroup_id)
                .or_default()
                .by_number
                .entry(key.nr)
                .or_default() += entry.values[0];
        }
        for entry in
            map_read::summed_entries::<1>(&self.skel.maps.syscall_errors, "syscall_errors")?
        {
            stats.entry(u64_at(&entry.key, 0)).or_default().errors += entry.values[0];
        }
        Ok(stats)
    }

    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        Ok(
            map_read::prune(&self.skel.maps.syscall_counts, "syscall_counts", keep)?
                + map_read::prune(&self.skel.maps.syscall_errors, "syscall_errors", keep)?,
        )
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 3] {
        [
            (
                "watched_cgroups",
                map_read::entry_count(&self.skel.maps.watched_cgroups),
            ),
            (
                "syscall_counts",
                map_read::entry_count(&self.skel.maps.syscall_counts),
            ),
            (
                "syscall_errors",
                map_read::entry_count(&self.skel.maps.syscall_errors),
            ),
        ]
    }
}
