//! v1 devices: the lines that turn the cgroup's current `devices.list` into the state the
//! spec's rules describe (see `device_rules`), written as runc writes them.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::CgroupError;
use crate::cgroupfs;
use crate::device_rules::DeviceRules;

pub(super) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let target = DeviceRules::from_spec(rules)?;
    let current = read_list(dir)?;
    for line in target.v1_lines_from(&current) {
        let file = if line.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        cgroupfs::write(dir, file, &line.line)?;
    }
    // The kernel can refuse silently (a parent that does not allow a device); an allow-list
    // is read back whole, an allow-all one only shows its mode.
    let after = read_list(dir)?;
    let matches = if target.default_allow {
        after.default_allow
    } else {
        after == target
    };
    if !matches {
        return Err(CgroupError::invalid(
            "devices",
            format!(
                "after writing the rules, {} does not hold them \
                 (does the parent cgroup allow these devices?)",
                dir.join("devices.list").display()
            ),
        ));
    }
    Ok(())
}

fn read_list(dir: &Path) -> Result<DeviceRules, CgroupError> {
    let list = cgroupfs::read(dir, "devices.list")?;
    DeviceRules::from_v1_list(&list).map_err(|reason| CgroupError::Parse {
        path: dir.join("devices.list"),
        reason,
    })
}
