//! The bridge: created when missing, gateway addresses put on it.

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};

use crate::addr;
use crate::cni::error::Error;
use crate::netlink::{self, Netlink};

#[derive(Debug, Clone)]
pub struct Bridge {
    pub name: String,
    pub index: u32,
    pub mac: Vec<u8>,
}

pub fn is_bridge(link: &LinkMessage) -> bool {
    link.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

/// Finds or creates bridge `name`, up, with `mtu` and promiscuous mode.
pub fn ensure(
    nl: &mut Netlink,
    name: &str,
    mtu: Option<u32>,
    promisc: bool,
) -> Result<Bridge, Error> {
    let link = match nl
        .link_by_name(name)
        .map_err(|e| Error::netlink(format!("looking up bridge {name}"), e))?
    {
        Some(link) => link,
        None => {
            let mut msg = LinkMessage::default();
            msg.attributes.push(LinkAttribute::IfName(name.to_string()));
            if let Some(mtu) = mtu {
                msg.attributes.push(LinkAttribute::Mtu(mtu));
            }
            msg.attributes
                .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Bridge,
                )]));
            match nl.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL) {
                Ok(()) => {}
                // Another ADD made it first; use theirs.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(Error::netlink(format!("creating bridge {name}"), e)),
            }
            nl.link_by_name(name)
                .map_err(|e| Error::netlink(format!("looking up bridge {name}"), e))?
                .ok_or_else(|| {
                    Error::netlink(
                        format!("bridge {name} vanished after creation"),
                        std::io::Error::from_raw_os_error(libc::ENODEV),
                    )
                })?
        }
    };
    if !is_bridge(&link) {
        return Err(Error::InvalidConfig(format!(
            "{name} exists and is not a bridge"
        )));
    }
    let index = link.header.index;
    let want = if promisc {
        LinkFlags::Up | LinkFlags::Promisc
    } else {
        LinkFlags::Up
    };
    if !link.header.flags.contains(want) {
        let extra = if promisc {
            LinkFlags::Promisc
        } else {
            LinkFlags::empty()
        };
        nl.set_up(index, extra)
            .map_err(|e| Error::netlink(format!("setting bridge {name} up"), e))?;
    }
    Ok(Bridge {
        name: name.to_string(),
        index,
        mac: netlink::link_mac(&link)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    })
}

/// Puts each gateway address on the bridge. Another address of the same
/// subnet is an error unless `force`, in which case it is replaced.
pub fn ensure_gateways(
    nl: &mut Netlink,
    bridge: &Bridge,
    gateways: &[IpNet],
    force: bool,
) -> Result<(), Error> {
    let dump = nl
        .addresses_of(bridge.index)
        .map_err(|e| Error::netlink(format!("listing addresses of {}", bridge.name), e))?;
    let present = addr::addresses_on(&dump, bridge.index);
    for gw in gateways {
        if present.contains(gw) {
            continue;
        }
        for other in present
            .iter()
            .filter(|p| p.addr().is_ipv4() == gw.addr().is_ipv4() && p.trunc() == gw.trunc())
        {
            if !force {
                return Err(Error::InvalidConfig(format!(
                    "bridge {} has address {other}, not the gateway {gw} (set forceAddress to replace it)",
                    bridge.name
                )));
            }
            nl.request(
                RouteNetlinkMessage::DelAddress(addr::address_message(bridge.index, *other)),
                0,
            )
            .map_err(|e| Error::netlink(format!("removing {other} from {}", bridge.name), e))?;
        }
        // REPLACE keeps concurrent ADDs that race on the same gateway happy.
        nl.request(
            RouteNetlinkMessage::NewAddress(addr::address_message(bridge.index, *gw)),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map_err(|e| Error::netlink(format!("adding {gw} to {}", bridge.name), e))?;
    }
    Ok(())
}
