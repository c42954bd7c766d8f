//! The one trait behind [`crate::CgroupPlacement`]: what differs between cgroup v1 and v2.
//!
//! Placement (mkdir, joining, listing, removing) is the same on every hierarchy and lives
//! in `placement.rs`; limits, freezing and statistics are per version and live here.

use oci_spec::runtime::LinuxResources;

use crate::{CgroupError, CgroupStats, StatsScope};

/// The version-specific half of a container's cgroup.
pub(crate) trait Manager {
    /// Checks that `resources` can be applied here. Changes nothing.
    fn validate(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Writes `resources` (already validated) to the controller files.
    fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Freezes (`true`) or thaws (`false`) every process, waiting until the kernel is done.
    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError>;
    /// Whether the cgroup is frozen now.
    fn is_frozen(&self) -> Result<bool, CgroupError>;
    /// Adds this version's counters of the controllers in `scope` to `stats`.
    fn stats(&self, stats: &mut CgroupStats, scope: StatsScope) -> Result<(), CgroupError>;
}
