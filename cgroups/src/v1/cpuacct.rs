//! v1 cpuacct: CPU time used, total, user/system and per CPU (nanoseconds).

use std::path::Path;

use crate::CgroupError;
use crate::cgroupfs::{self, read_u64, read_u64_optional};
use crate::stats::CpuStats;

/// USER_HZ: the unit of `cpuacct.stat`, used only where `cpuacct.usage_user` is missing.
const USER_HZ_NS: u64 = 10_000_000;

pub(super) fn stats(dir: &Path, s: &mut CpuStats) -> Result<(), CgroupError> {
    s.usage_ns = read_u64(dir, "cpuacct.usage")?;
    match (
        read_u64_optional(dir, "cpuacct.usage_user")?,
        read_u64_optional(dir, "cpuacct.usage_sys")?,
    ) {
        (Some(user), Some(sys)) => {
            s.user_ns = user;
            s.system_ns = sys;
        }
        _ => {
            let stat = cgroupfs::read_flat_keyed(dir, "cpuacct.stat")?;
            s.user_ns = stat.get("user").copied().unwrap_or(0) * USER_HZ_NS;
            s.system_ns = stat.get("system").copied().unwrap_or(0) * USER_HZ_NS;
        }
    }
    if let Some(per_cpu) = cgroupfs::read_optional(dir, "cpuacct.usage_percpu")? {
        s.per_cpu_ns = per_cpu
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
    }
    Ok(())
}
