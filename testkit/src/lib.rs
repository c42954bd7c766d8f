//! Test helpers shared by berth's crates, used as a dev-dependency (and by the
//! end-to-end tests crate). One place for each helper, named for what it does:
//!
//! - [`root`]: the root check every root-only test starts with.
//! - [`ids`]: names unique to a test process and call, for containers, cgroups, links.
//! - [`cgroup`]: a throw-away cgroup on v2 and hybrid hosts, removed on drop.
//! - [`child`]: running a test body in a forked child; a child killed on drop.
//! - [`workload`]: this test binary re-run as a child with a known workload.
//! - [`rng`]: replayable randomness from a seed.
//! - [`scrape`]: HTTP scrapes of an exporter and reading samples out of an exposition.
//! - [`tools`]: the programs tests drive, and which package to install when one is missing.
//! - [`wait`]: polling until something shows up, with a time limit.

pub mod cgroup;
pub mod child;
pub mod ids;
pub mod rng;
pub mod root;
pub mod scrape;
pub mod tools;
pub mod wait;
pub mod workload;
