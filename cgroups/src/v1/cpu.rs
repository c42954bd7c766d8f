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
    if let Some(p) = c.period() {
        cgroupfs::write(dir, "cpu.cfs_period_us", p.to_string())?;
    }
    if let Some(q) = c.quota().filter(|&v| v != 0) {
        cgroupfs::write(
            dir,
            "cpu.cfs_quota_us",
            if q < 0 {
                "-1".to_owned()
            } else {
                q.to_string()
            },
        )?;
    }
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
