//! v2 memory: memory.max, memory.low, memory.swap.max; usage and OOM counters.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::CgroupError;
use crate::cgroupfs::{self, read_flat_keyed, read_u64, read_u64_optional};
use crate::stats::MemoryStats;

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// memory.swap.max for OCI's `swap` (memory + swap) and `limit`: the swap part only.
fn swap_max(limit: Option<i64>, swap: i64) -> Result<String, CgroupError> {
    if swap < 0 {
        return Ok("max".to_owned());
    }
    match limit {
        Some(l) if l > 0 => Ok((swap - l).to_string()),
        Some(_) => Ok("max".to_owned()),
        None => Err(CgroupError::invalid(
            "memory.swap",
            "on cgroup v2 memory.swap needs memory.limit (swap.max = swap - limit)",
        )),
    }
}

pub(super) fn validate(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    if let Some(swap) = m.swap().filter(|&s| s != 0) {
        let value = swap_max(m.limit().filter(|&l| l != 0), swap)?;
        if !dir.join("memory.swap.max").exists() && value != "0" {
            return Err(CgroupError::unsupported(
                "memory.swap",
                "this kernel has no memory.swap.max (swap accounting off)",
            ));
        }
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = m.limit().filter(|&v| v != 0);
    if let Some(swap) = m.swap().filter(|&s| s != 0)
        && dir.join("memory.swap.max").exists()
    {
        cgroupfs::write(dir, "memory.swap.max", swap_max(limit, swap)?)?;
    }
    if let Some(l) = limit {
        cgroupfs::write(dir, "memory.max", max_or(l))?;
    }
    if let Some(r) = m.reservation().filter(|&v| v != 0) {
        cgroupfs::write(dir, "memory.low", max_or(r))?;
    }
    for (name, set) in [
        ("swappiness", m.swappiness().is_some()),
        ("disableOOMKiller", m.disable_oom_killer() == Some(true)),
        ("kernel", m.kernel().is_some_and(|v| v != 0)),
        ("kernelTCP", m.kernel_tcp().is_some_and(|v| v != 0)),
    ] {
        if set {
            tracing::warn!(
                field = name,
                "linux.resources.memory.{name} has no cgroup v2 equivalent; ignored"
            );
        }
    }
    Ok(())
}

pub(super) fn stats(dir: &Path, s: &mut MemoryStats) -> Result<(), CgroupError> {
    s.usage = read_u64(dir, "memory.current")?;
    s.max_usage = read_u64_optional(dir, "memory.peak")?.unwrap_or(0);
    let limit = read_u64(dir, "memory.max")?;
    s.limit = (limit != u64::MAX).then_some(limit);
    s.stat = read_flat_keyed(dir, "memory.stat")?;
    fill_from_stat(s);
    s.swap_usage = read_u64_optional(dir, "memory.swap.current")?.unwrap_or(0);
    let events = read_flat_keyed(dir, "memory.events")?;
    s.failcnt = events.get("max").copied().unwrap_or(0);
    s.oom_events = events.get("oom").copied().unwrap_or(0);
    s.oom_kill_events = events.get("oom_kill").copied().unwrap_or(0);
    Ok(())
}

/// rss, cache and working set from the v2 `memory.stat` keys.
pub(crate) fn fill_from_stat(s: &mut MemoryStats) {
    let get = |k: &str| s.stat.get(k).copied().unwrap_or(0);
    s.rss = get("anon");
    s.cache = get("file");
    s.working_set = s.usage.saturating_sub(get("inactive_file"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_events_of_a_v2_kernel_have_the_oom_counters() {
        let ev = cgroupfs::parse_flat_keyed(include_str!("../../tests/data/v2/memory.events"));
        for key in ["max", "oom", "oom_kill"] {
            assert!(ev.contains_key(key), "{key} missing: {ev:?}");
        }
    }

    #[test]
    fn swap_max_is_the_swap_part() {
        assert_eq!(swap_max(Some(100), 150).ok().as_deref(), Some("50"));
        assert_eq!(swap_max(Some(100), -1).ok().as_deref(), Some("max"));
        assert!(swap_max(None, 150).is_err());
    }

    #[test]
    fn stat_of_a_v2_kernel_gives_rss_cache_and_working_set() {
        let mut s = MemoryStats {
            usage: 64 << 20,
            stat: cgroupfs::parse_flat_keyed(include_str!("../../tests/data/v2/memory.stat")),
            ..Default::default()
        };
        fill_from_stat(&mut s);
        assert_eq!(s.rss, s.stat["anon"]);
        assert_eq!(s.cache, s.stat["file"]);
        assert_eq!(
            s.working_set,
            (64u64 << 20).saturating_sub(s.stat["inactive_file"])
        );
    }
}
