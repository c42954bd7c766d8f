//! The veth pair: host end on the bridge, container end created directly in
//! the container's namespace under its final name.

use std::os::fd::AsRawFd;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};

use crate::cni::error::Error;
use crate::netlink::{self, Netlink};
use crate::netns::NetNs;

/// The host end's name, derived from the attachment so DEL and GC find it
/// without entering the (maybe deleted) container namespace.
pub fn host_name(container_id: &str, ifname: &str) -> String {
    // "veth" + 11 hex digits = 15 bytes, the longest interface name.
    format!("veth{:011x}", attachment_hash(container_id, ifname) >> 20)
}

/// The host end's MAC, also derived from the attachment: ADD knows it
/// without asking the kernel back (a lookup that can wait behind the
/// kernel's link-up work). Locally administered, unicast.
pub fn host_mac(container_id: &str, ifname: &str) -> [u8; 6] {
    let h = attachment_hash(container_id, ifname).to_be_bytes();
    [(h[2] & 0xfc) | 0x02, h[3], h[4], h[5], h[6], h[7]]
}

/// FNV-1a, 64 bit: stable across releases, unlike std's hasher.
fn attachment_hash(container_id: &str, ifname: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id.bytes().chain([0]).chain(ifname.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub struct VethSpec<'a> {
    pub host_name: &'a str,
    pub host_mac: [u8; 6],
    pub bridge_index: u32,
    pub mtu: Option<u32>,
    pub container_ifname: &'a str,
    pub container_mac: Option<[u8; 6]>,
    pub netns: &'a NetNs,
}

/// A host link looked up by name, with what the kernel says about its peer.
#[derive(Debug, Clone)]
pub struct HostEnd {
    pub index: u32,
    /// Kind veth with a peer: a pair whose other end lives somewhere
    /// (deleting either end of a pair deletes both, so the peer of a
    /// listed veth always exists).
    pub is_veth_pair: bool,
    /// The id (in this namespace) of the namespace holding the peer; None
    /// when the peer is in this namespace or there is no peer; -1 when that
    /// namespace is being destroyed (the kernel gives a dying namespace no
    /// id; the pair goes with it within milliseconds).
    pub peer_nsid: Option<i32>,
}

/// Looks up host link `name`; None when there is none.
pub fn lookup(nl: &mut Netlink, name: &str) -> Result<Option<HostEnd>, Error> {
    let Some(link) = nl
        .link_by_name(name)
        .map_err(|e| Error::netlink(format!("looking up host veth {name}"), e))?
    else {
        return Ok(None);
    };
    let is_veth = link.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Veth))),
        _ => false,
    });
    Ok(Some(HostEnd {
        index: link.header.index,
        is_veth_pair: is_veth && netlink::link_peer_index(&link).is_some_and(|i| i != 0),
        peer_nsid: netlink::link_peer_nsid(&link),
    }))
}

impl HostEnd {
    /// A veth pair whose peer's namespace is alive: a live attachment's.
    pub fn peer_lives(&self) -> bool {
        self.is_veth_pair && !self.peer_dying()
    }

    /// A veth pair whose peer's namespace is being destroyed.
    pub fn peer_dying(&self) -> bool {
        self.is_veth_pair && self.peer_nsid.is_some_and(|id| id < 0)
    }

    /// Whether this is a veth whose peer lives in `netns`. `nl` must be a
    /// socket of the namespace the link was looked up in: nsids are per
    /// namespace. The lookup gave the peer's namespace an id, so an
    /// unassigned id for `netns` means the peer is elsewhere.
    pub fn peer_in(&self, nl: &mut Netlink, netns: &NetNs) -> Result<bool, Error> {
        let Some(peer) = self.peer_nsid.filter(|_| self.is_veth_pair) else {
            return Ok(false);
        };
        let id = nl
            .nsid_of(netns.file())
            .map_err(|e| Error::netlink(format!("getting the id of netns {}", netns.path()), e))?;
        Ok(id == Some(peer))
    }
}

/// Creates the pair in one request. EEXIST means a link already has the
/// host name. The name is derived from the attachment, whose claim this ADD
/// holds, so the link is either a leftover of this same attachment (a veth
/// whose peer is in this container's namespace) or a pair whose peer's
/// namespace is being destroyed (both removed, creation retried once), or
/// someone else's (refused as in use, left alone).
pub fn create(nl: &mut Netlink, spec: &VethSpec<'_>) -> Result<(), Error> {
    let build = || {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(spec.container_ifname.to_string()));
        peer.attributes
            .push(LinkAttribute::NetNsFd(spec.netns.file().as_raw_fd()));
        if let Some(mtu) = spec.mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = spec.container_mac {
            peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes
            .push(LinkAttribute::IfName(spec.host_name.to_string()));
        msg.attributes
            .push(LinkAttribute::Address(spec.host_mac.to_vec()));
        msg.attributes
            .push(LinkAttribute::Controller(spec.bridge_index));
        if let Some(mtu) = spec.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        RouteNetlinkMessage::NewLink(msg)
    };
    let creating = |e| Error::netlink(format!("creating veth {}", spec.host_name), e);
    match nl.request(build(), NLM_F_CREATE | NLM_F_EXCL) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            let ours = match lookup(nl, spec.host_name)? {
                Some(h) => h.peer_dying() || h.peer_in(nl, spec.netns)?,
                // Gone meanwhile: nothing to remove, just retry.
                None => true,
            };
            if !ours {
                return Err(Error::InUse(format!(
                    "host interface name {} (a link whose peer is not in {})",
                    spec.host_name,
                    spec.netns.path()
                )));
            }
            tracing::warn!(
                host = spec.host_name,
                "removing this attachment's leftover host veth"
            );
            nl.delete_link(spec.host_name)
                .map_err(|e| Error::netlink(format!("removing leftover {}", spec.host_name), e))?;
            nl.request(build(), NLM_F_CREATE | NLM_F_EXCL)
                .map_err(creating)
        }
        Err(e) => Err(creating(e)),
    }
}

/// Lets frames leave the bridge port they came in on (reflective relay).
pub fn set_hairpin(nl: &mut Netlink, host_name: &str) -> Result<(), Error> {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(host_name.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    nl.request(RouteNetlinkMessage::NewLink(msg), 0)
        .map_err(|e| Error::netlink(format!("setting hairpin mode on {host_name}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_macs_are_stable_valid_and_distinct() {
        let (a, b) = (host_name("c1", "eth0"), host_name("c1", "eth1"));
        assert_eq!(a, host_name("c1", "eth0"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 15);
        let mac = host_mac("c1", "eth0");
        // Unicast, locally administered.
        assert_eq!(mac[0] & 0x03, 0x02);
        assert_ne!(mac, host_mac("c2", "eth0"));
    }
}
