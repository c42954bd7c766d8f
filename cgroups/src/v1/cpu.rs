//! v1 cpu: shares, CFS quota/period/burst, realtime runtime/period, idle; throttling stats.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs::{self, read_flat_keyed};
use crate::stats::CpuStats;

fn wants_cpu_controller(c: &LinuxCpu) -> bool {
    c.shares().is_some_and(|v| v != 0)
        || c.quota().is_some_and(|v| v != 0)
        || c.period().is_some()
        || c.burst().is_some()
        || c.realtime_runtime().is_some_and(|v| v != 0)
        || c.realtime_period().is_some()
        || c.idle().is_some()
}

pub(super) fn validate(dir: Option<&Path>, c: &LinuxCpu) -> Result<(), CgroupError> {
    let Some(dir) = dir else {
        if wants_cpu_controller(c) {
            return Err(CgroupError::unsupported(
                "cpu",
                "the v1 cpu controller is not mounted",
            ));
        }
        return Ok(());
    };
    // A burst or idle of 0 is the kernel's default: a kernel without the file has it.
    for (field, set, file) in [
        (
            "cpu.burst",
            c.burst().is_some_and(|v| v != 0),
            "cpu.cfs_burst_us",
        ),
        (
            "cpu.realtimeRuntime",
            c.realtime_runtime().is_some_and(|v| v != 0),
            "cpu.rt_runtime_us",
        ),
        ("cpu.idle", c.idle().is_some_and(|v| v != 0), "cpu.idle"),
    ] {
        if set && !dir.join(file).exists() {
            return Err(CgroupError::unsupported(
                field,
                format!("{file} is missing in this kernel"),
            ));
        }
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = c.shares().filter(|&v| v != 0) {
        cgroupfs::write(dir, "cpu.shares", s.to_string())?;
    }
    write_bandwidth(dir, c.period(), c.quota().filter(|&v| v != 0))?;
    if let Some(b) = c.burst()
        && (b != 0 || dir.join("cpu.cfs_burst_us").exists())
    {
        cgroupfs::write(dir, "cpu.cfs_burst_us", b.to_string())?;
    }
    if let Some(p) = c.realtime_period() {
        cgroupfs::write(dir, "cpu.rt_period_us", p.to_string())?;
    }
    if let Some(r) = c.realtime_runtime().filter(|&v| v > 0) {
        let period = match c.realtime_period() {
            Some(p) => p,
            None => cgroupfs::read_u64(dir, "cpu.rt_period_us")?,
        };
        reserve_rt_in_ancestors(dir, r as u64, period)?;
        cgroupfs::write(dir, "cpu.rt_runtime_us", r.to_string())?;
    }
    if let Some(i) = c.idle()
        && (i != 0 || dir.join("cpu.idle").exists())
    {
        cgroupfs::write(dir, "cpu.idle", i.to_string())?;
    }
    Ok(())
}

/// Writes the CFS period and quota. The kernel checks every write on its own: the ratio
/// quota/period that results must fit the parent's (EINVAL otherwise), so with both
/// changing, one order can pass through a ratio the parent refuses while the other does
/// not. Both given: see [`write_bandwidth_pair`]; a pair the kernel refuses in either
/// order leaves the values that were in force.
fn write_bandwidth(dir: &Path, period: Option<u64>, quota: Option<i64>) -> Result<(), CgroupError> {
    match (period, quota) {
        (Some(p), Some(q)) => {
            let old = (read_period(dir)?, read_quota(dir)?);
            write_bandwidth_pair(dir, p, q).inspect_err(|_| {
                if let Err(e) = write_bandwidth_pair(dir, old.0, old.1) {
                    tracing::warn!(error = %e, "restoring the CFS bandwidth after a refusal");
                }
            })
        }
        (Some(p), None) => write_period(dir, p),
        (None, Some(q)) => write_quota(dir, q),
        (None, None) => Ok(()),
    }
}

/// From a valid state to a valid target, shrinking the period goes quota first (the new
/// quota over the old, longer period is below the target ratio) and growing it goes
/// period first (the old quota over the longer period is below the current ratio). Should
/// that order still be refused (sub-cgroups with quotas of their own), the other is tried,
/// as runc retries the period after the quota.
fn write_bandwidth_pair(dir: &Path, period: u64, quota: i64) -> Result<(), CgroupError> {
    let in_order = |quota_first: bool| {
        if quota_first {
            write_quota(dir, quota).and_then(|()| write_period(dir, period))
        } else {
            write_period(dir, period).and_then(|()| write_quota(dir, quota))
        }
    };
    let quota_first = period < read_period(dir)?;
    match in_order(quota_first) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            tracing::debug!(error = %e, "CFS bandwidth refused in this order; trying the other");
            in_order(!quota_first).map_err(|_| e)
        }
        result => result,
    }
}

fn read_period(dir: &Path) -> Result<u64, CgroupError> {
    cgroupfs::read_u64(dir, "cpu.cfs_period_us")
}

/// The quota in force; -1 is unlimited.
fn read_quota(dir: &Path) -> Result<i64, CgroupError> {
    let text = cgroupfs::read(dir, "cpu.cfs_quota_us")?;
    text.trim().parse().map_err(|e| CgroupError::Parse {
        path: dir.join("cpu.cfs_quota_us"),
        reason: format!("{:?} is not a number: {e}", text.trim()),
    })
}

fn write_period(dir: &Path, period: u64) -> Result<(), CgroupError> {
    cgroupfs::write(dir, "cpu.cfs_period_us", period.to_string())
}

/// Any negative quota is unlimited, which v1 spells -1.
fn write_quota(dir: &Path, quota: i64) -> Result<(), CgroupError> {
    cgroupfs::write(dir, "cpu.cfs_quota_us", quota.max(-1).to_string())
}

/// The kernel refuses a realtime runtime that the parent group does not have: hand the
/// same share (runtime/period) down from the hierarchy root to `dir`'s parent, raising only
/// what is lower. The root's own budget is the limit; a share above it is the kernel's error.
fn reserve_rt_in_ancestors(dir: &Path, runtime: u64, period: u64) -> Result<(), CgroupError> {
    let Some(root) = crate::layout::hierarchies()?
        .v1
        .iter()
        .find(|m| m.controllers.iter().any(|c| c == "cpu"))
        .map(|m| m.root.clone())
    else {
        return Ok(());
    };
    let Ok(rel) = dir.strip_prefix(&root) else {
        return Ok(());
    };
    let mut ancestor = root.clone();
    let components: Vec<_> = rel.components().collect();
    for component in components.iter().take(components.len().saturating_sub(1)) {
        ancestor.push(component);
        let a_period = cgroupfs::read_u64(&ancestor, "cpu.rt_period_us")?;
        let needed = (runtime * a_period).div_ceil(period.max(1));
        if cgroupfs::read_u64(&ancestor, "cpu.rt_runtime_us")? < needed {
            tracing::info!(cgroup = %ancestor.display(), needed, "reserving realtime CPU runtime");
            cgroupfs::write(&ancestor, "cpu.rt_runtime_us", needed.to_string())?;
        }
    }
    Ok(())
}

pub(super) fn stats(dir: &Path, s: &mut CpuStats) -> Result<(), CgroupError> {
    fill_throttling(&read_flat_keyed(dir, "cpu.stat")?, s);
    let quota = cgroupfs::read(dir, "cpu.cfs_quota_us")?;
    s.quota_us = quota
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|q| u64::try_from(q).ok());
    s.period_us = cgroupfs::read_u64(dir, "cpu.cfs_period_us")?;
    Ok(())
}

/// Throttling counters from the v1 `cpu.stat` (`throttled_time` is in nanoseconds).
fn fill_throttling(stat: &std::collections::BTreeMap<String, u64>, s: &mut CpuStats) {
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    s.periods = get("nr_periods");
    s.throttled_periods = get("nr_throttled");
    s.throttled_ns = get("throttled_time");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_stat_of_this_host_has_the_throttling_keys() {
        let stat = cgroupfs::parse_flat_keyed(include_str!("../../tests/data/hybrid/cpu.stat"));
        for key in ["nr_periods", "nr_throttled", "throttled_time"] {
            assert!(stat.contains_key(key), "{key} missing");
        }
        let mut s = CpuStats {
            throttled_ns: 7,
            ..Default::default()
        };
        fill_throttling(&stat, &mut s);
        assert_eq!(s.throttled_ns, stat["throttled_time"]);
    }
}
