//! v1 cpuset: which CPUs and memory nodes; new directories inherit the parent's sets.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs;

/// A new v1 cpuset directory starts with empty `cpuset.cpus`/`cpuset.mems`, and no task can
/// join it until they are set: fill empty ones from the parent, outermost directory first.
/// Every level of `rel` is checked, not only the ones just created, so a parent left empty
/// by an earlier crash (or another tool) is repaired too.
pub(crate) fn init_dirs(root: &Path, rel: &Path) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    for component in rel.components() {
        let parent = dir.clone();
        dir.push(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if cgroupfs::read(&dir, file)?.trim().is_empty() {
                let value = cgroupfs::read(&parent, file)?;
                cgroupfs::write(&dir, file, value.trim())?;
            }
        }
    }
    Ok(())
}

pub(super) fn validate(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    crate::cpuset_sets::validate(dir, c, ["cpuset.effective_cpus", "cpuset.effective_mems"])
}

pub(super) use crate::cpuset_sets::apply;
