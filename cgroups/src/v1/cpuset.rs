//! v1 cpuset: which CPUs and memory nodes; new directories inherit the parent's sets.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs;
use crate::resources::parse_cpu_list;

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
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for (field, value, file) in [
        ("cpu.cpus", c.cpus(), "cpuset.effective_cpus"),
        ("cpu.mems", c.mems(), "cpuset.effective_mems"),
    ] {
        let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let Some(available) = cgroupfs::read_optional(parent, file)? else {
            continue;
        };
        let wanted = parse_cpu_list(value).map_err(|e| CgroupError::invalid(field, e))?;
        let have = parse_cpu_list(&available).map_err(|e| CgroupError::Parse {
            path: parent.join(file),
            reason: e,
        })?;
        if let Some(missing) = wanted.iter().find(|n| !have.contains(n)) {
            return Err(CgroupError::invalid(
                field,
                format!(
                    "{value:?}: {missing} is not available (have {:?})",
                    available.trim()
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|v| !v.trim().is_empty()) {
        cgroupfs::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|v| !v.trim().is_empty()) {
        cgroupfs::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
