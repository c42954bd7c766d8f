//! v2 cpuset: cpuset.cpus and cpuset.mems, checked against what the parent offers.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::CgroupError;

pub(super) fn validate(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    crate::cpuset_sets::validate(dir, c, ["cpuset.cpus.effective", "cpuset.mems.effective"])
}

pub(super) use crate::cpuset_sets::apply;
