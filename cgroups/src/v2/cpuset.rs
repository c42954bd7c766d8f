//! v2 cpuset: cpuset.cpus and cpuset.mems, checked against what the parent offers.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;
use crate::cgroupfs;
use crate::resources::parse_cpu_list;

pub(super) fn validate(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for (field, value, file) in [
        ("cpu.cpus", c.cpus(), "cpuset.cpus.effective"),
        ("cpu.mems", c.mems(), "cpuset.mems.effective"),
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
