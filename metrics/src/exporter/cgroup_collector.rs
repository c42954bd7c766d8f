//! The cgroup collector: [`read`] a container's cgroup files (the kernel side), then
//! [`record`] that [`CgroupReading`] as the cAdvisor-compatible series (no kernel, so
//! the series can be checked from fixed readings).

use std::fs;
use std::path::{Path, PathBuf};

use berth_cgroups::{CgroupPlacement, CgroupStats, StatsScope};

use super::labels::container_labels;
use crate::discovery::Container;
use crate::families::Families;

/// Threads reading cgroup files during a scrape, at most.
const MAX_COLLECTOR_THREADS: usize = 4;

/// Only what the exposition has: io and hugetlb files would double the reads per scrape.
const SCOPE: StatsScope = StatsScope {
    io: false,
    hugetlb: false,
    ..StatsScope::ALL
};

/// What the kernel said about one container's cgroups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupReading {
    /// cpu, memory and pids statistics (io, hugetlb and `memory.stat`'s raw keys left
    /// out, hence empty).
    pub stats: CgroupStats,
    /// Processes in the cgroup; `None` when listing them failed (no series then).
    pub processes: Option<usize>,
    /// Threads: `pids.current`, else the lines of `cgroup.threads` (v2) or `tasks`
    /// (v1), 0 when neither is readable.
    pub threads: u64,
}

/// Reads every container's cgroups, spread over a few threads: on a v1 host
/// `memory.stat` alone costs the kernel a statistics flush per container. Returns each
/// container with its reading (`None` when its statistics could not be read) in the
/// order given, and a description of every failure.
pub fn read_all<'a>(
    containers: &[&'a Container],
) -> (Vec<(&'a Container, Option<CgroupReading>)>, Vec<String>) {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_COLLECTOR_THREADS);
    let chunk = containers.len().div_ceil(workers).max(1);
    let mut readings = Vec::with_capacity(containers.len());
    let mut failures = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = containers
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    let readings: Vec<_> =
                        part.iter().map(|c| (*c, read(c, &mut failures))).collect();
                    (readings, failures)
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok((part, part_failures)) => {
                    readings.extend(part);
                    failures.extend(part_failures);
                }
                Err(_) => failures.push("a cgroup collector thread panicked".to_string()),
            }
        }
    });
    (readings, failures)
}

/// Reads one container's cgroups: `None` when its statistics cannot be read; failures
/// are described into `failures`.
pub fn read(c: &Container, failures: &mut Vec<String>) -> Option<CgroupReading> {
    let mut stats = match c.cgroup.stats_of(SCOPE) {
        Ok(stats) => stats,
        Err(e) => {
            failures.push(format!(
                "reading cgroup stats of container {} ({}): {e}",
                c.id,
                c.cgroup_path()
            ));
            return None;
        }
    };
    // No series takes memory.stat's raw keys; a scrape holding them for every
    // container until recorded would cost ~4 KiB each.
    stats.memory.stat.clear();
    let processes = match c.cgroup.processes() {
        Ok(pids) => Some(pids.len()),
        Err(e) => {
            failures.push(format!(
                "listing processes of container {} ({}): {e}",
                c.id,
                c.cgroup_path()
            ));
            None
        }
    };
    let threads = if stats.pids.current > 0 {
        stats.pids.current
    } else {
        count_threads(&c.cgroup)
    };
    Some(CgroupReading {
        stats,
        processes,
        threads,
    })
}

/// Adds `c`'s cgroup series, read as `r`, to `f`; `now` (seconds since the Unix epoch)
/// is its `container_last_seen`.
pub fn record(f: &Families, c: &Container, r: &CgroupReading, now: f64) {
    let labels = container_labels(c);
    let seconds = |ns: u64| ns as f64 / 1e9;
    let cpu = &r.stats.cpu;
    f.cpu_usage
        .get_or_create(&labels)
        .inc_by(seconds(cpu.usage_ns));
    f.cpu_user
        .get_or_create(&labels)
        .inc_by(seconds(cpu.user_ns));
    f.cpu_system
        .get_or_create(&labels)
        .inc_by(seconds(cpu.system_ns));
    f.cpu_cfs_periods
        .get_or_create(&labels)
        .inc_by(cpu.periods as f64);
    f.cpu_cfs_throttled_periods
        .get_or_create(&labels)
        .inc_by(cpu.throttled_periods as f64);
    let m = &r.stats.memory;
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
    if let Some(quota) = cpu.quota_us {
        f.spec_cpu_quota.get_or_create(&labels).set(quota as f64);
    }
    if let Some(processes) = r.processes {
        f.processes.get_or_create(&labels).set(processes as f64);
    }
    f.threads.get_or_create(&labels).set(r.threads as f64);
    if let Some(created) = c.created {
        f.start_time.get_or_create(&labels).set(created);
    }
    f.last_seen.get_or_create(&labels).set(now);
    // OOM kills: the kernel's own count, or BPF's when it saw more (it also sees
    // victims of a parent's limit); see bpf_collector::record.
    f.oom_events
        .get_or_create(&labels)
        .inc_by(m.oom_kill_events as f64);
}

/// Threads in the container's v2 cgroup (`cgroup.threads`), else in its first v1
/// cgroup (`tasks`); 0 when unreadable.
fn count_threads(placement: &CgroupPlacement) -> u64 {
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
