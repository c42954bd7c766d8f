//! v1 memory: limit, reservation (soft limit), memory+swap, swappiness, OOM killer.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::CgroupError;
use crate::cgroupfs::{self, read_flat_keyed, read_u64, read_u64_optional};
use crate::stats::MemoryStats;

/// Limits at or above this are the kernel's "unlimited" (PAGE_COUNTER_MAX pages).
const UNLIMITED_FROM: u64 = 1 << 62;

fn limit_value(v: i64) -> String {
    if v < 0 {
        "-1".to_owned()
    } else {
        v.to_string()
    }
}

pub(super) fn validate(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    // Without swap accounting only "no swap beyond the limit" (swap == limit) or "don't
    // care" (-1) can be honoured.
    let swap_needs_memsw = m.swap().is_some_and(|s| s > 0 && Some(s) != m.limit());
    if swap_needs_memsw && !dir.join("memory.memsw.limit_in_bytes").exists() {
        return Err(CgroupError::unsupported(
            "memory.swap",
            "this kernel has no swap accounting (memory.memsw.* missing; boot with swapaccount=1)",
        ));
    }
    // runc ignores useHierarchy; the kernel has refused to turn it off since 5.x. Say so,
    // but run: hierarchical accounting only ever counts more, never less.
    if m.use_hierarchy() == Some(false) && read_u64(dir, "memory.use_hierarchy")? == 1 {
        tracing::warn!(
            "linux.resources.memory.useHierarchy false is ignored: this kernel always accounts memory hierarchically"
        );
    }
    if m.kernel_tcp().is_some_and(|v| v != 0)
        && !dir.join("memory.kmem.tcp.limit_in_bytes").exists()
    {
        return Err(CgroupError::unsupported(
            "memory.kernelTCP",
            "memory.kmem.tcp.* missing",
        ));
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = m.limit().filter(|&v| v != 0);
    let swap = m.swap().filter(|&v| v != 0);
    let has_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    let swap = swap.filter(|_| has_memsw);
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // memory.limit <= memory.memsw.limit at every moment: raise memsw first when
            // the new memory limit is above the current memsw one or memsw becomes -1.
            let cur_memsw = read_u64(dir, "memory.memsw.limit_in_bytes")?;
            if s < 0 || (l > 0 && (l as u64) > cur_memsw) || (s as u64) > cur_memsw {
                cgroupfs::write(dir, "memory.memsw.limit_in_bytes", limit_value(s))?;
                cgroupfs::write(dir, "memory.limit_in_bytes", limit_value(l))?;
            } else {
                cgroupfs::write(dir, "memory.limit_in_bytes", limit_value(l))?;
                cgroupfs::write(dir, "memory.memsw.limit_in_bytes", limit_value(s))?;
            }
        }
        (Some(l), None) => {
            // Raising the memory limit above memory+swap would fail: keep "no more swap
            // than before" by raising memsw along with it.
            if has_memsw {
                let cur_memsw = read_u64(dir, "memory.memsw.limit_in_bytes")?;
                if l < 0 || (l as u64) > cur_memsw {
                    cgroupfs::write(dir, "memory.memsw.limit_in_bytes", limit_value(l))?;
                }
            }
            cgroupfs::write(dir, "memory.limit_in_bytes", limit_value(l))?;
        }
        (None, Some(s)) => cgroupfs::write(dir, "memory.memsw.limit_in_bytes", limit_value(s))?,
        (None, None) => {}
    }
    if let Some(r) = m.reservation().filter(|&v| v != 0) {
        cgroupfs::write(dir, "memory.soft_limit_in_bytes", limit_value(r))?;
    }
    if let Some(k) = m.kernel().filter(|&v| v != 0) {
        tracing::warn!(
            value = k,
            "linux.resources.memory.kernel is deprecated by the kernel; ignored"
        );
    }
    if let Some(k) = m.kernel_tcp().filter(|&v| v != 0) {
        cgroupfs::write(dir, "memory.kmem.tcp.limit_in_bytes", limit_value(k))?;
    }
    if let Some(s) = m.swappiness() {
        cgroupfs::write(dir, "memory.swappiness", s.to_string())?;
    }
    if let Some(d) = m.disable_oom_killer() {
        cgroupfs::write(dir, "memory.oom_control", if d { "1" } else { "0" })?;
    }
    Ok(())
}

pub(super) fn stats(dir: &Path, s: &mut MemoryStats) -> Result<(), CgroupError> {
    s.usage = read_u64(dir, "memory.usage_in_bytes")?;
    s.max_usage = read_u64(dir, "memory.max_usage_in_bytes")?;
    let limit = read_u64(dir, "memory.limit_in_bytes")?;
    s.limit = (limit < UNLIMITED_FROM).then_some(limit);
    s.failcnt = read_u64(dir, "memory.failcnt")?;
    s.stat = read_flat_keyed(dir, "memory.stat")?;
    fill_from_stat(s);
    if let Some(memsw) = read_u64_optional(dir, "memory.memsw.usage_in_bytes")? {
        s.swap_usage = memsw.saturating_sub(s.usage);
    }
    fill_from_oom_control(&read_flat_keyed(dir, "memory.oom_control")?, s);
    Ok(())
}

/// v1 counts OOM kills (`oom_kill`) but not OOM situations: both counters get the kills.
fn fill_from_oom_control(oom: &std::collections::BTreeMap<String, u64>, s: &mut MemoryStats) {
    s.oom_kill_events = oom.get("oom_kill").copied().unwrap_or(0);
    s.oom_events = s.oom_kill_events;
}

/// rss, cache and working set from the v1 `memory.stat` keys (hierarchical totals).
pub(crate) fn fill_from_stat(s: &mut MemoryStats) {
    let get = |k: &str| s.stat.get(k).copied().unwrap_or(0);
    s.rss = get("total_rss");
    s.cache = get("total_cache");
    s.working_set = s.usage.saturating_sub(get("total_inactive_file"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_control_of_this_host_has_the_kill_counter() {
        let oom =
            cgroupfs::parse_flat_keyed(include_str!("../../tests/data/hybrid/memory.oom_control"));
        assert!(
            oom.contains_key("oom_kill") && oom.contains_key("under_oom"),
            "{oom:?}"
        );
        let mut s = MemoryStats::default();
        fill_from_oom_control(&[("oom_kill".to_owned(), 3)].into(), &mut s);
        assert_eq!((s.oom_events, s.oom_kill_events), (3, 3));
    }

    #[test]
    fn stat_of_this_host_gives_rss_cache_and_working_set() {
        let mut s = MemoryStats {
            usage: 10 << 20,
            stat: cgroupfs::parse_flat_keyed(include_str!("../../tests/data/hybrid/memory.stat")),
            ..Default::default()
        };
        fill_from_stat(&mut s);
        assert_eq!(s.rss, s.stat["total_rss"]);
        assert_eq!(s.cache, s.stat["total_cache"]);
        assert_eq!(
            s.working_set,
            (10u64 << 20).saturating_sub(s.stat["total_inactive_file"])
        );
        assert!(s.stat.contains_key("hierarchical_memory_limit"));
    }
}
