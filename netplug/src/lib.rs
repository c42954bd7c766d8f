//! berth-netplug: a CNI 1.1 bridge plugin with built-in IPAM, masquerade and
//! port mappings. The binary `berth-cni` is a thin shell around [`run`]; the
//! engine calls the same verbs in process.
//!
//! Where things live:
//! - [`cni`]: the CNI contract: invocation (env), config, results, versions, errors.
//! - [`verbs`]: one file per CNI command (ADD, DEL, CHECK, GC, STATUS, VERSION).
//! - [`ipam`]: host-local compatible address allocation with a cursor and a file lock.
//! - [`bridge`], [`veth`], [`container_if`]: the kernel objects, over netlink.
//! - [`netlink`]: a small synchronous rtnetlink client; [`detach`]: not
//!   waiting out the kernel's RCU tails (link deletion, nftables commits).
//! - [`netns`]: opening a network namespace and a netlink socket inside it.
//! - [`nft`]: masquerade and port mappings, one nftables table per network.
//! - [`attachment`]: what ADD created, kept for DEL, CHECK and GC.
//! - [`claim`]: one attachment per (container id, ifname), judged from facts;
//!   [`teardown`]: removing what one attachment made.
//! - [`sysctl`]: forwarding switches.

pub mod addr;
pub mod attachment;
pub mod bridge;
pub mod claim;
pub mod cni;
pub mod container_if;
pub mod detach;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod sysctl;
pub mod teardown;
pub mod verbs;
pub mod veth;

pub use cni::config::NetConf;
pub use cni::error::{Error, ErrorCode};
pub use cni::invocation::{Command, Invocation};
pub use cni::result::AddResult;
pub use verbs::{Outcome, run};
