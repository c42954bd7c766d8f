//! `container prune`: removes every stopped container (created or exited), never a
//! running one, and reports what went and the space their writable layers held.

use crate::container::status::Status;
use crate::container::store::ContainerFiles;
use crate::error::Result;
use crate::ops::list::{ListOptions, list};
use crate::ops::remove::{RemoveOptions, remove};
use crate::paths::StorePaths;

/// What [`prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Full ids of the removed containers.
    pub deleted: Vec<String>,
    /// Bytes their upper dirs held.
    pub reclaimed: u64,
}

/// Removes every container that is not running. A container that fails to go (another
/// command holds it) is skipped with a warning.
pub fn prune(paths: &StorePaths) -> Result<PruneReport> {
    let mut report = PruneReport::default();
    let all = ListOptions {
        all: true,
        ..Default::default()
    };
    for c in list(paths, all)? {
        if !matches!(c.state.status, Status::Exited | Status::Created) {
            continue;
        }
        let id = c.record.id;
        let size = dir_size(&ContainerFiles::new(paths, &id).upper());
        match remove(
            paths,
            &id,
            RemoveOptions {
                force: false,
                volumes: false,
            },
        ) {
            Ok(_) => {
                report.deleted.push(id);
                report.reclaimed += size;
            }
            Err(e) => tracing::warn!(%id, error = %e, "pruning a stopped container"),
        }
    }
    Ok(report)
}

/// Bytes of the regular files under `dir` (symlinks not followed).
fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
