//! [`Exporter`]: discovery, the BPF watch list, and one scrape's exposition.
//!
//! Every scrape rediscovers containers, so series of a removed container vanish on the
//! next scrape. Failures (a state dir, a state file, a cgroup, a map) are logged,
//! counted in `berth_exporter_errors_total{operation}`, and never fail the scrape.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use berth_ebpf::{Probes, WatchKind};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::discovery::{self, Container, DiscoveryOptions, StateDir};
use crate::exposition::{self, Format};
use crate::families::{Families, Labels, label};

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
}

/// The operations whose errors are counted.
const OPERATIONS: &[&str] = &["discovery", "cgroup_stats", "bpf"];

/// Discovery, BPF probes (when loaded), and error counts across scrapes.
pub struct Exporter {
    options: ExporterOptions,
    probes: Option<Probes>,
    errors: BTreeMap<&'static str, u64>,
    /// cgroup id to container, from the last refresh.
    containers: HashMap<u64, Container>,
    /// cgroup v2 directory of every container seen, until that directory is gone: a
    /// container missing from one discovery (state file being rewritten) keeps its
    /// BPF counters while its cgroup exists.
    seen_cgroups: HashMap<u64, PathBuf>,
    /// Containers without a cgroup v2 id (no BPF counters), from the last refresh.
    unkeyed: Vec<Container>,
}

impl Exporter {
    pub fn new(options: ExporterOptions, probes: Option<Probes>) -> Self {
        Self {
            options,
            probes,
            errors: OPERATIONS.iter().map(|op| (*op, 0)).collect(),
            containers: HashMap::new(),
            unkeyed: Vec::new(),
            seen_cgroups: HashMap::new(),
        }
    }

    pub fn probes(&self) -> Option<&Probes> {
        self.probes.as_ref()
    }

    /// The container with cgroup v2 id `cgroup_id`, as of the last refresh.
    pub fn container(&self, cgroup_id: u64) -> Option<&Container> {
        self.containers.get(&cgroup_id)
    }

    fn count_error(&mut self, operation: &'static str, error: &dyn std::fmt::Display) {
        tracing::warn!(operation, "{error}");
        *self.errors.entry(operation).or_default() += 1;
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
            self.count_error("discovery", error);
        }
        self.containers.clear();
        self.unkeyed.clear();
        for container in found.containers {
            match container.cgroup_id() {
                Some(id) => {
                    self.containers.insert(id, container);
                }
                None => self.unkeyed.push(container),
            }
        }
        for (id, container) in &self.containers {
            if let Some(dir) = &container.cgroup.v2_dir {
                self.seen_cgroups.insert(*id, dir.clone());
            }
        }
        self.seen_cgroups.retain(|_, dir| dir.is_dir());
        if let Err(e) = self.sync_watchlist() {
            self.count_error("bpf", &e);
        }
    }

    fn sync_watchlist(&self) -> Result<(), berth_ebpf::Error> {
        let Some(probes) = &self.probes else {
            return Ok(());
        };
        let mut wanted: HashMap<u64, WatchKind> = self
            .containers
            .keys()
            .chain(self.seen_cgroups.keys())
            .map(|id| (*id, WatchKind::Container))
            .collect();
        // cgroups that exist below watched subtrees: counted, and kept until removed.
        let mut alive: HashSet<u64> = wanted.keys().copied().collect();
        for subtree in &self.options.watch_subtrees {
            let dir = self.options.cgroup2_root.join(subtree);
            let Ok(id) = berth_ebpf::cgroup2::cgroup_id(&dir) else {
                continue;
            };
            wanted.entry(id).or_insert(WatchKind::Subtree);
            // Containers are the subtree's children; deeper cgroups count under them.
            collect_cgroup_ids(&dir, 1, &mut alive);
        }
        let watched = probes.watched()?;
        for (id, kind) in &wanted {
            if watched.get(id) != Some(kind) {
                probes.watch(*id, *kind)?;
            }
        }
        for id in watched.keys().filter(|id| !wanted.contains_key(id)) {
            probes.unwatch(*id)?;
        }
        let deleted = probes.prune(&|id| alive.contains(&id))?;
        if deleted > 0 {
            tracing::debug!(deleted, "deleted BPF counters of removed cgroups");
        }
        Ok(())
    }

    /// Refreshes and encodes one exposition.
    pub fn scrape(&mut self, format: Format) -> String {
        let started = Instant::now();
        self.refresh();
        let refreshed = started.elapsed();
        let families = Families::new();
        self.collect_cgroups(&families);
        let cgroups_read = started.elapsed();
        self.collect_bpf(&families);
        let bpf_read = started.elapsed();
        self.collect_health(&families);
        families
            .scrape_duration
            .set(started.elapsed().as_secs_f64());

        let mut registry = Registry::default();
        families.register(&mut registry);
        registry.register(
            "berth_exporter_build",
            "berth-exporter version",
            Info::new(vec![label("version", env!("CARGO_PKG_VERSION"))]),
        );
        let mut openmetrics = String::new();
        if let Err(e) = encode(&mut openmetrics, &registry) {
            // Writing into a String fails only on a formatting bug.
            tracing::error!("encoding the exposition: {e}");
        }
        let text = match format {
            Format::OpenMetrics => openmetrics,
            Format::Prometheus => exposition::openmetrics_to_prometheus(&openmetrics),
        };
        tracing::debug!(
            containers = self.containers.len() + self.unkeyed.len(),
            refresh_ms = refreshed.as_secs_f64() * 1e3,
            cgroups_ms = (cgroups_read - refreshed).as_secs_f64() * 1e3,
            bpf_ms = (bpf_read - cgroups_read).as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "scrape"
        );
        text
    }

    fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.containers.values().chain(self.unkeyed.iter())
    }

    /// Reads every container's cgroup files, spread over a few threads: on a v1
    /// host `memory.stat` alone costs the kernel a statistics flush per container.
    fn collect_cgroups(&mut self, f: &Families) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let containers: Vec<&Container> = self.all_containers().collect();
        let mut runtimes: BTreeMap<&'static str, u64> = BTreeMap::new();
        for c in &containers {
            *runtimes.entry(c.runtime).or_default() += 1;
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_COLLECTOR_THREADS);
        let chunk = containers.len().div_ceil(workers).max(1);
        let failures: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = containers
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut failures = Vec::new();
                        for c in part {
                            collect_container_cgroups(c, f, now, &mut failures);
                        }
                        failures
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec!["a cgroup collector thread panicked".to_string()])
                })
                .collect()
        });
        for (runtime, n) in runtimes {
            f.containers
                .get_or_create(&vec![label("runtime", runtime)])
                .set(n as f64);
        }
        for failure in failures {
            self.count_error("cgroup_stats", &failure);
        }
    }

    fn collect_bpf(&mut self, f: &Families) {
        let Some(probes) = &self.probes else {
            return;
        };
        let mut failures: Vec<berth_ebpf::Error> = Vec::new();
        let by_container = |id: &u64| self.containers.get(id);
        match probes.syscall_stats() {
            Ok(stats) => {
                for (id, s) in &stats {
                    let Some(c) = by_container(id) else { continue };
                    let labels = container_labels(c);
                    if self.options.per_syscall_labels {
                        for (nr, n) in &s.by_number {
                            let mut l = labels.clone();
                            let name = berth_ebpf::syscall_names::syscall_name(*nr)
                                .map_or_else(|| format!("nr_{nr}"), str::to_string);
                            l.push(label("syscall", name));
                            f.syscalls.get_or_create(&l).inc_by(*n as f64);
                        }
                    } else {
                        f.syscalls.get_or_create(&labels).inc_by(s.total() as f64);
                    }
                    f.syscall_errors
                        .get_or_create(&labels)
                        .inc_by(s.errors as f64);
                }
            }
            Err(e) => failures.push(e),
        }
        match probes.process_counts() {
            Ok(counts) => {
                for (id, p) in &counts {
                    let Some(c) = by_container(id) else { continue };
                    let labels = container_labels(c);
                    f.execs.get_or_create(&labels).inc_by(p.execs as f64);
                    f.forks.get_or_create(&labels).inc_by(p.forks as f64);
                    f.process_exits
                        .get_or_create(&labels)
                        .inc_by(p.exits as f64);
                }
            }
            Err(e) => failures.push(e),
        }
        match probes.net_counts() {
            Ok(counts) => {
                for (id, n) in &counts {
                    let Some(c) = by_container(id) else { continue };
                    let labels = container_labels(c);
                    f.network_receive_bytes
                        .get_or_create(&labels)
                        .inc_by(n.rx_bytes as f64);
                    f.network_transmit_bytes
                        .get_or_create(&labels)
                        .inc_by(n.tx_bytes as f64);
                    f.network_receive_packets
                        .get_or_create(&labels)
                        .inc_by(n.rx_packets as f64);
                    f.network_transmit_packets
                        .get_or_create(&labels)
                        .inc_by(n.tx_packets as f64);
                }
            }
            Err(e) => failures.push(e),
        }
        match probes.oom_kills() {
            Ok(kills) => {
                for (id, n) in &kills {
                    let Some(c) = by_container(id) else { continue };
                    let counter = f.oom_events.get_or_create(&container_labels(c));
                    let seen = counter.get();
                    if (*n as f64) > seen {
                        counter.inc_by(*n as f64 - seen);
                    }
                }
            }
            Err(e) => failures.push(e),
        }
        match probes.signals_delivered() {
            Ok(delivered) => {
                for (id, by_signal) in &delivered {
                    let Some(c) = by_container(id) else { continue };
                    for (signal, n) in by_signal {
                        let mut l = container_labels(c);
                        l.push(label("signal", signal_name(*signal)));
                        f.signals.get_or_create(&l).inc_by(*n as f64);
                    }
                }
            }
            Err(e) => failures.push(e),
        }
        for (map, entries) in probes.map_entries() {
            f.bpf_map_entries
                .get_or_create(&vec![label("map", map)])
                .set(entries as f64);
        }
        match probes.events_lost() {
            Ok(lost) => {
                f.events_lost.inc_by(lost as f64);
            }
            Err(e) => failures.push(e),
        }
        for failure in failures {
            self.count_error("bpf", &failure);
        }
    }

    fn collect_health(&self, f: &Families) {
        for (operation, n) in &self.errors {
            f.errors
                .get_or_create(&vec![label("operation", *operation)])
                .inc_by(*n as f64);
        }
    }
}

/// Threads reading cgroup files during a scrape, at most.
const MAX_COLLECTOR_THREADS: usize = 4;

/// One container's cgroup series; failures are described into `failures`.
fn collect_container_cgroups(c: &Container, f: &Families, now: f64, failures: &mut Vec<String>) {
    let labels = container_labels(c);
    // Only what the exposition has: io and hugetlb files would double the reads per scrape.
    let scope = berth_cgroups::StatsScope {
        io: false,
        hugetlb: false,
        ..berth_cgroups::StatsScope::ALL
    };
    let stats = match c.cgroup.stats_of(scope) {
        Ok(stats) => stats,
        Err(e) => {
            failures.push(format!(
                "reading cgroup stats of container {} ({}): {e}",
                c.id,
                c.cgroup_path()
            ));
            return;
        }
    };
    let seconds = |ns: u64| ns as f64 / 1e9;
    f.cpu_usage
        .get_or_create(&labels)
        .inc_by(seconds(stats.cpu.usage_ns));
    f.cpu_user
        .get_or_create(&labels)
        .inc_by(seconds(stats.cpu.user_ns));
    f.cpu_system
        .get_or_create(&labels)
        .inc_by(seconds(stats.cpu.system_ns));
    f.cpu_cfs_periods
        .get_or_create(&labels)
        .inc_by(stats.cpu.periods as f64);
    f.cpu_cfs_throttled_periods
        .get_or_create(&labels)
        .inc_by(stats.cpu.throttled_periods as f64);
    let m = &stats.memory;
    f.memory_usage.get_or_create(&labels).set(m.usage as f64);
    f.memory_working_set
        .get_or_create(&labels)
        .set(m.working_set as f64);
    f.memory_rss.get_or_create(&labels).set(m.rss as f64);
    f.memory_cache.get_or_create(&labels).set(m.cache as f64);
    f.memory_failcnt
        .get_or_create(&labels)
        .inc_by(m.failcnt as f64);
    f.spec_memory_limit
        .get_or_create(&labels)
        .set(m.limit.map_or(0.0, |l| l as f64));
    if let Some(quota) = stats.cpu.quota_us {
        f.spec_cpu_quota.get_or_create(&labels).set(quota as f64);
    }
    match c.cgroup.processes() {
        Ok(pids) => {
            f.processes.get_or_create(&labels).set(pids.len() as f64);
        }
        Err(e) => failures.push(format!(
            "listing processes of container {} ({}): {e}",
            c.id,
            c.cgroup_path()
        )),
    }
    let threads = if stats.pids.current > 0 {
        stats.pids.current
    } else {
        count_threads(&c.cgroup)
    };
    f.threads.get_or_create(&labels).set(threads as f64);
    if let Some(created) = c.created {
        f.start_time.get_or_create(&labels).set(created);
    }
    f.last_seen.get_or_create(&labels).set(now);
    // OOM kills: the kernel's own count, or BPF's when it saw more (it also
    // sees victims of a parent's limit); see collect_bpf.
    f.oom_events
        .get_or_create(&labels)
        .inc_by(m.oom_kill_events as f64);
}

/// The cAdvisor labels (`id`, `name`, `image`) plus `container_label_*`.
fn container_labels(c: &Container) -> Labels {
    let mut labels = vec![
        label("id", c.cgroup_path()),
        label("name", c.name.as_str()),
        label("image", c.image.as_str()),
    ];
    for (key, value) in &c.labels {
        let name = format!("container_label_{}", sanitize_label_name(key));
        // `a.b` and `a-b` both become `a_b`: a series with one label twice would make
        // Prometheus reject the whole scrape, so the first (sorted) annotation wins.
        if labels.iter().any(|(n, _)| *n == name) {
            tracing::debug!(container = %c.id, annotation = %key, "label name taken; skipped");
            continue;
        }
        labels.push((name, value.as_str().into()));
    }
    labels
}

/// An annotation key as a Prometheus label name: `[a-zA-Z0-9_]`, others become `_`.
fn sanitize_label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `SIGKILL` for 9, the number for signals without a name (real-time ones).
fn signal_name(signal: u32) -> String {
    i32::try_from(signal)
        .ok()
        .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
        .map_or_else(|| signal.to_string(), |s| s.as_str().to_string())
}

/// Threads in the container's v2 cgroup (`cgroup.threads`), 0 when unreadable.
fn count_threads(placement: &berth_cgroups::CgroupPlacement) -> u64 {
    placement
        .v2_dir
        .as_deref()
        .or_else(|| placement.v1_dirs.values().next().map(PathBuf::as_path))
        .map(|dir| {
            let file = if dir.join("cgroup.threads").exists() {
                "cgroup.threads"
            } else {
                "tasks"
            };
            count_lines(&dir.join(file))
        })
        .unwrap_or(0)
}

fn count_lines(path: &Path) -> u64 {
    fs::read_to_string(path).map_or(0, |t| t.lines().count() as u64)
}

/// Adds the ids of `dir` and the cgroups below it (down to `depth` levels).
fn collect_cgroup_ids(dir: &Path, depth: u32, ids: &mut HashSet<u64>) {
    if let Ok(id) = berth_ebpf::cgroup2::cgroup_id(dir) {
        ids.insert(id);
    }
    if depth == 0 {
        return;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_cgroup_ids(&entry.path(), depth - 1, ids);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keys_become_label_names() {
        assert_eq!(
            sanitize_label_name("io.kubernetes.pod.name"),
            "io_kubernetes_pod_name"
        );
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(40), "40");
    }

    #[test]
    fn annotations_that_sanitize_alike_give_one_label() {
        let c = Container {
            id: "c1".into(),
            runtime: "berth",
            name: "web".into(),
            image: String::new(),
            labels: [("a-b", "first"), ("a.b", "second")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            pid: None,
            created: None,
            cgroup: berth_cgroups::CgroupPlacement::default(),
        };
        let labels = container_labels(&c);
        let named: Vec<_> = labels
            .iter()
            .filter(|(n, _)| n == "container_label_a_b")
            .collect();
        assert_eq!(named.len(), 1, "{labels:?}");
        assert_eq!(named[0].1.as_str(), "first");
    }
}
