//! v1 pids: the task limit (the file names are the same as on v2).

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::CgroupError;
use crate::cgroupfs::{self, read_u64};
use crate::stats::PidsStats;

pub(super) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    crate::v2::pids::apply(dir, p)
}

pub(super) fn stats(dir: &Path, s: &mut PidsStats) -> Result<(), CgroupError> {
    s.current = read_u64(dir, "pids.current")?;
    let max = cgroupfs::read_u64(dir, "pids.max")?;
    s.limit = (max != u64::MAX).then_some(max);
    Ok(())
}
