//! v1 hugetlb: a limit per huge page size.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::CgroupError;
use crate::cgroupfs::{self, read_u64};
use crate::stats::HugetlbStats;

pub(super) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for l in limits {
        cgroupfs::write(
            dir,
            &format!("hugetlb.{}.limit_in_bytes", l.page_size()),
            l.limit().to_string(),
        )?;
    }
    Ok(())
}

pub(super) fn stats(
    dir: &Path,
    out: &mut BTreeMap<String, HugetlbStats>,
) -> Result<(), CgroupError> {
    for size in crate::resources::host_hugepage_sizes() {
        let usage_file = format!("hugetlb.{size}.usage_in_bytes");
        if !dir.join(&usage_file).exists() {
            continue;
        }
        let s = HugetlbStats {
            usage: read_u64(dir, &usage_file)?,
            max_usage: read_u64(dir, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
            failcnt: read_u64(dir, &format!("hugetlb.{size}.failcnt"))?,
        };
        out.insert(size, s);
    }
    Ok(())
}
