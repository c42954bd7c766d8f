//! pids: pids.max and pids.current (the same files on v1 and v2).

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::CgroupError;
use crate::cgroupfs::{self, read_u64};
use crate::stats::PidsStats;

/// Writes pids.max: a positive limit as is, -1 as `max`, 0 (unset) leaves it alone.
pub(crate) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    match p.limit() {
        0 => Ok(()),
        l if l < 0 => cgroupfs::write(dir, "pids.max", "max"),
        l => cgroupfs::write(dir, "pids.max", l.to_string()),
    }
}

pub(super) fn stats(dir: &Path, s: &mut PidsStats) -> Result<(), CgroupError> {
    s.current = read_u64(dir, "pids.current")?;
    let max = read_u64(dir, "pids.max")?;
    s.limit = (max != u64::MAX).then_some(max);
    Ok(())
}
