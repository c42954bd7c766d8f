//! Container networking: the default bridge network `berth0` and user networks, each a
//! Linux bridge with its own subnet, joined through the berth-netplug library in process
//! (veth, IPAM, masquerade, port mappings in nftables); `--network none|host`; the
//! container's /etc/hosts, /etc/hostname and /etc/resolv.conf.
//!
//! - [`mode`]: `--network` values; [`ports`]: `-p` values.
//! - [`store`]: the network records and their bridges (`berth network create/ls/rm`).
//! - [`attach`]: a container's namespace and CNI ADD/DEL ([`attach()`], [`detach()`]).
//! - [`netns`]: network namespaces bind-mounted under `<runroot>/netns`.
//! - [`endpoints`]: who is on a network, for hosts-file name resolution.
//! - [`etc`]: the /etc files ([`write_etc_files`]); [`inspect`]: docker's inspect document.

pub mod attach;
pub mod endpoints;
pub mod error;
pub mod etc;
pub mod inspect;
pub mod mode;
pub mod netns;
pub mod ports;
pub mod store;

pub use attach::{AttachRequest, Attachment, attach, detach};
pub use error::NetworkError;
pub use etc::{EtcFiles, write_etc_files};
pub use mode::NetworkMode;
pub use ports::{PortMapping, Protocol, parse_publish};
pub use store::{CreateOptions, DEFAULT_NETWORK, Network, NetworkStore};

use crate::paths::StorePaths;

/// Lets [`detach`] (and [`attach`]'s nftables commit) leave the kernel's slow tails to
/// forked children: deleting a veth and closing a committed nftables socket each wait
/// ~15 ms for an RCU grace period after the work is done and visible. With this on, CNI
/// DEL returns once the kernel has announced the veth gone (~3 ms instead of ~40 ms) and
/// a short-lived child sits through the wait (berth-netplug's `detach` module).
///
/// For short-lived processes only (the CLI, a container's monitor): the children are
/// reaped if done when the call returns, else when the process exits (they are then
/// reparented). A long-running process that never reaps (`berth serve`) keeps it off.
pub fn set_kernel_waits_in_children(on: bool) {
    berth_netplug::detach::set_detached(on);
}

/// Removes the kernel objects of a whole store's networking: every network's bridge and
/// nftables table, and the `<runroot>/netns` mount. Containers must be gone first. For
/// tests and for resetting a store; records stay.
pub fn teardown_store(paths: &StorePaths) -> Result<(), NetworkError> {
    NetworkStore::open(paths).delete_all_kernel_objects()?;
    netns::release_dir(&paths.runroot)
}
