//! `list`: every container under the state root.

use std::path::Path;

use crate::error::Result;
use crate::state::{self, ContainerState};

/// The containers that could be read; unreadable ones are logged and skipped so one bad
/// state file does not hide the rest.
pub fn list(root: &Path) -> Result<Vec<ContainerState>> {
    let mut out = Vec::new();
    for id in state::list_ids(root)? {
        match super::status::load(root, &id) {
            Ok(s) => out.push(s),
            Err(e) => tracing::warn!("listing {id}: {e}"),
        }
    }
    Ok(out)
}
