//! `ps`: the containers with their derived state, newest first.

use crate::container::{ContainerRecord, ContainerState, status, store};
use crate::error::Result;
use crate::paths::StorePaths;

/// `ps` flags that choose which containers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListOptions {
    /// `-a`: stopped ones too.
    pub all: bool,
    /// `-n N`: the N newest (any state).
    pub last: Option<usize>,
    /// `-l`: the newest (any state).
    pub latest: bool,
}

/// One container as listed.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub record: ContainerRecord,
    pub state: ContainerState,
}

/// The containers `opts` selects, newest first. A container whose state cannot be
/// derived is skipped with a warning (another command may be removing it).
pub fn list(paths: &StorePaths, opts: ListOptions) -> Result<Vec<ContainerSummary>> {
    let limit = if opts.latest {
        Some(1)
    } else {
        opts.last.filter(|n| *n > 0)
    };
    let all = opts.all || limit.is_some();
    let mut out = Vec::new();
    for record in store::list(paths)? {
        let state = match status::derive(paths, &record) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(id = %record.id, error = %e, "deriving the state");
                continue;
            }
        };
        if all || state.is_running() {
            out.push(ContainerSummary { record, state });
        }
        if limit.is_some_and(|n| out.len() >= n) {
            break;
        }
    }
    Ok(out)
}
