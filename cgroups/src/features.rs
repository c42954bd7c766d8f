//! What this crate supports, for the runtime's `features` command (OCI features JSON),
//! and what the host offers.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::layout::hierarchies;
use crate::{CgroupError, Layout};

/// The OCI `linux.cgroup` features object: what is compiled in, not what the host uses.
pub fn oci_features() -> oci_spec::runtime::Cgroup {
    let mut c = oci_spec::runtime::Cgroup::default();
    c.set_v1(Some(true));
    c.set_v2(Some(true));
    c.set_systemd(Some(false));
    c.set_systemd_user(Some(false));
    c.set_rdma(Some(false));
    c
}

/// What this host's cgroup filesystems offer to berth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCgroups {
    pub layout: Layout,
    /// Controllers usable for limits: the v1 ones, plus those of the v2 hierarchy.
    pub controllers: BTreeSet<String>,
    /// Whether the v2 eBPF device filter applies (pure v2; on hybrid hosts v1 lists are used).
    pub bpf_device_filter: bool,
    /// Whether `cgroup.kill` exists (v2 hierarchy, kernel 5.14+).
    pub cgroup_kill: bool,
}

/// Detects what the host offers.
pub fn host_cgroups() -> Result<HostCgroups, CgroupError> {
    let h = hierarchies()?;
    let mut controllers: BTreeSet<String> =
        h.v1.iter()
            .flat_map(|m| m.controllers.iter())
            .filter(|c| !c.starts_with("name="))
            .cloned()
            .collect();
    let mut cgroup_kill = false;
    if let Some(root) = &h.v2_root {
        controllers.extend(crate::v2::controllers(root)?);
        // The root has no cgroup.kill; berth's parent (or any child) shows whether it exists.
        cgroup_kill = std::fs::read_dir(root)
            .map_err(|e| CgroupError::io("listing", root, e))?
            .filter_map(Result::ok)
            .any(|e| e.path().join("cgroup.kill").exists());
    }
    Ok(HostCgroups {
        layout: h.layout,
        controllers,
        bpf_device_filter: h.layout == Layout::V2,
        cgroup_kill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_features_say_v1_and_v2_without_systemd() {
        let json = serde_json::to_value(oci_features()).unwrap_or_default();
        assert_eq!(json["v1"], true);
        assert_eq!(json["v2"], true);
        assert_eq!(json["systemd"], false);
        assert_eq!(json["systemdUser"], false);
    }
}
