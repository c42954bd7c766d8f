//! Built-in IPAM in the host-local format: one lease file per address, a
//! cursor per range set, a file lock shared by concurrent plugin processes.
//!
//! Allocation starts right after the last address handed out in the range set
//! (the cursor), so a busy network does not make ADD scan every lease.

pub mod allocator;
pub mod config;
pub mod range;
pub mod store;

pub use allocator::{Lease, allocate, gc, release};
pub use config::{Ipam, IpamConf, RangeSet, Route};
