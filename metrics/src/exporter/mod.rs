//! [`Exporter`]: discovery, the BPF watch list, and one scrape's exposition.
//!
//! A scrape reads straight through: rediscover containers ([`Exporter::refresh`]),
//! read their cgroups and the BPF maps (the kernel side), turn those [`Readings`] into
//! families ([`record`], no kernel), encode them. Every scrape rediscovers containers,
//! so series of a removed container vanish on the next scrape. Failures (a state dir,
//! a state file, a cgroup, a map) are logged, counted in
//! `berth_exporter_errors_total{operation}`, and never fail the scrape.
//!
//! - [`index`]: the containers of the last discovery, by cgroup v2 id;
//! - `watchlist`: the BPF watch list kept in line with them, syscall counting for those
//!   that opted in ([`SyscallMode`]), counters of gone cgroups pruned;
//! - [`cgroup_collector`]: cgroup files to the cAdvisor-compatible series;
//! - [`bpf_collector`]: BPF maps to the `berth_container_*`, network and OOM series;
//! - `labels`: the labels a container's series carry;
//! - [`error_counts`]: errors by operation, across scrapes.

pub mod bpf_collector;
pub mod cgroup_collector;
pub mod error_counts;
pub mod index;
mod labels;
mod watchlist;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use berth_ebpf::Probes;

use self::bpf_collector::BpfReadings;
use self::cgroup_collector::CgroupReading;
use self::error_counts::{ErrorCounts, Operation};
use self::index::ContainerIndex;
pub use self::watchlist::SyscallMode;
use self::watchlist::WatchList;
use crate::audit::Losses;
use crate::discovery::{self, Container, DiscoveryOptions, StateDir};
use crate::exposition::{self, Format};
use crate::families::{Families, label};

/// What the exporter watches and how it labels.
#[derive(Debug, Clone)]
pub struct ExporterOptions {
    /// Runtime state directories to discover containers in.
    pub state_dirs: Vec<StateDir>,
    /// Label `berth_container_syscalls_total` by syscall (cardinality: ~ 100 per container).
    pub per_syscall_labels: bool,
    /// Annotations exported as `container_label_*`.
    pub label_allowlist: Vec<String>,
    /// Mount point of the cgroup v2 hierarchy.
    pub cgroup2_root: PathBuf,
    /// Parents of containers (relative to `cgroup2_root`, e.g. `berth`) watched as
    /// subtrees, so containers below them are counted before they are discovered.
    pub watch_subtrees: Vec<PathBuf>,
    /// Which containers have their syscalls counted (the `sys_enter`/`sys_exit`
    /// programs are attached only while one does).
    pub syscalls: SyscallMode,
}

/// Discovery, BPF probes (when loaded), and error counts across scrapes.
pub struct Exporter {
    options: ExporterOptions,
    probes: Option<Probes>,
    errors: ErrorCounts,
    /// The containers of the last refresh.
    index: ContainerIndex,
    watchlist: WatchList,
    /// When the BPF watch list was first in place (seconds since the epoch): BPF
    /// counts of containers created earlier miss their start.
    counting_since: Option<f64>,
    /// The audit stream's user-space losses, when the stream runs.
    audit_losses: Option<Arc<Losses>>,
}

impl Exporter {
    /// An exporter discovering containers as `options` say; without `probes` (not
    /// loaded, `--no-bpf`) it serves cgroup series only.
    pub fn new(options: ExporterOptions, probes: Option<Probes>) -> Self {
        Self {
            options,
            probes,
            errors: ErrorCounts::default(),
            index: ContainerIndex::default(),
            watchlist: WatchList::default(),
            counting_since: None,
            audit_losses: None,
        }
    }

    /// Counts `losses` (the audit stream's, in user space) with the kernel's in
    /// `berth_exporter_events_lost_total`.
    pub fn set_audit_losses(&mut self, losses: Arc<Losses>) {
        self.audit_losses = Some(losses);
    }

    /// What the exporter watches and how it labels and counts.
    pub fn options(&self) -> &ExporterOptions {
        &self.options
    }

    /// Every container of the last refresh.
    pub fn containers(&self) -> impl Iterator<Item = &Container> {
        self.index.all()
    }

    /// Since when (seconds since the epoch) the BPF watch list has been in place;
    /// None without probes or before the first refresh that synced it.
    pub fn counting_since(&self) -> Option<f64> {
        self.counting_since
    }

    /// The loaded BPF probes, if any.
    pub fn probes(&self) -> Option<&Probes> {
        self.probes.as_ref()
    }

    /// The container with cgroup v2 id `cgroup_id`, as of the last refresh.
    pub fn container(&self, cgroup_id: u64) -> Option<&Container> {
        self.index.get(cgroup_id)
    }

    /// Rediscovers containers, then brings the BPF watch list in line with them and
    /// deletes the counters of cgroups that are gone.
    pub fn refresh(&mut self) {
        let options = DiscoveryOptions {
            label_allowlist: self.options.label_allowlist.clone(),
            cgroup2_root: self.options.cgroup2_root.clone(),
        };
        let found = discovery::discover(&self.options.state_dirs, &options);
        for error in &found.errors {
            self.errors.count(Operation::Discovery, error);
        }
        self.index = ContainerIndex::new(found.containers);
        self.watchlist.remember(&self.index);
        if let Some(probes) = &self.probes {
            let synced = self.watchlist.sync(
                probes,
                &self.index,
                &self.options.cgroup2_root,
                &self.options.watch_subtrees,
                self.options.syscalls,
            );
            match synced {
                Ok(()) => {
                    let now = crate::seccomp_advice::now_epoch();
                    self.counting_since.get_or_insert(now);
                }
                Err(e) => self.errors.count(Operation::Bpf, &e),
            }
        }
    }

    /// Refreshes, reads, and encodes one exposition.
    pub fn scrape(&mut self, format: Format) -> String {
        let started = Instant::now();
        self.refresh();
        let refreshed = started.elapsed();

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let containers: Vec<&Container> = self.index.all().collect();
        let (cgroups, failures) = cgroup_collector::read_all(&containers);
        for failure in &failures {
            self.errors.count(Operation::CgroupStats, failure);
        }
        let cgroups_read = started.elapsed();

        let bpf = self.probes.as_ref().map(|probes| {
            let (mut readings, failures) = BpfReadings::read(probes);
            for failure in &failures {
                self.errors.count(Operation::Bpf, failure);
            }
            if let Some(losses) = &self.audit_losses {
                for (t, n) in losses.snapshot() {
                    *readings.events_lost.entry(t.name()).or_default() += n;
                }
            }
            readings
        });
        let bpf_read = started.elapsed();

        let families = Families::new();
        let readings = Readings { now, cgroups, bpf };
        record(
            &families,
            &readings,
            &self.index,
            self.options.per_syscall_labels,
            &self.errors,
        );
        families
            .scrape_duration
            .set(started.elapsed().as_secs_f64());
        let text = exposition::encode(&families, format);
        tracing::debug!(
            containers = self.index.len(),
            refresh_ms = refreshed.as_secs_f64() * 1e3,
            cgroups_ms = (cgroups_read - refreshed).as_secs_f64() * 1e3,
            bpf_ms = (bpf_read - cgroups_read).as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "scrape"
        );
        text
    }
}

/// What one scrape read from the kernel: the input of [`record`].
#[derive(Debug, Clone)]
pub struct Readings<'a> {
    /// When the scrape ran, seconds since the Unix epoch (`container_last_seen`).
    pub now: f64,
    /// Every container with its cgroup reading (`None`: its stats were unreadable, so
    /// it has no series but counts in `berth_exporter_containers`).
    pub cgroups: Vec<(&'a Container, Option<CgroupReading>)>,
    /// The BPF maps, when the probes are loaded.
    pub bpf: Option<BpfReadings>,
}

/// Turns `readings` into the series of one scrape in `f` (all but the scrape's
/// duration): cgroup series, then BPF series of `index`'s containers, then the
/// exporter's health with `errors`. Needs no kernel.
pub fn record(
    f: &Families,
    readings: &Readings<'_>,
    index: &ContainerIndex,
    per_syscall_labels: bool,
    errors: &ErrorCounts,
) {
    let mut runtimes: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (c, reading) in &readings.cgroups {
        *runtimes.entry(c.runtime).or_default() += 1;
        if let Some(reading) = reading {
            cgroup_collector::record(f, c, reading, readings.now);
        }
    }
    for (runtime, n) in runtimes {
        f.containers
            .get_or_create(&vec![label("runtime", runtime)])
            .set(n as f64);
    }
    if let Some(bpf) = &readings.bpf {
        bpf_collector::record(f, bpf, index, per_syscall_labels);
    }
    errors.record(f);
}
