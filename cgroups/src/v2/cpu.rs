//! v2 cpu: cpu.weight (from shares), cpu.max (quota/period), cpu.max.burst, cpu.idle.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs::{self, read_flat_keyed};
use crate::stats::CpuStats;

/// The default CFS period the kernel uses, microseconds.
const DEFAULT_PERIOD_US: u64 = 100_000;

/// cpu.shares (2..=262144) to cpu.weight (1..=10000), the conversion runc and crun use.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

pub(super) fn wants_cpu_controller(c: &LinuxCpu) -> bool {
    c.shares().is_some_and(|v| v != 0)
        || c.quota().is_some_and(|v| v != 0)
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some_and(|v| v != 0)
        || c.realtime_period().is_some()
}

pub(super) fn validate(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some() {
        return Err(CgroupError::unsupported(
            "cpu.realtimeRuntime",
            "cgroup v2 has no realtime CPU bandwidth control",
        ));
    }
    // A burst or idle of 0 is the kernel's default: a kernel without the file has it.
    for (field, set, file) in [
        (
            "cpu.burst",
            c.burst().is_some_and(|v| v != 0),
            "cpu.max.burst",
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
        cgroupfs::write(dir, "cpu.weight", shares_to_weight(s).to_string())?;
    }
    let quota = c.quota().filter(|&v| v != 0);
    if quota.is_some() || c.period().is_some() {
        let current = cgroupfs::read(dir, "cpu.max")?;
        let mut it = current.split_whitespace();
        let cur_quota = it.next().unwrap_or("max").to_owned();
        let cur_period = it
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_PERIOD_US);
        let quota = match quota {
            Some(q) if q < 0 => "max".to_owned(),
            Some(q) => q.to_string(),
            None => cur_quota,
        };
        let period = c.period().unwrap_or(cur_period);
        cgroupfs::write(dir, "cpu.max", format!("{quota} {period}"))?;
    }
    if let Some(b) = c.burst()
        && (b != 0 || dir.join("cpu.max.burst").exists())
    {
        cgroupfs::write(dir, "cpu.max.burst", b.to_string())?;
    }
    if let Some(i) = c.idle()
        && (i != 0 || dir.join("cpu.idle").exists())
    {
        cgroupfs::write(dir, "cpu.idle", i.to_string())?;
    }
    Ok(())
}

/// cpu.stat exists in every v2 cgroup (the core accounts CPU without the cpu controller).
pub(super) fn stats(dir: &Path, s: &mut CpuStats) -> Result<(), CgroupError> {
    let stat = read_flat_keyed(dir, "cpu.stat")?;
    fill_from_stat(&stat, s);
    if let Some(max) = cgroupfs::read_optional(dir, "cpu.max")? {
        (s.quota_us, s.period_us) = parse_cpu_max(&max);
    }
    Ok(())
}

/// `cpu.max` (`<quota|max> <period>`) as (quota, period).
fn parse_cpu_max(text: &str) -> (Option<u64>, u64) {
    let mut it = text.split_whitespace();
    let quota = it.next().and_then(|q| q.parse().ok());
    let period = it
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PERIOD_US);
    (quota, period)
}

pub(crate) fn fill_from_stat(stat: &std::collections::BTreeMap<String, u64>, s: &mut CpuStats) {
    let get = |k: &str| stat.get(k).copied().unwrap_or(0);
    s.usage_ns = get("usage_usec") * 1000;
    s.user_ns = get("user_usec") * 1000;
    s.system_ns = get("system_usec") * 1000;
    s.periods = get("nr_periods");
    s.throttled_periods = get("nr_throttled");
    s.throttled_ns = get("throttled_usec") * 1000;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_reads_quota_and_period() {
        assert_eq!(parse_cpu_max("max 100000\n"), (None, 100_000));
        assert_eq!(parse_cpu_max("20000 50000\n"), (Some(20_000), 50_000));
    }

    #[test]
    fn shares_map_onto_weights_like_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn cpu_stat_of_this_host_reads_in_nanoseconds() {
        let stat =
            cgroupfs::parse_flat_keyed(include_str!("../../tests/data/hybrid/unified.cpu.stat"));
        let mut s = CpuStats::default();
        fill_from_stat(&stat, &mut s);
        assert_eq!(s.usage_ns, stat["usage_usec"] * 1000);
        assert_eq!(
            s.user_ns + s.system_ns,
            (stat["user_usec"] + stat["system_usec"]) * 1000
        );
    }
}
