//! `sensitive_open` records (`src/bpf/files.bpf.c`, on `syscalls/sys_enter_openat`,
//! `sys_enter_openat2`, `sys_enter_open`, `sys_enter_creat`): opens with write intent
//! under configured path prefixes, decided in the kernel. Opt-in: attached only when
//! asked for, and
//! then every open of the host runs the program up to its cgroup check, and every
//! syscall of the host takes the tracing path (see the C file).

use std::os::fd::BorrowedFd;
use std::path::Path;

use libbpf_rs::skel::Skel as _;
use libbpf_rs::{MapCore, MapFlags};

use crate::Error;
use crate::audit::{EventType, EventTypes};
use crate::skeletons::files::{FilesSkel, FilesSkelBuilder, OpenFilesSkel};
use crate::skeletons::load_skeleton;

/// How many prefixes, and how long each may be (`BERTH_PREFIXES`, `BERTH_PREFIX_MAX`).
pub const MAX_PREFIXES: usize = 16;
/// Bytes of one prefix at most.
pub const MAX_PREFIX_LEN: usize = 64;

/// Where syscall tracepoints are looked up (libbpf reads their ids there).
const TRACEFS_SYSCALLS: &[&str] = &["/sys/kernel/tracing/events/syscalls"];

/// Fails with [`Error::NoTracefs`] unless tracefs is mounted where libbpf looks.
pub(crate) fn require_tracefs(what: &'static str) -> Result<(), Error> {
    if TRACEFS_SYSCALLS.iter().any(|p| Path::new(p).is_dir()) {
        Ok(())
    } else {
        Err(Error::NoTracefs { what })
    }
}

pub(crate) struct FileProbe {
    skel: FilesSkel<'static>,
}

impl FileProbe {
    /// Loads and attaches the programs matching `prefixes` (absolute, each at most
    /// [`MAX_PREFIX_LEN`] bytes, at most [`MAX_PREFIXES`]).
    pub(crate) fn load(watchlist: BorrowedFd<'_>, prefixes: &[String]) -> Result<Self, Error> {
        require_tracefs("sensitive_open")?;
        let events: EventTypes = [EventType::SensitiveOpen].into_iter().collect();
        let mut skel = load_skeleton!(
            FilesSkelBuilder::default(),
            "files",
            Some(watchlist),
            OpenFilesSkel<'_>,
            events = events
        )?;
        for (i, prefix) in prefixes.iter().take(MAX_PREFIXES).enumerate() {
            let mut value = vec![0u8; 4 + MAX_PREFIX_LEN];
            let bytes = prefix.as_bytes();
            let len = bytes.len().min(MAX_PREFIX_LEN);
            value[..4].copy_from_slice(&u32::try_from(len).unwrap_or(0).to_ne_bytes());
            value[4..4 + len].copy_from_slice(&bytes[..len]);
            let index = u32::try_from(i).unwrap_or(0);
            skel.maps
                .sensitive_prefixes
                .update(&index.to_ne_bytes(), &value, MapFlags::ANY)
                .map_err(|source| Error::Map {
                    operation: "writing a path prefix into",
                    map: "sensitive_prefixes",
                    source,
                })?;
        }
        skel.attach().map_err(|source| Error::Attach {
            program: "files (syscalls/sys_enter_openat, _openat2, _open, _creat)",
            source,
        })?;
        Ok(Self { skel })
    }

    pub(crate) fn audit_maps(&self) -> (&dyn MapCore, &dyn MapCore) {
        (&self.skel.maps.audit_events, &self.skel.maps.events_lost)
    }
}
