//! `privileged_syscall` records from per-syscall tracepoints
//! (`src/bpf/privileged.bpf.c` attached to `syscalls/sys_enter_<name>` for each name
//! asked for), for containers whose runtime's seccomp filter does not report them.
//! Opt-in: each tracepoint puts every task of the host on the syscall tracing path.

use std::os::fd::BorrowedFd;
use std::path::Path;

use libbpf_rs::{Link, MapCore, TracepointCategory};

use crate::Error;
use crate::audit::{EventType, EventTypes};
use crate::files::require_tracefs;
use crate::skeletons::load_skeleton;
use crate::skeletons::privileged::{OpenPrivilegedSkel, PrivilegedSkel, PrivilegedSkelBuilder};

/// Where the syscall tracepoints are listed (`require_tracefs` checked it is there).
const TRACEFS_SYSCALLS: &str = "/sys/kernel/tracing/events/syscalls";

/// The tracepoint of syscall `name`: named after the kernel's SYSCALL_DEFINE, which
/// differs from the unistd name for a few (`umount2` is `sys_umount`).
fn tracepoint_name(name: &str) -> &str {
    match name {
        "umount2" => "umount",
        other => other,
    }
}

pub(crate) struct PrivilegedProbe {
    skel: PrivilegedSkel<'static>,
    _links: Vec<Link>,
}

impl PrivilegedProbe {
    /// Loads the program and attaches it to the entry tracepoint of each of
    /// `syscalls` (names as in `syscall_names`).
    pub(crate) fn load(watchlist: BorrowedFd<'_>, syscalls: &[String]) -> Result<Self, Error> {
        require_tracefs("privileged_syscall tracepoints")?;
        let events: EventTypes = [EventType::PrivilegedSyscall].into_iter().collect();
        let skel = load_skeleton!(
            PrivilegedSkelBuilder::default(),
            "privileged",
            Some(watchlist),
            OpenPrivilegedSkel<'_>,
            events = events
        )?;
        let mut links = Vec::new();
        for name in syscalls {
            let event = tracepoint_name(name);
            if !Path::new(TRACEFS_SYSCALLS)
                .join(format!("sys_enter_{event}"))
                .is_dir()
            {
                // Not built into this kernel (e.g. init_module without CONFIG_MODULES):
                // the syscall only returns ENOSYS, there is nothing to report.
                tracing::warn!(syscall = %name, "no tracepoint: this kernel lacks the syscall, not traced");
                continue;
            }
            let link = skel
                .progs
                .berth_privileged_syscall
                .attach_tracepoint(TracepointCategory::Syscalls, format!("sys_enter_{event}"))
                .map_err(|source| Error::AttachSyscall {
                    syscall: name.clone(),
                    source,
                })?;
            links.push(link);
        }
        Ok(Self {
            skel,
            _links: links,
        })
    }

    pub(crate) fn audit_maps(&self) -> (&dyn MapCore, &dyn MapCore) {
        (&self.skel.maps.audit_events, &self.skel.maps.events_lost)
    }
}
