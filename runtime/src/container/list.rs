//! `list`: every container under the state root, printed as runc prints them (scripts
//! written for `runc list` parse berth's output unchanged).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::unistd::{Uid, User};

use crate::error::{Result, io_err};
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

/// The owner runc shows for a container: the user owning its state directory, by name,
/// or `#<uid>` when the uid has no name.
fn owner(root: &Path, id: &str) -> Result<String> {
    let dir = root.join(id);
    let uid = std::fs::metadata(&dir)
        .map_err(io_err("reading owner of", &dir))?
        .uid();
    Ok(match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("#{uid}"),
    })
}

/// `list --format json`: one line, an array of runc's state objects (see
/// [`ContainerState::runc_output`]), or `null` when there are no containers, as runc's
/// encoder prints an empty list.
pub fn write_json(out: &mut impl Write, root: &Path, all: &[ContainerState]) -> Result<()> {
    let owned = with_owners(root, all);
    if owned.is_empty() {
        writeln!(out, "null").map_err(io_err("writing", "stdout"))?;
        return Ok(());
    }
    let items: Vec<_> = owned.iter().map(|(s, o)| s.runc_output(o)).collect();
    // Serializing strings, numbers and maps cannot fail.
    let json = serde_json::to_string(&items).unwrap_or_default();
    writeln!(out, "{json}").map_err(io_err("writing", "stdout"))
}

/// `list` (table): runc's columns, aligned as its tabwriter aligns them (each column as wide
/// as its widest cell plus 3 spaces, at least 12; the last one unpadded).
pub fn write_table(out: &mut impl Write, root: &Path, all: &[ContainerState]) -> Result<()> {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(str::to_owned)];
    for (s, owner) in with_owners(root, all) {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.to_string(),
            s.bundle.display().to_string(),
            s.created.to_string(),
            owner,
        ]);
    }
    write!(out, "{}", align(&rows)).map_err(io_err("writing", "stdout"))
}

/// Each container with its owner; one deleted since it was read is left out, as `list`
/// leaves out one it cannot read.
fn with_owners<'a>(root: &Path, all: &'a [ContainerState]) -> Vec<(&'a ContainerState, String)> {
    all.iter()
        .filter_map(|s| match owner(root, &s.id) {
            Ok(o) => Some((s, o)),
            Err(e) => {
                tracing::warn!("listing {}: {e}", s.id);
                None
            }
        })
        .collect()
}

fn align<const N: usize>(rows: &[[String; N]]) -> String {
    const MIN_WIDTH: usize = 12;
    const PADDING: usize = 3;
    let mut widths = [MIN_WIDTH; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count() + PADDING);
        }
    }
    let mut text = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_aligned_as_runc_tabwriter_does() {
        // An empty list and one row, as `runc list` printed them on this project's test host.
        let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(str::to_owned);
        assert_eq!(
            align(std::slice::from_ref(&header)),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
        let row = [
            "l1",
            "8683",
            "running",
            "/tmp/devh/b",
            "2026-11-30T17:11:25.544206706Z",
            "root",
        ]
        .map(str::to_owned);
        assert_eq!(
            align(&[header, row]),
            "ID          PID         STATUS      BUNDLE        CREATED                          OWNER\n\
             l1          8683        running     /tmp/devh/b   2026-11-30T17:11:25.544206706Z   root\n"
        );
    }
}
