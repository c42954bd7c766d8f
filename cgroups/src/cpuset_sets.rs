//! CPU and memory-node sets (`cpuset.cpus`, `cpuset.mems`): checked against what the
//! parent can give, then written. The same on v1 and v2 but for the names of the parent's
//! effective-set files, which each version's `cpuset.rs` passes in.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs;
use crate::resources::parse_cpu_list;

/// Refuses CPUs or nodes the parent does not have, naming what is available.
pub(crate) fn validate(
    dir: &Path,
    c: &LinuxCpu,
    effective_files: [&str; 2],
) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for (field, value, file) in [
        ("cpu.cpus", c.cpus(), effective_files[0]),
        ("cpu.mems", c.mems(), effective_files[1]),
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

pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|v| !v.trim().is_empty()) {
        cgroupfs::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|v| !v.trim().is_empty()) {
        cgroupfs::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
