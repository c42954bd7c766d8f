//! The watch list: the cgroups whose activity the programs count.
//!
//! One BPF hash map (`watched_cgroups`, see `src/bpf/berth.h`) shared by every
//! program family. A task is counted when its cgroup, or one of its ancestors, is on
//! the list.

use std::collections::HashMap;

use libbpf_rs::{MapCore, MapFlags};

use crate::Error;
use crate::map_read::{u32_at, u64_at};

const MAP: &str = "watched_cgroups";
const FLAG_CONTAINER: u32 = 1;
const FLAG_SUBTREE: u32 = 2;

/// How a watched cgroup's activity is attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// A container: its own and its descendants' activity count under its id.
    Container,
    /// A parent of containers (e.g. `/berth`): each cgroup below it counts under
    /// its own id, so a new container is counted before it is discovered.
    Subtree,
}

impl WatchKind {
    fn flags(self) -> u32 {
        match self {
            WatchKind::Container => FLAG_CONTAINER,
            WatchKind::Subtree => FLAG_SUBTREE,
        }
    }

    fn from_flags(flags: u32) -> Option<Self> {
        match flags {
            FLAG_CONTAINER => Some(WatchKind::Container),
            FLAG_SUBTREE => Some(WatchKind::Subtree),
            _ => None,
        }
    }
}

pub(crate) fn insert(map: &dyn MapCore, cgroup_id: u64, kind: WatchKind) -> Result<(), Error> {
    map.update(
        &cgroup_id.to_ne_bytes(),
        &kind.flags().to_ne_bytes(),
        MapFlags::ANY,
    )
    .map_err(|source| Error::Map {
        operation: "adding a cgroup to",
        map: MAP,
        source,
    })
}

pub(crate) fn remove(map: &dyn MapCore, cgroup_id: u64) -> Result<(), Error> {
    match map.delete(&cgroup_id.to_ne_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Map {
            operation: "removing a cgroup from",
            map: MAP,
            source,
        }),
    }
}

pub(crate) fn list(map: &dyn MapCore) -> Result<HashMap<u64, WatchKind>, Error> {
    let mut watched = HashMap::new();
    for key in map.keys() {
        let value = map
            .lookup(&key, MapFlags::ANY)
            .map_err(|source| Error::Map {
                operation: "reading",
                map: MAP,
                source,
            })?;
        if let Some(kind) = value.and_then(|v| WatchKind::from_flags(u32_at(&v, 0))) {
            watched.insert(u64_at(&key, 0), kind);
        }
    }
    Ok(watched)
}
