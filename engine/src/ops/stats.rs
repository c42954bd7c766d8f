//! `stats`: a running container's resource figures from its cgroups (through
//! berth-cgroups) and its network namespace, in the units docker's columns are made of.
//! CPU % needs two samples ([`cpu_percent`]): docker's formula, the container's CPU time
//! over the host's in the same interval, times the CPUs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_cgroups::{CGROUP_ROOT, CgroupPlacement, CgroupStats, HYBRID_UNIFIED_ROOT, IoUnit};
use serde::Serialize;

use crate::container::{status, store};
use crate::error::{EngineError, Result};
use crate::paths::StorePaths;

/// One reading of a container's figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsSample {
    /// Full id and name.
    pub id: String,
    pub name: String,
    /// Whether the container ran (a stopped one reads all zeros, as docker shows it).
    pub running: bool,
    /// When it was read, seconds since the epoch.
    pub read_at: f64,
    /// The container's CPU time, nanoseconds.
    pub cpu_usage_ns: u64,
    /// The host's CPU time (all CPUs, every mode) from /proc/stat, nanoseconds.
    pub system_cpu_ns: u64,
    /// CPUs online.
    pub online_cpus: u32,
    /// Memory in use without the inactive page cache (docker's MEM USAGE), bytes.
    pub memory_usage: u64,
    /// The memory limit, or the host's memory when unlimited, bytes.
    pub memory_limit: u64,
    /// Bytes received / sent on the container's interfaces (loopback aside).
    pub net_rx: u64,
    pub net_tx: u64,
    /// Bytes read / written on block devices.
    pub block_read: u64,
    pub block_write: u64,
    /// Tasks in the container.
    pub pids: u64,
    /// Everything the cgroups reported (for the Docker API's stats JSON).
    pub cgroup: CgroupStats,
}

impl StatsSample {
    /// MEM %: usage over limit, in percent.
    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit == 0 {
            return 0.0;
        }
        self.memory_usage as f64 * 100.0 / self.memory_limit as f64
    }
}

/// CPU % between two samples of one container (docker's: container CPU delta over host
/// CPU delta, times the online CPUs, times 100); 0 when either delta is 0.
pub fn cpu_percent(prev: &StatsSample, cur: &StatsSample) -> f64 {
    let cpu = cur.cpu_usage_ns.saturating_sub(prev.cpu_usage_ns) as f64;
    let system = cur.system_cpu_ns.saturating_sub(prev.system_cpu_ns) as f64;
    if cpu <= 0.0 || system <= 0.0 {
        return 0.0;
    }
    cpu / system * f64::from(cur.online_cpus.max(1)) * 100.0
}

/// Reads container `query`'s figures now.
pub fn sample(paths: &StorePaths, query: &str) -> Result<StatsSample> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    let state = status::derive(paths, &record)?;
    let mut s = StatsSample {
        id: id.clone(),
        name: record.name.clone(),
        read_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        system_cpu_ns: host_cpu_ns(),
        online_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        ..Default::default()
    };
    let Some(pid) = state.pid.filter(|_| state.is_running()) else {
        return Ok(s);
    };
    let placement = placement_of(pid)?;
    let cg = placement.stats().map_err(|e| EngineError::Sys {
        op: "reading the cgroup statistics of",
        object: format!("container {id}"),
        source: e
            .raw_os_error()
            .map_or(nix::Error::EIO, nix::Error::from_raw),
    })?;
    s.running = true;
    s.cpu_usage_ns = cg.cpu.usage_ns;
    s.memory_usage = cg.memory.working_set;
    s.memory_limit = cg.memory.limit.unwrap_or_else(host_memory);
    s.pids = cg.pids.current;
    for e in &cg.io.entries {
        if e.unit == IoUnit::Bytes {
            match e.op.as_str() {
                "Read" => s.block_read += e.value,
                "Write" => s.block_write += e.value,
                _ => {}
            }
        }
    }
    (s.net_rx, s.net_tx) = net_bytes(pid);
    s.cgroup = cg;
    Ok(s)
}

/// The cgroups of process `pid`, from `/proc/<pid>/cgroup` (works for any runtime's
/// containers, whatever cgroupsPath it chose).
fn placement_of(pid: u32) -> Result<CgroupPlacement> {
    let path = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&path)
        .map_err(crate::error::io_err("reading", PathBuf::from(&path)))?;
    let mut placement = CgroupPlacement::default();
    let mut v1_dirs = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(rel)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = rel.trim_start_matches('/');
        if controllers.is_empty() {
            let dir = [HYBRID_UNIFIED_ROOT, CGROUP_ROOT]
                .iter()
                .map(|root| Path::new(root).join(rel))
                .find(|d| d.join("cgroup.procs").exists());
            placement.v2_dir = dir;
            placement.relative_path = Path::new("/").join(rel);
            continue;
        }
        let dir = Path::new(CGROUP_ROOT).join(controllers).join(rel);
        if !dir.is_dir() {
            continue;
        }
        for c in controllers.split(',').filter(|c| !c.starts_with("name=")) {
            v1_dirs.insert(c.to_string(), dir.clone());
        }
    }
    placement.v1_dirs = v1_dirs;
    Ok(placement)
}

/// Host CPU time in nanoseconds: the `cpu` line of /proc/stat (clock ticks).
fn host_cpu_ns() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|t| *t > 0)
        .unwrap_or(100);
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("cpu ").map(|v| {
                    v.split_whitespace()
                        .filter_map(|n| n.parse::<u64>().ok())
                        .sum::<u64>()
                })
            })
        })
        .map_or(0, |t| t * 1_000_000_000 / ticks)
}

/// MemTotal of /proc/meminfo in bytes.
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// Received and sent bytes on the interfaces of `pid`'s network namespace, loopback
/// aside (`/proc/<pid>/net/dev` shows the namespace of that process).
fn net_bytes(pid: u32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    parse_net_dev(&text)
}

fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        rx += v.first().copied().unwrap_or(0);
        tx += v.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_sums_all_but_loopback() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 1500 10 0 0 0 0 0 0 700 5 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(text), (1500, 700));
    }

    #[test]
    fn cpu_percent_is_dockers_formula() {
        let prev = StatsSample {
            cpu_usage_ns: 1_000,
            system_cpu_ns: 10_000,
            online_cpus: 2,
            ..Default::default()
        };
        let cur = StatsSample {
            cpu_usage_ns: 2_000,
            system_cpu_ns: 20_000,
            online_cpus: 2,
            ..Default::default()
        };
        assert!((cpu_percent(&prev, &cur) - 20.0).abs() < 1e-9);
        assert_eq!(cpu_percent(&cur, &cur), 0.0);
    }
}
