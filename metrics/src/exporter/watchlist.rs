//! [`WatchList`]: keeps the BPF watch list in line with the containers (and the
//! watched subtrees), and deletes the counters of cgroups that are gone.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use berth_ebpf::{Probes, WatchKind};

use super::index::ContainerIndex;

/// The cgroups the exporter wants counted, across refreshes.
#[derive(Debug, Default)]
pub(crate) struct WatchList {
    /// cgroup v2 directory of every container seen, until that directory is gone: a
    /// container missing from one discovery (state file being rewritten) keeps its
    /// BPF counters while its cgroup exists.
    seen_cgroups: HashMap<u64, PathBuf>,
}

impl WatchList {
    /// Remembers the cgroups of `index`'s containers and forgets those whose directory
    /// is gone.
    pub(crate) fn remember(&mut self, index: &ContainerIndex) {
        for (id, container) in index.keyed() {
            if let Some(dir) = &container.cgroup.v2_dir {
                self.seen_cgroups.insert(id, dir.clone());
            }
        }
        self.seen_cgroups.retain(|_, dir| dir.is_dir());
    }

    /// Watches every container of `index` and every remembered cgroup, each of
    /// `subtrees` (relative to `cgroup2_root`) as a subtree; unwatches the rest and
    /// prunes the counters of cgroups neither watched nor alive below a subtree.
    pub(crate) fn sync(
        &self,
        probes: &Probes,
        index: &ContainerIndex,
        cgroup2_root: &Path,
        subtrees: &[PathBuf],
    ) -> Result<(), berth_ebpf::Error> {
        let mut wanted: HashMap<u64, WatchKind> = index
            .keyed()
            .map(|(id, _)| id)
            .chain(self.seen_cgroups.keys().copied())
            .map(|id| (id, WatchKind::Container))
            .collect();
        // cgroups that exist below watched subtrees: counted, and kept until removed.
        let mut alive: HashSet<u64> = wanted.keys().copied().collect();
        for subtree in subtrees {
            let dir = cgroup2_root.join(subtree);
            let Ok(id) = berth_ebpf::cgroup2::cgroup_id(&dir) else {
                continue;
            };
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
        let deleted = probes.prune(&|id| alive.contains(&id))?;
        if deleted > 0 {
            tracing::debug!(deleted, "deleted BPF counters of removed cgroups");
        }
        Ok(())
    }
}

/// Adds the ids of `dir` and the cgroups below it (down to `depth` levels).
fn collect_cgroup_ids(dir: &Path, depth: u32, ids: &mut HashSet<u64>) {
    if let Ok(id) = berth_ebpf::cgroup2::cgroup_id(dir) {
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
