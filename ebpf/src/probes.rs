//! [`Probes`]: every BPF program family loaded, attached and sharing one watch list.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::audit::{self, AuditEvent, AuditStream, EventType, EventTypes};
use crate::files::FileProbe;
use crate::net::{NetCounts, NetProbe};
use crate::oom::OomProbe;
use crate::privileged::PrivilegedProbe;
use crate::process::{ProcessCounts, ProcessProbe};
use crate::signals::SignalProbe;
use crate::sockets::SocketProbe;
use crate::syscalls::{SyscallCounting, SyscallProbe, SyscallStats};
use crate::watchlist::{self, WatchKind};

/// How to load the probes.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Where to attach the network programs: the root of the cgroup v2 hierarchy
    /// (`berth_cgroups::cgroup2_root()` finds it).
    pub cgroup2_root: PathBuf,
    /// Allow syscall counting. Even then the `sys_enter`/`sys_exit` programs are
    /// attached only while [`Probes::count_syscalls_of`] has given at least one cgroup
    /// a slot: while attached, every syscall of the host runs them (see bench/metrics).
    /// `false`: never attached. On by default.
    pub syscalls: bool,
    /// Count failed syscalls too (attaches `sys_exit` with `sys_enter`, which roughly
    /// doubles the fixed cost per syscall). On by default; needs `syscalls`.
    pub syscall_errors: bool,
    /// Which audit records the kernel side sends, and their settings.
    pub audit: AuditOptions,
}

/// The kernel side of the audit stream.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// The record types sent (others cost no ring buffer space, nor code: the
    /// programs are loaded without them).
    pub events: EventTypes,
    /// `sensitive_open`: absolute path prefixes (at most [`crate::files::MAX_PREFIXES`],
    /// each at most [`crate::files::MAX_PREFIX_LEN`] bytes). The open tracepoints are
    /// attached only when `events` has `sensitive_open`.
    pub sensitive_prefixes: Vec<String>,
    /// `privileged_syscall` through per-syscall tracepoints (for other runtimes'
    /// containers): the syscalls to attach to; empty: none attached.
    pub privileged_tracepoints: Vec<String>,
}

impl ProbeOptions {
    /// Everything on, network programs attached at `cgroup2_root`.
    pub fn new(cgroup2_root: PathBuf) -> Self {
        Self {
            cgroup2_root,
            syscalls: true,
            syscall_errors: true,
            audit: AuditOptions::default(),
        }
    }
}

/// The loaded programs. Dropping it detaches and unloads them.
pub struct Probes {
    syscalls: SyscallProbe,
    process: ProcessProbe,
    net: NetProbe,
    oom: OomProbe,
    signals: SignalProbe,
    sockets: SocketProbe,
    files: Option<FileProbe>,
    privileged: Option<PrivilegedProbe>,
}

impl Probes {
    /// Loads and attaches every family (needs root: CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN).
    pub fn load(options: &ProbeOptions) -> Result<Self, Error> {
        let cgroup2_root = &options.cgroup2_root;
        let syscalls = SyscallProbe::load(options.syscalls, options.syscall_errors)?;
        let shared = syscalls.watchlist_fd();
        let events = options.audit.events;
        let process = ProcessProbe::load(shared, events)?;
        let net = NetProbe::load(shared, cgroup2_root)?;
        let oom = OomProbe::load(shared)?;
        let signals = SignalProbe::load(shared)?;
        let sockets = SocketProbe::load(shared, events)?;
        let files = if events.contains(EventType::SensitiveOpen) {
            Some(FileProbe::load(shared, &options.audit.sensitive_prefixes)?)
        } else {
            None
        };
        let privileged = if events.contains(EventType::PrivilegedSyscall)
            && !options.audit.privileged_tracepoints.is_empty()
        {
            Some(PrivilegedProbe::load(
                shared,
                &options.audit.privileged_tracepoints,
            )?)
        } else {
            None
        };
        tracing::debug!(cgroup2_root = %cgroup2_root.display(), "BPF probes loaded and attached");
        Ok(Self {
            syscalls,
            process,
            net,
            oom,
            signals,
            sockets,
            files,
            privileged,
        })
    }

    /// Starts counting the cgroup with v2 id `cgroup_id`.
    pub fn watch(&self, cgroup_id: u64, kind: WatchKind) -> Result<(), Error> {
        watchlist::insert(self.syscalls.watchlist(), cgroup_id, kind)
    }

    /// Stops counting `cgroup_id` (its counters stay until [`Probes::prune`]).
    pub fn unwatch(&self, cgroup_id: u64) -> Result<(), Error> {
        watchlist::remove(self.syscalls.watchlist(), cgroup_id)
    }

    /// The watch list.
    pub fn watched(&self) -> Result<HashMap<u64, WatchKind>, Error> {
        watchlist::list(self.syscalls.watchlist())
    }

    /// Counts the syscalls of exactly `cgroups` (v2 ids; tasks in these cgroups
    /// themselves, not below): a cgroup new to the set starts at zero, one left out
    /// loses its counts. Attaches the syscall programs when the set is not empty,
    /// detaches them when it is. Cgroups beyond the slots (a few hundred, fewer on
    /// hosts with many CPUs) are returned as refused, not counted; with
    /// [`ProbeOptions::syscalls`] off every one is.
    pub fn count_syscalls_of(&self, cgroups: &BTreeSet<u64>) -> Result<SyscallCounting, Error> {
        self.syscalls.count_only(cgroups)
    }

    /// Whether the syscall programs are attached now.
    pub fn syscalls_attached(&self) -> bool {
        self.syscalls.attached()
    }

    /// Syscalls per cgroup id, of the cgroups counted (see [`Probes::count_syscalls_of`]).
    pub fn syscall_stats(&self) -> Result<HashMap<u64, SyscallStats>, Error> {
        self.syscalls.stats()
    }

    /// Execs, forks and exits per cgroup id.
    pub fn process_counts(&self) -> Result<HashMap<u64, ProcessCounts>, Error> {
        self.process.counts()
    }

    /// Network traffic per cgroup id.
    pub fn net_counts(&self) -> Result<HashMap<u64, NetCounts>, Error> {
        self.net.counts()
    }

    /// OOM kills per cgroup id.
    pub fn oom_kills(&self) -> Result<HashMap<u64, u64>, Error> {
        self.oom.kills()
    }

    /// Signals delivered per cgroup id, by signal number.
    pub fn signals_delivered(&self) -> Result<HashMap<u64, BTreeMap<u32, u64>>, Error> {
        self.signals.delivered()
    }

    /// A subscription to every family's audit records: each decoded record goes to
    /// `sink` while the stream is polled (from any thread).
    pub fn audit_stream(
        &self,
        sink: impl FnMut(AuditEvent) + Send + Clone + 'static,
    ) -> Result<AuditStream, Error> {
        let rings: Vec<(&'static str, &dyn libbpf_rs::MapCore)> = self
            .audit_families()
            .into_iter()
            .map(|(name, ring, _)| (name, ring))
            .collect();
        AuditStream::new(&rings, sink)
    }

    /// Audit records the kernel could not queue (ring buffer full), by type.
    pub fn events_lost(&self) -> Result<BTreeMap<EventType, u64>, Error> {
        let mut lost = BTreeMap::new();
        for (_, _, counters) in self.audit_families() {
            audit::add_lost(counters, &mut lost)?;
        }
        Ok(lost)
    }

    /// Attaches the socket programs (network_connect/listen) to each of `subtrees`
    /// (cgroup v2 id, directory), detaching them from subtrees no longer listed.
    pub fn attach_socket_subtrees(&self, subtrees: &[(u64, &Path)]) -> Result<(), Error> {
        self.sockets.attach_subtrees(subtrees)
    }

    /// (name, ring buffer, loss counters) of every family that sends records.
    fn audit_families(
        &self,
    ) -> Vec<(
        &'static str,
        &dyn libbpf_rs::MapCore,
        &dyn libbpf_rs::MapCore,
    )> {
        let mut families = Vec::new();
        let (ring, lost) = self.process.audit_maps();
        families.push(("process audit_events", ring, lost));
        let (ring, lost) = self.sockets.audit_maps();
        families.push(("sockets audit_events", ring, lost));
        if let Some(files) = &self.files {
            let (ring, lost) = files.audit_maps();
            families.push(("files audit_events", ring, lost));
        }
        if let Some(privileged) = &self.privileged {
            let (ring, lost) = privileged.audit_maps();
            families.push(("privileged audit_events", ring, lost));
        }
        families
    }

    /// Deletes the counters of every cgroup `keep` rejects (removed containers; their
    /// syscalls are no longer counted). Returns how many map entries were deleted.
    pub fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        Ok(self.syscalls.prune(keep)?
            + self.process.prune(keep)?
            + self.net.prune(keep)?
            + self.oom.prune(keep)?
            + self.signals.prune(keep)?)
    }

    /// How many entries each map holds, by map name.
    pub fn map_entries(&self) -> Vec<(&'static str, usize)> {
        let mut entries = Vec::new();
        entries.extend(self.syscalls.entry_counts());
        entries.extend(self.process.entry_counts());
        entries.extend(self.net.entry_counts());
        entries.extend(self.oom.entry_counts());
        entries.extend(self.signals.entry_counts());
        entries
    }
}
