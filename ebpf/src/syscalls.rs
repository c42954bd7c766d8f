//! Syscalls by number, and failed syscalls, of the cgroups that opted in
//! (`src/bpf/syscalls.bpf.c`, `tp_btf` on `sys_enter` and `sys_exit`).
//!
//! Counting is opt-in per cgroup: each counted cgroup holds a slot (`syscall_slots`:
//! cgroup id -> slot; `syscall_counts`: a per-CPU array of one counter block per
//! slot). The programs run on every syscall of the host while attached, so they are
//! attached only while at least one cgroup holds a slot, and detached when none does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard};

use libbpf_rs::{Link, MapCore, MapFlags};

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::syscalls::{SyscallsSkel, SyscallsSkelBuilder};

/// Syscall numbers counted per slot (`BERTH_SYSCALL_NR` in the C program).
const SYSCALL_NR: usize = 512;
/// Bytes of one slot's counters on one CPU: a u64 per syscall number, then errors.
const SLOT_BYTES: usize = (SYSCALL_NR + 1) * 8;
/// What the counters may take in all, over every possible CPU (the memlock limit
/// seen on hosts is 8 MiB, shared with the other maps).
const COUNTERS_BUDGET: usize = 4 << 20;
/// Bounds of the slot count, whatever the CPU count.
const MIN_SLOTS: usize = 8;
const MAX_SLOTS: usize = 256;

/// One cgroup's syscalls since it was given a slot.
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

/// What [`Probes::count_syscalls_of`](crate::Probes::count_syscalls_of) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallCounting {
    /// cgroups counted now.
    pub counted: usize,
    /// cgroups asked for that got no slot (all taken), not counted.
    pub refused: Vec<u64>,
    /// Whether the `sys_enter` (and `sys_exit`) programs are attached now.
    pub attached: bool,
}

/// Slots given out, and the links while attached.
#[derive(Default)]
struct Slots {
    by_cgroup: HashMap<u64, u32>,
    links: Vec<Link>,
}

pub(crate) struct SyscallProbe {
    skel: SyscallsSkel<'static>,
    /// `false`: never attach (counting switched off for good).
    enabled: bool,
    count_errors: bool,
    capacity: u32,
    slots: Mutex<Slots>,
}

impl SyscallProbe {
    /// Loads the programs (creating the watch list map), attached to nothing yet:
    /// [`SyscallProbe::count_only`] attaches them when a cgroup opts in. `!enabled`:
    /// never attached. `count_errors`: `sys_exit` is attached with `sys_enter` (it
    /// doubles the cost per syscall).
    pub(crate) fn load(enabled: bool, count_errors: bool) -> Result<Self, Error> {
        let cpus = libbpf_rs::num_possible_cpus().map_err(|source| Error::Open {
            family: "syscalls",
            source,
        })?;
        let capacity = slot_capacity(cpus);
        let skel = load_skeleton!(
            SyscallsSkelBuilder::default(),
            "syscalls",
            None::<BorrowedFd<'_>>,
            |open: &mut crate::skeletons::syscalls::OpenSyscallsSkel<'_>| {
                open.maps.syscall_slots.set_max_entries(capacity)?;
                open.maps.syscall_counts.set_max_entries(capacity)
            }
        )?;
        tracing::debug!(capacity, cpus, "syscall counting slots");
        Ok(Self {
            skel,
            enabled,
            count_errors,
            capacity,
            slots: Mutex::new(Slots::default()),
        })
    }

    /// The watch list map, shared with every other family.
    pub(crate) fn watchlist(&self) -> &dyn MapCore {
        &self.skel.maps.watched_cgroups
    }

    pub(crate) fn watchlist_fd(&self) -> BorrowedFd<'_> {
        self.skel.maps.watched_cgroups.as_fd()
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves the maps consistent (each step is one
        // map write), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts exactly `cgroups`: frees the slots of the others, gives new ones a
    /// zeroed slot (while slots last), then attaches or detaches the programs.
    pub(crate) fn count_only(&self, cgroups: &BTreeSet<u64>) -> Result<SyscallCounting, Error> {
        let mut slots = self.lock();
        let gone: Vec<u64> = slots
            .by_cgroup
            .keys()
            .filter(|id| !cgroups.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.release(&mut slots, id)?;
        }
        let mut refused = Vec::new();
        if self.enabled {
            for id in cgroups {
                if slots.by_cgroup.contains_key(id) {
                    continue;
                }
                let used: BTreeSet<u32> = slots.by_cgroup.values().copied().collect();
                match (0..self.capacity).find(|s| !used.contains(s)) {
                    Some(slot) => {
                        self.assign(*id, slot)?;
                        slots.by_cgroup.insert(*id, slot);
                    }
                    None => refused.push(*id),
                }
            }
        } else {
            refused.extend(cgroups.iter().copied());
        }
        self.attach_while_needed(&mut slots)?;
        Ok(SyscallCounting {
            counted: slots.by_cgroup.len(),
            refused,
            attached: !slots.links.is_empty(),
        })
    }

    /// Zeroes `slot`, then maps `cgroup_id` to it (counting starts at zero).
    fn assign(&self, cgroup_id: u64, slot: u32) -> Result<(), Error> {
        let cpus = libbpf_rs::num_possible_cpus().map_err(|source| Error::Map {
            operation: "zeroing a slot of",
            map: "syscall_counts",
            source,
        })?;
        let zeros = vec![vec![0u8; SLOT_BYTES]; cpus];
        self.skel
            .maps
            .syscall_counts
            .update_percpu(&slot.to_ne_bytes(), &zeros, MapFlags::ANY)
            .map_err(|source| Error::Map {
                operation: "zeroing a slot of",
                map: "syscall_counts",
                source,
            })?;
        self.skel
            .maps
            .syscall_slots
            .update(&cgroup_id.to_ne_bytes(), &slot.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| Error::Map {
                operation: "giving a cgroup a slot in",
                map: "syscall_slots",
                source,
            })
    }

    fn release(&self, slots: &mut Slots, cgroup_id: u64) -> Result<(), Error> {
        match self
            .skel
            .maps
            .syscall_slots
            .delete(&cgroup_id.to_ne_bytes())
        {
            Ok(()) => {}
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Map {
                    operation: "freeing a slot of",
                    map: "syscall_slots",
                    source,
                });
            }
        }
        slots.by_cgroup.remove(&cgroup_id);
        Ok(())
    }

    /// Attaches the programs when some cgroup holds a slot and they are not attached;
    /// drops the links (detaching them) when none does.
    fn attach_while_needed(&self, slots: &mut Slots) -> Result<(), Error> {
        if slots.by_cgroup.is_empty() {
            if !slots.links.is_empty() {
                slots.links.clear();
                tracing::info!("no container counts syscalls: sys_enter/sys_exit detached");
            }
            return Ok(());
        }
        if !slots.links.is_empty() {
            return Ok(());
        }
        let progs = &self.skel.progs;
        let mut links = vec![
            progs
                .berth_sys_enter
                .attach()
                .map_err(|source| Error::Attach {
                    program: "syscalls (tp_btf/sys_enter)",
                    source,
                })?,
        ];
        if self.count_errors {
            links.push(
                progs
                    .berth_sys_exit
                    .attach()
                    .map_err(|source| Error::Attach {
                        program: "syscalls (tp_btf/sys_exit)",
                        source,
                    })?,
            );
        }
        slots.links = links;
        tracing::info!(
            containers = slots.by_cgroup.len(),
            "a container counts syscalls: sys_enter/sys_exit attached"
        );
        Ok(())
    }

    /// Whether the programs are attached now.
    pub(crate) fn attached(&self) -> bool {
        !self.lock().links.is_empty()
    }

    /// The counters of every cgroup holding a slot.
    pub(crate) fn stats(&self) -> Result<HashMap<u64, SyscallStats>, Error> {
        let slots = self.lock();
        let mut stats = HashMap::new();
        for (id, slot) in &slots.by_cgroup {
            let per_cpu = self
                .skel
                .maps
                .syscall_counts
                .lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY)
                .map_err(|source| Error::Map {
                    operation: "reading",
                    map: "syscall_counts",
                    source,
                })?
                .unwrap_or_default();
            let mut s = SyscallStats::default();
            for cpu in &per_cpu {
                if cpu.len() < SLOT_BYTES {
                    return Err(Error::MapLayout {
                        map: "syscall_counts",
                        len: cpu.len(),
                        expected: SLOT_BYTES,
                    });
                }
                for nr in 0..SYSCALL_NR {
                    let n = u64_at(cpu, nr * 8);
                    if n > 0 {
                        let nr = u32::try_from(nr).unwrap_or(u32::MAX);
                        let total = s.by_number.entry(nr).or_default();
                        *total = total.wrapping_add(n);
                    }
                }
                s.errors = s.errors.wrapping_add(u64_at(cpu, SYSCALL_NR * 8));
            }
            stats.insert(*id, s);
        }
        Ok(stats)
    }

    /// Stops counting every cgroup `keep` rejects; returns how many it was.
    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        let mut slots = self.lock();
        let doomed: Vec<u64> = slots
            .by_cgroup
            .keys()
            .filter(|id| !keep(**id))
            .copied()
            .collect();
        for id in &doomed {
            self.release(&mut slots, *id)?;
        }
        self.attach_while_needed(&mut slots)?;
        Ok(doomed.len())
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 2] {
        [
            (
                "watched_cgroups",
                map_read::entry_count(&self.skel.maps.watched_cgroups),
            ),
            (
                "syscall_slots",
                map_read::entry_count(&self.skel.maps.syscall_slots),
            ),
        ]
    }
}

/// Slots for `cpus` possible CPUs: as many as [`COUNTERS_BUDGET`] holds, within
/// [`MIN_SLOTS`]..=[`MAX_SLOTS`].
fn slot_capacity(cpus: usize) -> u32 {
    let fit = COUNTERS_BUDGET / (SLOT_BYTES * cpus.max(1));
    u32::try_from(fit.clamp(MIN_SLOTS, MAX_SLOTS)).unwrap_or(MIN_SLOTS as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fit_the_budget_within_bounds() {
        assert_eq!(slot_capacity(2), 256);
        assert_eq!(slot_capacity(8), 127);
        assert_eq!(slot_capacity(1024), 8);
        assert!(slot_capacity(16) as usize * SLOT_BYTES * 16 <= COUNTERS_BUDGET);
    }
}
