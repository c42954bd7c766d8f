//! Removing what one attachment's ADD made: its host veth, its nftables
//! elements, its leases. The record itself is the caller's to remove (ADD
//! replaces it with its own claim). Used by DEL, GC and ADD (for a stale or
//! replaced attachment of the same name).

use crate::attachment::Record;
use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::detach;
use crate::ipam::{self, Ipam};
use crate::netlink::Netlink;
use crate::netns::NetNs;
use crate::verbs::subnets;
use crate::{nft, veth};

/// Removes `rec`'s host veth (see [`remove_host_veth`]), nftables elements
/// and leases (by address when recorded, else every lease its container
/// id and ifname own). Whatever is gone already is skipped.
pub fn undo(
    conf: &NetConf,
    ipam: &Ipam,
    nl: &mut Netlink,
    rec: &Record,
    netns: Option<&NetNs>,
) -> Result<(), Error> {
    remove_host_veth(nl, &rec.host_veth, netns)?;
    if rec.ip_masq || !rec.port_mappings.is_empty() {
        let nets = subnets(ipam);
        nft::Table::new(&conf.name, &rec.bridge, &nets).remove_attachment(
            &rec.ips,
            rec.ip_masq,
            &rec.port_mappings,
        )?;
    }
    ipam::release(
        ipam,
        &conf.name,
        &rec.container_id,
        &rec.ifname,
        rec.known_ips(),
    )
}

/// Deletes host link `name` when the kernel says it belongs to the
/// attachment: a veth pair whose peer is in `netns`, or, when the
/// attachment's namespace is unknown or gone (`None`), any veth pair (the
/// name came from the attachment's record or id); or a pair whose peer's
/// namespace is being destroyed. Anything else of that name is left alone.
/// Ok(true) when it deleted the link.
pub fn remove_host_veth(
    nl: &mut Netlink,
    name: &str,
    netns: Option<&NetNs>,
) -> Result<bool, Error> {
    let Some(host) = veth::lookup(nl, name)? else {
        return Ok(false);
    };
    // A pair whose peer's namespace is dying goes anyway (it is no one's).
    let ours = host.peer_dying()
        || match netns {
            Some(ns) => host.peer_in(nl, ns)?,
            None => host.is_veth_pair,
        };
    if !ours {
        tracing::warn!(
            host = name,
            netns = netns.map(NetNs::path),
            "leaving a host link whose peer is not in the attachment's netns"
        );
        return Ok(false);
    }
    // Deleting the host end removes the container end too, wherever it is.
    detach::delete_link_at(nl, name, host.index)
        .map_err(|e| Error::netlink(format!("deleting veth {name}"), e))
}
