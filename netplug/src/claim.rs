//! Who holds an attachment name. On one network, (container id, ifname)
//! names one attachment (SPEC.md: a runtime must not ADD the same tuple
//! twice without a DEL), and the host veth name, the lease owner and the
//! record are all derived from it. ADD therefore claims the name (writes
//! the record) before it leases or makes anything, and a record already
//! there is judged from kernel facts, never assumed stale:
//!
//! - same container namespace (for a record written before the namespace
//!   was kept: its host veth's peer is in it): the same attachment added
//!   again; what it left may be replaced;
//! - its host veth is a pair whose peer's namespace lives, or its
//!   namespace still exists: another live attachment; refused, untouched;
//! - neither: a leftover (namespace deleted or dying, ADD crashed);
//!   recovered.

use std::path::Path;

use crate::attachment::{self, Record};
use crate::cni::error::Error;
use crate::ipam::store::Store;
use crate::netlink::Netlink;
use crate::netns::{NetNs, NetnsId};
use crate::veth;

/// What an existing record is, as far as the kernel can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The record is of the namespace being asked about: the same attachment.
    Same,
    /// Its host veth pair exists or its namespace still does.
    Live,
    /// Nothing of it lives any more.
    Stale,
}

/// Judges `rec` for an invocation on `netns` (None: the invocation's
/// namespace is unknown or gone). `nl` is a socket of the host namespace.
pub fn judge(nl: &mut Netlink, rec: &Record, netns: Option<&NetNs>) -> Result<Standing, Error> {
    let host = veth::lookup(nl, &rec.host_veth)?;
    if let Some(ns) = netns {
        let same = match (rec.is_in(ns.path(), Some(ns)), &host) {
            (Some(known), _) => known,
            // Written before the namespace was kept: the kernel tells.
            (None, Some(h)) => h.peer_in(nl, ns)?,
            (None, None) => false,
        };
        if same {
            return Ok(Standing::Same);
        }
    }
    // A veth pair dies as a whole, so a listed pair means its container end
    // still lives, whichever namespace holds it, unless that namespace is
    // being destroyed.
    if host.is_some_and(|h| h.peer_lives()) {
        return Ok(Standing::Live);
    }
    if rec
        .netns_id
        .is_some_and(|id| NetnsId::of_path(&rec.netns) == Some(id))
    {
        return Ok(Standing::Live);
    }
    Ok(Standing::Stale)
}

/// Whether CNI_NETNS `path` (opened as `opened`, None when it does not
/// open) is `rec`'s namespace. A record written before the namespace was
/// kept cannot tell ([`Record::is_in`]); for it the kernel does: its host
/// veth's peer is in `opened`. Without a namespace, or without a live host
/// veth, nothing says it is another's, and it counts as this one's (as
/// before such records had a namespace). `nl` is a socket of the host
/// namespace.
///
/// Errors: netlink looking up the host veth or the namespace's id.
pub fn is_of(
    nl: &mut Netlink,
    rec: &Record,
    path: &str,
    opened: Option<&NetNs>,
) -> Result<bool, Error> {
    if let Some(known) = rec.is_in(path, opened) {
        return Ok(known);
    }
    let (Some(ns), Some(host)) = (opened, veth::lookup(nl, &rec.host_veth)?) else {
        return Ok(true);
    };
    if !host.peer_lives() {
        return Ok(true);
    }
    host.peer_in(nl, ns)
}

/// Claims `rec`'s name for an ADD into `netns`: writes `rec` unless a live
/// attachment of another namespace holds the name. Returns the record it
/// replaced (same attachment or stale) so the caller can remove what that
/// one made before making its own.
///
/// Errors: [`Error::AttachmentExists`] when the name is held; I/O on the
/// record; netlink while judging.
pub fn claim(
    store: &Store,
    network_dir: &Path,
    rec: &Record,
    netns: &NetNs,
    nl: &mut Netlink,
) -> Result<Option<Record>, Error> {
    // The network's lock makes judge-then-write one step for concurrent
    // ADDs of the same name.
    let _lock = store.lock()?;
    let prior = attachment::load(network_dir, &rec.container_id, &rec.ifname)?;
    if let Some(old) = &prior {
        let standing = judge(nl, old, Some(netns))?;
        tracing::info!(
            container = rec.container_id,
            ifname = rec.ifname,
            netns = old.netns,
            ?standing,
            "attachment name already recorded"
        );
        if standing == Standing::Live {
            return Err(Error::AttachmentExists {
                container_id: rec.container_id.clone(),
                ifname: rec.ifname.clone(),
                netns: old.netns.clone(),
            });
        }
    }
    attachment::save(network_dir, rec)?;
    Ok(prior)
}
