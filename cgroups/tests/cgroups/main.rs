//! Real processes in real cgroups (root). On this hybrid host they exercise the v1
//! managers plus the v2 hierarchy at /sys/fs/cgroup/unified; in the pure-v2 VM lane
//! (tests/vm/run-cgroup-tests.sh) the same tests exercise the v2 managers.

mod bad_input;
mod devices;
mod files;
mod freeze;
mod harness;
mod limits;
mod placement;
mod stats;
