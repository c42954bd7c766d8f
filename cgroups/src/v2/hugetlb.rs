//! v2 hugetlb: `hugetlb.<size>.max`; on hybrid hosts the only hugetlb there is.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::CgroupError;
use crate::cgroupfs::{self, read_flat_keyed, read_u64};
use crate::stats::HugetlbStats;

pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for l in limits {
        cgroupfs::write(
            dir,
            &format!("hugetlb.{}.max", l.page_size()),
            l.limit().to_string(),
        )?;
    }
    Ok(())
}

/// On a hybrid host, hugetlb lives in the v2 hierarchy: enable it down to `dir`, then apply.
pub(crate) fn apply_on_hybrid(
    dir: &Path,
    limits: &[LinuxHugepageLimit],
) -> Result<(), CgroupError> {
    let root = crate::layout::hierarchies()?
        .v2_root
        .clone()
        .ok_or_else(|| CgroupError::Layout("no cgroup v2 hierarchy".to_owned()))?;
    let rel = dir.strip_prefix(&root).map_err(|_| {
        CgroupError::Layout(format!("{} is not below {}", dir.display(), root.display()))
    })?;
    super::enable_controllers_down_to(&root, rel, Some("hugetlb"))?;
    apply(dir, limits)
}

pub(crate) fn stats(
    dir: &Path,
    out: &mut BTreeMap<String, HugetlbStats>,
) -> Result<(), CgroupError> {
    for size in crate::resources::host_hugepage_sizes() {
        let current = format!("hugetlb.{size}.current");
        if !dir.join(&current).exists() {
            continue;
        }
        let events = read_flat_keyed(dir, &format!("hugetlb.{size}.events"))?;
        let s = HugetlbStats {
            usage: read_u64(dir, &current)?,
            max_usage: 0,
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        out.insert(size, s);
    }
    Ok(())
}
