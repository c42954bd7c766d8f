//! [`WatchList`]: keeps the BPF watch list in line with the containers (and the
//! watched subtrees), gives the containers that count syscalls ([`SyscallMode`]) their
//! slots, and deletes the counters of cgroups that are gone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use berth_ebpf::{Probes, WatchKind};

use super::index::ContainerIndex;

/// Which containers have their syscalls counted. While any is, every syscall of the
/// host runs the `sys_enter` (and `sys_exit`) programs; while none is, they are
/// detached and syscalls cost nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SyscallMode {
    /// None (the `berth_container_syscall*` series disappear).
    Off,
    /// Those annotated `berth.io/syscalls=count` (see
    /// [`SYSCALLS_ANNOTATION`](crate::discovery::SYSCALLS_ANNOTATION)).
    #[default]
    Annotated,
    /// Every container discovered.
    All,
}

/// The cgroups the exporter wants counted, across refreshes.
#[derive(Debug, Default)]
pub(crate) struct WatchList {
    /// cgroup v2 directory of every container seen, and whether it counts syscalls,
    /// until that directory is gone: a container missing from one discovery (state
    /// file being rewritten) keeps its BPF counters while its cgroup exists.
    seen_cgroups: HashMap<u64, (PathBuf, bool)>,
    /// Containers that asked for syscall counting and got no slot, as last logged.
    refused: Vec<u64>,
}

impl WatchList {
    /// Remembers the cgroups of `index`'s containers and forgets those whose directory
    /// is gone.
    pub(crate) fn remember(&mut self, index: &ContainerIndex) {
        for (id, container) in index.keyed() {
            if let Some(dir) = &container.cgroup.v2_dir {
                self.seen_cgroups
                    .insert(id, (dir.clone(), container.count_syscalls));
            }
        }
        self.seen_cgroups.retain(|_, (dir, _)| dir.is_dir());
    }

    /// Watches every container of `index` and every remembered cgroup, each of
    /// `subtrees` (relative to `cgroup2_root`) as a subtree; unwatches the rest; counts
    /// the syscalls of the containers `syscalls` selects (attaching the syscall
    /// programs only while there is one); prunes the counters of cgroups neither
    /// watched nor alive below a subtree.
    pub(crate) fn sync(
        &mut self,
        probes: &Probes,
        index: &ContainerIndex,
        cgroup2_root: &Path,
        subtrees: &[PathBuf],
        syscalls: SyscallMode,
    ) -> Result<(), berth_ebpf::Error> {
        let mut wanted: HashMap<u64, WatchKind> = index
            .keyed()
            .map(|(id, _)| id)
            .chain(self.seen_cgroups.keys().copied())
            .map(|id| (id, WatchKind::Container))
            .collect();
        // cgroups that exist below watched subtrees: counted, and kept until removed.
        let mut alive: HashSet<u64> = wanted.keys().copied().collect();
        let mut subtree_dirs: Vec<(u64, PathBuf)> = Vec::new();
        for subtree in subtrees {
            let dir = cgroup2_root.join(subtree);
            let Ok(id) = berth_cgroups::cgroup_id(&dir) else {
                continue;
            };
            subtree_dirs.push((id, dir.clone()));
            wanted.entry(id).or_insert(WatchKind::Subtree);
            // Containers are the subtree's children; deeper cgroups count under them.
            collect_cgroup_ids(&dir, 1, &mut alive);
        }
        let watched = probes.watched()?;
        for (id, kind) in &wanted {
            if watched.get(id) != Some(kind) {
                probes.watch(*id, *kind)?;
            }
        }
        for id in watched.keys().filter(|id| !wanted.contains_key(id)) {
            probes.unwatch(*id)?;
        }
        // The socket audit programs (network_connect/listen) live on the subtrees
        // themselves, attached once each appears (the runtime creates it with its
        // first container).
        let dirs: Vec<(u64, &Path)> = subtree_dirs
            .iter()
            .map(|(id, d)| (*id, d.as_path()))
            .collect();
        probes.attach_socket_subtrees(&dirs)?;
        self.count_syscalls(probes, index, syscalls)?;
        let deleted = probes.prune(&|id| alive.contains(&id))?;
        if deleted > 0 {
            tracing::debug!(deleted, "deleted BPF counters of removed cgroups");
        }
        Ok(())
    }
}

impl WatchList {
    /// Gives the containers `mode` selects a syscall counting slot (and only them).
    fn count_syscalls(
        &mut self,
        probes: &Probes,
        index: &ContainerIndex,
        mode: SyscallMode,
    ) -> Result<(), berth_ebpf::Error> {
        let counted: BTreeSet<u64> = match mode {
            SyscallMode::Off => BTreeSet::new(),
            SyscallMode::Annotated => index
                .keyed()
                .filter(|(_, c)| c.count_syscalls)
                .map(|(id, _)| id)
                .chain(
                    self.seen_cgroups
                        .iter()
                        .filter(|(_, (_, opted_in))| *opted_in)
                        .map(|(id, _)| *id),
                )
                .collect(),
            SyscallMode::All => index
                .keyed()
                .map(|(id, _)| id)
                .chain(self.seen_cgroups.keys().copied())
                .collect(),
        };
        let counting = probes.count_syscalls_of(&counted)?;
        if counting.refused != self.refused {
            if !counting.refused.is_empty() {
                tracing::warn!(
                    counted = counting.counted,
                    refused = ?counting.refused,
                    "no syscall counting slot left: these cgroups' syscalls are not counted"
                );
            }
            self.refused = counting.refused;
        }
        Ok(())
    }
}

/// Adds the ids of `dir` and the cgroups below it (down to `depth` levels).
fn collect_cgroup_ids(dir: &Path, depth: u32, ids: &mut HashSet<u64>) {
    if let Ok(id) = berth_cgroups::cgroup_id(dir) {
        ids.insert(id);
    }
    if depth == 0 {
        return;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_cgroup_ids(&entry.path(), depth - 1, ids);
            }
        }
    }
}
