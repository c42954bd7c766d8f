//! The audit stream: container security records as JSON lines, to a rotated file
//! (`--audit-log`) and to HTTP subscribers (`GET /events`).
//!
//! Three threads, none waiting on a consumer:
//! - `audit-ring` polls every BPF family's ring buffer ([`berth_ebpf::AuditStream`]);
//! - `audit-netlink` reads seccomp audit records ([`seccomp_log`]) and resolves each
//!   pid to its cgroup at once (the process may soon be gone);
//! - `audit-dispatch` attributes records to containers, writes the file, and queues
//!   lines for subscribers ([`subscribers`]).
//!
//! The two readers hand records to the dispatcher through a bounded queue; a record
//! that finds it full, or that the file refuses, is counted as lost by type
//! ([`Losses`], `berth_exporter_events_lost_total{type}` with the kernel's own ring
//! buffer losses). A record of a cgroup not yet discovered (a container created since
//! the last refresh) waits, in order, up to [`PENDING_FOR`] for the main loop to
//! rediscover ([`Audit::refresh_wanted`]), then goes out with or without a container.
//!
//! - [`policy`]: which types are on (`--audit-policy`);
//! - [`record`]: one line's shape;
//! - [`log_file`]: the rotated file;
//! - [`seccomp_log`]: the audit netlink reader;
//! - [`subscribers`]: `GET /events`.

pub mod log_file;
pub mod policy;
pub mod record;
pub mod seccomp_log;
pub mod subscribers;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, UNIX_EPOCH};

use berth_ebpf::syscall_names::syscall_name;
use berth_ebpf::{AuditEvent, EventDetail, EventType, Probes};

use self::log_file::{LogOptions, RotatingLog};
use self::policy::Policy;
use self::record::{Clock, ContainerInfo, ProcessInfo, Record, SyscallInfo};
use self::seccomp_log::{AuditSocket, Received, SeccompRecord};
use self::subscribers::Subscribers;
use crate::discovery::{Container, proc_cgroup};

/// Records between the readers and the dispatcher before new ones count as lost.
pub const QUEUE_RECORDS: usize = 64 * 1024;
/// How long a record of an undiscovered cgroup waits for discovery.
pub const PENDING_FOR: Duration = Duration::from_secs(2);
/// How long the ring buffer reader waits in one poll: the longest a record waits in
/// the ring (the programs wake the reader early only for a batch, see `audit.h`).
const RING_POLL: Duration = Duration::from_millis(50);

/// Records lost in user space, by type (the kernel counts its own).
#[derive(Debug, Default)]
pub struct Losses {
    by_type: [AtomicU64; EventType::ALL.len()],
}

impl Losses {
    fn count(&self, t: EventType) {
        if let Some(i) = EventType::ALL.iter().position(|x| *x == t) {
            self.by_type[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every type with its count.
    pub fn snapshot(&self) -> Vec<(EventType, u64)> {
        EventType::ALL
            .iter()
            .zip(&self.by_type)
            .map(|(t, n)| (*t, n.load(Ordering::Relaxed)))
            .collect()
    }
}

/// The containers records are attributed to: cgroup v2 id to identity, and the
/// cgroup v2 root (to resolve a pid's cgroup path to an id).
#[derive(Debug, Default)]
struct Identities {
    by_cgroup: HashMap<u64, ContainerInfo>,
    /// Containers no longer discovered, since when: kept for [`GONE_GRACE`], so the
    /// records of a container's last moments (read after `run` deleted its state) still
    /// carry its identity.
    gone: HashMap<u64, Instant>,
    /// When the identities were last replaced.
    updated: Option<Instant>,
}

/// How long a container's identity outlives its discovery.
const GONE_GRACE: Duration = Duration::from_secs(30);

/// A handle on the running stream.
pub struct Audit {
    /// User-space losses by type.
    pub losses: Arc<Losses>,
    /// The HTTP subscribers.
    pub subscribers: Arc<Subscribers>,
    identities: Arc<RwLock<Identities>>,
    refresh_wanted: Arc<AtomicBool>,
}

/// Why the stream could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `--audit-log` could not be opened.
    #[error("opening the audit log {path}: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// What opening it failed with.
        source: std::io::Error,
    },
    /// The BPF ring buffers could not be subscribed to.
    #[error("subscribing to the BPF audit records: {0}")]
    Ring(#[from] berth_ebpf::Error),
    /// The audit netlink socket could not be opened (CAP_AUDIT_READ needed).
    #[error(
        "subscribing to seccomp audit records (NETLINK_AUDIT group 1, needs CAP_AUDIT_READ; turn privileged_syscall off in the policy to run without): {0}"
    )]
    Netlink(std::io::Error),
    /// A thread could not be started.
    #[error("starting the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// An input of the dispatcher.
enum Input {
    Kernel(AuditEvent),
    /// A seccomp record with the cgroup path its pid had when it arrived.
    Seccomp(SeccompRecord, Option<PathBuf>),
}

impl Input {
    fn event_type(&self) -> EventType {
        match self {
            Input::Kernel(e) => e.event_type,
            Input::Seccomp(..) => EventType::PrivilegedSyscall,
        }
    }
}

impl Audit {
    /// Starts the stream of `probes`' records (the types `policy` has on were loaded
    /// into them) and of seccomp audit records, to `log` and to HTTP subscribers.
    pub fn start(
        probes: &Probes,
        policy: &Policy,
        log: Option<LogOptions>,
        cgroup2_root: &Path,
    ) -> Result<Self, AuditError> {
        let log = match log {
            Some(options) => {
                let path = options.path.clone();
                Some(
                    RotatingLog::open(options)
                        .map_err(|source| AuditError::Log { path, source })?,
                )
            }
            None => None,
        };
        let losses = Arc::new(Losses::default());
        let (queue, inputs) = mpsc::sync_channel::<Input>(QUEUE_RECORDS);

        let ring_queue = queue.clone();
        let ring_losses = Arc::clone(&losses);
        let mut ring = probes.audit_stream(move |event| {
            let t = event.event_type;
            if let Err(TrySendError::Full(_)) = ring_queue.try_send(Input::Kernel(event)) {
                ring_losses.count(t);
            }
        })?;
        std::thread::Builder::new()
            .name("audit-ring".into())
            .spawn(move || {
                loop {
                    if let Err(e) = ring.poll(RING_POLL) {
                        tracing::warn!("{e}");
                        std::thread::sleep(RING_POLL);
                    }
                }
            })
            .map_err(|e| AuditError::Thread("audit-ring", e))?;

        if policy.events.contains(EventType::PrivilegedSyscall) {
            let socket = AuditSocket::open().map_err(AuditError::Netlink)?;
            let netlink_losses = Arc::clone(&losses);
            let wanted = policy.privileged_syscalls.clone();
            std::thread::Builder::new()
                .name("audit-netlink".into())
                .spawn(move || read_seccomp(&socket, &wanted, &queue, &netlink_losses))
                .map_err(|e| AuditError::Thread("audit-netlink", e))?;
        }

        let audit = Self {
            losses,
            subscribers: Arc::new(Subscribers::default()),
            identities: Arc::new(RwLock::new(Identities::default())),
            refresh_wanted: Arc::new(AtomicBool::new(false)),
        };
        let dispatcher = Dispatcher {
            log,
            losses: Arc::clone(&audit.losses),
            subscribers: Arc::clone(&audit.subscribers),
            identities: Arc::clone(&audit.identities),
            refresh_wanted: Arc::clone(&audit.refresh_wanted),
            cgroup2_root: cgroup2_root.to_path_buf(),
            clock: Clock::new(),
            binaries: HashMap::new(),
            pid_cgroups: HashMap::new(),
            pending: VecDeque::new(),
            pending_cgroups: HashSet::new(),
            strangers: HashMap::new(),
        };
        std::thread::Builder::new()
            .name("audit-dispatch".into())
            .spawn(move || dispatcher.run(&inputs))
            .map_err(|e| AuditError::Thread("audit-dispatch", e))?;
        Ok(audit)
    }

    /// Replaces the identities records are attributed with (after each discovery).
    pub fn update_identities<'a>(&self, containers: impl Iterator<Item = &'a Container>) {
        let found: HashMap<u64, ContainerInfo> = containers
            .filter_map(|c| Some((c.cgroup_id()?, ContainerInfo::from(c))))
            .collect();
        let now = Instant::now();
        let mut ids = self.identities.write().unwrap_or_else(|e| e.into_inner());
        let ids = &mut *ids;
        for id in ids.by_cgroup.keys() {
            if !found.contains_key(id) {
                ids.gone.entry(*id).or_insert(now);
            }
        }
        ids.gone
            .retain(|id, since| !found.contains_key(id) && now.duration_since(*since) < GONE_GRACE);
        let kept: Vec<(u64, ContainerInfo)> = ids
            .gone
            .keys()
            .filter_map(|id| Some((*id, ids.by_cgroup.get(id)?.clone())))
            .collect();
        ids.by_cgroup = found;
        ids.by_cgroup.extend(kept);
        ids.updated = Some(now);
    }

    /// Whether the dispatcher holds records of a cgroup it does not know: the main loop
    /// should rediscover now (and call [`Audit::update_identities`]). Clears the wish.
    pub fn refresh_wanted(&self) -> bool {
        self.refresh_wanted.swap(false, Ordering::Relaxed)
    }
}

/// The `audit-netlink` thread: seccomp records of the wanted syscalls, with the
/// cgroup of their pid, to the dispatcher.
fn read_seccomp(
    socket: &AuditSocket,
    wanted: &[String],
    queue: &SyncSender<Input>,
    losses: &Losses,
) {
    loop {
        match socket.receive() {
            Ok(Received::Records(records)) => {
                for r in records {
                    let name = r.native.then(|| syscall_name(r.nr)).flatten();
                    if !name.is_some_and(|n| wanted.iter().any(|w| w == n)) {
                        continue;
                    }
                    let path = proc_cgroup::v2_path(r.pid).ok();
                    if let Err(TrySendError::Full(_)) = queue.try_send(Input::Seccomp(r, path)) {
                        losses.count(EventType::PrivilegedSyscall);
                    }
                }
            }
            Ok(Received::Overflow) => {
                tracing::warn!("the audit netlink socket overflowed: seccomp records lost");
                losses.count(EventType::PrivilegedSyscall);
            }
            Err(e) => {
                tracing::warn!("reading seccomp audit records: {e}");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// The file `pid` executed as `filename`: a re-exec of itself (`/proc/self/exe`, as
/// busybox's shell runs its applets) or of an fd (`fexecve`) resolved through
/// `/proc/<pid>/exe` while the process lives.
fn executed_file(pid: u32, filename: &str) -> String {
    if (filename.starts_with("/proc/") || filename.starts_with("/dev/fd/"))
        && let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe"))
    {
        return exe.display().to_string();
    }
    filename.to_string()
}

/// A record waiting for its cgroup to be discovered.
struct Pending {
    since: Instant,
    cgroup_id: u64,
    input: Input,
}

struct Dispatcher {
    log: Option<RotatingLog>,
    losses: Arc<Losses>,
    subscribers: Arc<Subscribers>,
    identities: Arc<RwLock<Identities>>,
    refresh_wanted: Arc<AtomicBool>,
    cgroup2_root: PathBuf,
    clock: Clock,
    /// The file each pid last executed (for records other than exec).
    binaries: HashMap<u32, String>,
    /// The cgroup each pid was last seen in by the kernel side.
    pid_cgroups: HashMap<u32, u64>,
    pending: VecDeque<Pending>,
    /// The cgroup ids among `pending` (what [`Dispatcher::accept`] asks of every record:
    /// a scan of `pending` there made a storm of records that wait quadratic).
    pending_cgroups: HashSet<u64>,
    /// cgroups a discovery did not find (containers of state roots not watched here),
    /// since when: their records go out at once, without asking for discovery again,
    /// until the next discovery (at most [`STRANGER_FOR`]).
    strangers: HashMap<u64, Instant>,
}

/// How long a cgroup that discovery did not find is taken as no container's.
const STRANGER_FOR: Duration = Duration::from_secs(5);

/// Bound of the per-pid caches (pids whose exit was missed are forgotten this way).
const PID_CACHE: usize = 64 * 1024;

impl Dispatcher {
    fn run(mut self, inputs: &Receiver<Input>) {
        loop {
            match inputs.recv_timeout(Duration::from_millis(100)) {
                Ok(input) => {
                    self.accept(input);
                    for input in inputs.try_iter().take(4096) {
                        self.accept(input);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.release_pending();
            if let Some(Err(e)) = self.log.as_mut().map(RotatingLog::flush) {
                tracing::warn!("writing the audit log: {e}");
            }
        }
    }

    /// The cgroup id an input is attributed to (0: none found).
    fn cgroup_of(&self, input: &Input) -> u64 {
        match input {
            Input::Kernel(e) => e.task.cgroup_id,
            Input::Seccomp(r, path) => path
                .as_ref()
                .and_then(|p| {
                    berth_cgroups::cgroup_id(&proc_cgroup::join(&self.cgroup2_root, p)).ok()
                })
                .or_else(|| self.pid_cgroups.get(&r.pid).copied())
                .unwrap_or(0),
        }
    }

    fn accept(&mut self, input: Input) {
        if let Input::Kernel(e) = &input {
            if self.pid_cgroups.len() >= PID_CACHE {
                self.pid_cgroups.clear();
            }
            self.pid_cgroups.insert(e.task.pid, e.task.cgroup_id);
        }
        let cgroup_id = self.cgroup_of(&input);
        let known = self.container_of(cgroup_id, &input).is_some() || self.stranger(cgroup_id);
        // Keep a cgroup's records in order: behind any of its own that wait.
        if !known || self.pending_cgroups.contains(&cgroup_id) {
            self.refresh_wanted.store(true, Ordering::Relaxed);
            self.pending_cgroups.insert(cgroup_id);
            self.pending.push_back(Pending {
                since: Instant::now(),
                cgroup_id,
                input,
            });
            return;
        }
        self.emit(input, cgroup_id);
    }

    /// Whether the last discovery did not find `cgroup_id` (it was marked a stranger
    /// after that discovery; a later one, e.g. after its container's state was written,
    /// is asked again).
    fn stranger(&self, cgroup_id: u64) -> bool {
        let updated = self
            .identities
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .updated;
        self.strangers.get(&cgroup_id).is_some_and(|since| {
            updated.is_none_or(|u| *since >= u) && since.elapsed() < STRANGER_FOR
        })
    }

    /// The identity of `cgroup_id`, or of the container holding the seccomp record's
    /// cgroup path (a cgroup below a container's).
    fn container_of(&self, cgroup_id: u64, input: &Input) -> Option<ContainerInfo> {
        let ids = self.identities.read().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = ids.by_cgroup.get(&cgroup_id) {
            return Some(c.clone());
        }
        if let Input::Seccomp(_, Some(path)) = input {
            let mut dir = proc_cgroup::join(&self.cgroup2_root, path);
            while dir.pop() && dir.starts_with(&self.cgroup2_root) && dir != self.cgroup2_root {
                if let Some(c) = berth_cgroups::cgroup_id(&dir)
                    .ok()
                    .and_then(|id| ids.by_cgroup.get(&id))
                {
                    return Some(c.clone());
                }
            }
        }
        None
    }

    /// Emits the waiting records whose cgroup is now known, or that a later discovery
    /// did not find, or that waited [`PENDING_FOR`], in order per cgroup.
    fn release_pending(&mut self) {
        let updated = self
            .identities
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .updated;
        let mut waiting = VecDeque::new();
        let mut held: HashSet<u64> = HashSet::new();
        while let Some(mut p) = self.pending.pop_front() {
            if p.cgroup_id == 0 {
                // A seccomp record whose process was gone: its exec record may have
                // told its cgroup since.
                p.cgroup_id = self.cgroup_of(&p.input);
            }
            let known = self.container_of(p.cgroup_id, &p.input).is_some();
            // A discovery that ran after it arrived did not find it: no container owns
            // it (yet), so it goes out without one.
            let rediscovered = updated.is_some_and(|u| u > p.since);
            let expired = p.since.elapsed() >= PENDING_FOR;
            if !held.contains(&p.cgroup_id) && (known || rediscovered || expired) {
                if !known && p.cgroup_id != 0 {
                    self.strangers.insert(p.cgroup_id, Instant::now());
                }
                self.emit(p.input, p.cgroup_id);
            } else {
                held.insert(p.cgroup_id);
                waiting.push_back(p);
            }
        }
        self.pending = waiting;
        self.pending_cgroups = held;
        self.strangers
            .retain(|_, since| since.elapsed() < STRANGER_FOR);
        if !self.pending.is_empty() {
            self.refresh_wanted.store(true, Ordering::Relaxed);
        }
    }

    fn emit(&mut self, input: Input, cgroup_id: u64) {
        let container = self.container_of(cgroup_id, &input);
        let event_type = input.event_type();
        let record = match input {
            Input::Kernel(event) => {
                // berth-runtime containers report privileged syscalls through seccomp.
                if event.event_type == EventType::PrivilegedSyscall
                    && container.as_ref().is_some_and(|c| c.runtime == "berth")
                {
                    return;
                }
                let pid = event.task.pid;
                let (binary, cwd) = match &event.detail {
                    EventDetail::Exec { filename, .. } => {
                        if self.binaries.len() >= PID_CACHE {
                            self.binaries.clear();
                        }
                        let binary = executed_file(pid, filename);
                        self.binaries.insert(pid, binary.clone());
                        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
                            .ok()
                            .map(|p| p.display().to_string());
                        (Some(binary), cwd)
                    }
                    // The pid's cgroup and binary stay known after its exit: its seccomp
                    // records come through kauditd, often after the exit record.
                    EventDetail::Exit { .. } => (self.binaries.get(&pid).cloned(), None),
                    _ => (self.binaries.get(&pid).cloned(), None),
                };
                let mut record = record::from_kernel(&event, None, &self.clock, binary, cwd);
                record.container = container;
                record
            }
            Input::Seccomp(r, _) => {
                if container.is_none() {
                    // Not a container's process: outside the stream's scope.
                    return;
                }
                self.seccomp_record(r, cgroup_id, container)
            }
        };
        let mut line = match serde_json::to_string(&record) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!("encoding an audit record: {e}");
                self.losses.count(event_type);
                return;
            }
        };
        line.push('\n');
        if let Some(Err(e)) = self.log.as_mut().map(|log| log.append(line.as_bytes())) {
            tracing::warn!("writing the audit log: {e}");
            self.losses.count(event_type);
        }
        if !self.subscribers.is_empty() {
            self.subscribers.publish(&record, &Arc::from(line));
        }
    }

    fn seccomp_record(
        &self,
        r: SeccompRecord,
        cgroup_id: u64,
        container: Option<ContainerInfo>,
    ) -> Record {
        let time = r
            .time
            .map(|s| UNIX_EPOCH + Duration::from_secs_f64(s))
            .unwrap_or_else(std::time::SystemTime::now);
        Record {
            time: berth_state::Timestamp::from(time),
            event_type: EventType::PrivilegedSyscall.name(),
            container,
            cgroup_id,
            process: ProcessInfo {
                pid: r.pid,
                uid: r.uid,
                binary: r.exe.clone().or_else(|| self.binaries.get(&r.pid).cloned()),
                comm: r.comm.clone(),
                ..ProcessInfo::default()
            },
            exit: None,
            network: None,
            file: None,
            syscall: Some(SyscallInfo {
                name: syscall_name(r.nr).unwrap_or("unknown").to_string(),
                nr: r.nr,
                denied: r.denied(),
                action: Some(r.action),
                source: "seccomp",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_ebpf::{EventDetail, EventTask};

    fn dispatcher() -> Dispatcher {
        Dispatcher {
            log: None,
            losses: Arc::new(Losses::default()),
            subscribers: Arc::new(Subscribers::default()),
            identities: Arc::new(RwLock::new(Identities::default())),
            refresh_wanted: Arc::new(AtomicBool::new(false)),
            cgroup2_root: PathBuf::from("/nonexistent-cgroup2"),
            clock: Clock::new(),
            binaries: HashMap::new(),
            pid_cgroups: HashMap::new(),
            pending: VecDeque::new(),
            pending_cgroups: HashSet::new(),
            strangers: HashMap::new(),
        }
    }

    fn exit_of(pid: u32, cgroup_id: u64) -> Input {
        Input::Kernel(AuditEvent {
            event_type: EventType::ProcessExit,
            task: EventTask {
                timestamp_ns: 0,
                cgroup_id,
                pid,
                ppid: 1,
                uid: 0,
                comm: "true".into(),
            },
            detail: EventDetail::Exit {
                status: 0,
                duration_ns: 1,
            },
        })
    }

    #[test]
    fn records_of_known_cgroups_pass_a_storm_waiting_for_discovery_in_linear_time() {
        let mut d = dispatcher();
        // A new container's first 200,000 records before any discovery: all wait.
        for pid in 0..200_000 {
            d.accept(exit_of(pid, 7));
        }
        d.release_pending();
        assert_eq!(d.pending.len(), 200_000);
        // Meanwhile a known cgroup (here one discovery did not find) sends 100,000: they go
        // out at once, each checked against the waiting ones (a scan of them per record
        // was 2e10 compares, ~20 s here).
        d.strangers.insert(8, Instant::now());
        let started = Instant::now();
        for pid in 0..100_000 {
            d.accept(exit_of(pid, 8));
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(d.pending.len(), 200_000);
        // The waiting ones keep their order.
        let pids: Vec<u32> = d
            .pending
            .iter()
            .map(|p| match &p.input {
                Input::Kernel(e) => e.task.pid,
                Input::Seccomp(r, _) => r.pid,
            })
            .collect();
        assert!(pids.windows(2).all(|w| w[0] < w[1]));
    }
}
