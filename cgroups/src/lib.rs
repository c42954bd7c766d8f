//! berth-cgroups: where a container's cgroups live, what limits they hold, what they count.
//!
//! One module for the runtime (placement, limits, freeze, kill) and the exporter (stats),
//! on pure cgroup v2, on v1, and on hybrid hosts (v1 controllers plus a v2 hierarchy at
//! `/sys/fs/cgroup/unified` that identifies the container to BPF programs).
//!
//! The contract shared with the runtime and the exporter is [`CgroupPlacement`]: it is
//! serialized into the runtime's `state.json`, so its field names are stable.
//!
//! - `cgroups_path`: `linux.cgroupsPath` to a cgroup path ([`resolve_path`]);
//! - `layout`: which hierarchies the host has ([`detect_layout`]); `cgroup2`: the v2 mount
//!   and a cgroup's id in it, the key BPF programs use ([`cgroup2_root`], [`cgroup_id`]);
//! - `placement`: create, join, list, freeze, kill, remove (the [`CgroupPlacement`] methods);
//! - `unset_values`: the zeros clients send for "not set", removed before any check;
//! - `resources`: range checks on `linux.resources` common to v1 and v2;
//! - `cpuset_sets`: cpuset.cpus/mems checked against the parent and written (v1 and v2);
//! - `device_rules`: `linux.resources.devices` reduced as the v1 controller holds them,
//!   for both v1's lists and v2's filter;
//! - `manager`: the trait behind limits, freezing and stats, implemented by
//! - `v1` (one file per v1 controller) and `v2` (one file per v2 controller, the eBPF
//!   device filter under `v2/devices/`);
//! - `oom`: waiting for the OOM killer ([`OomWatcher`]), for the runtime's `events`;
//! - `stats`: the numbers read back ([`CgroupStats`]); `runc_stats`: the same in the JSON of
//!   runc's `events --stats` ([`CgroupStats::to_runc_json`]);
//! - `features`: what is supported, for the OCI features JSON ([`oci_features`], [`host_cgroups`]);
//! - `cgroupfs`: reading and writing interface files with errors that name them.

mod cgroup2;
mod cgroupfs;
mod cgroups_path;
mod cpuset_sets;
mod device_rules;
mod error;
mod features;
mod layout;
mod manager;
mod oom;
mod placement;
mod resources;
mod runc_stats;
mod stats;
mod unset_values;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use cgroup2::{cgroup_id, cgroup2_root};
pub use cgroups_path::{BERTH_PARENT, resolve_path};
pub use error::CgroupError;
pub use features::{HostCgroups, host_cgroups, oci_features};
pub use layout::{CGROUP_ROOT, HYBRID_UNIFIED_ROOT, Layout, detect_layout};
pub use oci_spec;
pub use oom::{OomEvent, OomWatcher};
pub use placement::join_current_process;
pub use stats::{
    CgroupStats, CpuStats, HugetlbStats, IoEntry, IoStats, IoUnit, MemoryStats, PidsStats,
    StatsScope,
};
pub use v2::devices::{DeviceFilter, attached_program_ids};

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
