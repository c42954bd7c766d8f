//! berth-cgroups: where a container's cgroups live and what they hold.
//!
//! The contract shared with the runtime and the exporter is [`CgroupPlacement`]: it is
//! serialized into the runtime's `state.json`, so its field names are stable.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where one container's cgroups are, on every hierarchy it was placed in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupPlacement {
    /// Path relative to the hierarchy root, e.g. `/berth/<id>`; absolute in OCI terms.
    pub relative_path: PathBuf,
    /// The directory in the cgroup v2 hierarchy (`/sys/fs/cgroup/...` on pure v2,
    /// `/sys/fs/cgroup/unified/...` on hybrid hosts), when one was created.
    pub v2_dir: Option<PathBuf>,
    /// The inode number of `v2_dir`: what `bpf_get_current_cgroup_id()` returns inside.
    pub v2_id: Option<u64>,
    /// v1 controller name (`memory`, `cpu`, ...) to its directory, on v1/hybrid hosts.
    #[serde(default)]
    pub v1_dirs: BTreeMap<String, PathBuf>,
}
