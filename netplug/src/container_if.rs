//! The container's side: run inside its namespace (see [`crate::netns`]).

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkFlags;
use netlink_packet_route::route::RouteMessage;

use crate::addr::{self, RouteEntry};
use crate::cni::error::Error;
use crate::netlink::{self, Netlink};

/// LOOPBACK_IFINDEX in include/net/net_namespace.h.
const LOOPBACK_INDEX: u32 = 1;

#[derive(Debug, Clone)]
pub struct ContainerIf {
    pub index: u32,
    pub mac: Vec<u8>,
}

/// What CHECK compares against prevResult.
#[derive(Debug, Clone)]
pub struct Observed {
    pub mac: Vec<u8>,
    pub addresses: Vec<IpNet>,
    pub routes: Vec<RouteEntry>,
}

pub fn exists(nl: &mut Netlink, ifname: &str) -> Result<bool, Error> {
    nl.link_by_name(ifname)
        .map(|l| l.is_some())
        .map_err(|e| Error::netlink(format!("looking up {ifname} in the container"), e))
}

/// Brings lo up in the namespace of `nl` (a socket opened inside it, see
/// [`crate::netns::NetNs::netlink`]); the engine's `--network none` uses it for
/// a namespace with no other device. Loopback is the first device of every
/// namespace: index 1 (LOOPBACK_IFINDEX), no lookup needed. Setting it up
/// again is harmless.
pub fn loopback_up(nl: &mut Netlink) -> Result<(), Error> {
    nl.set_up(LOOPBACK_INDEX, LinkFlags::empty())
        .map_err(|e| Error::netlink("setting lo up", e))
}

/// Brings lo and `ifname` up with `addresses` and `routes`.
pub fn configure(
    nl: &mut Netlink,
    ifname: &str,
    addresses: &[IpNet],
    routes: &[RouteEntry],
) -> Result<ContainerIf, Error> {
    loopback_up(nl)?;
    let link = nl
        .link_by_name(ifname)
        .map_err(|e| Error::netlink(format!("looking up {ifname}"), e))?
        .ok_or_else(|| {
            Error::netlink(
                format!("{ifname} missing after veth creation"),
                std::io::Error::from_raw_os_error(libc::ENODEV),
            )
        })?;
    let index = link.header.index;
    for net in addresses {
        nl.request(
            RouteNetlinkMessage::NewAddress(addr::address_message(index, *net)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| Error::netlink(format!("adding {net} to {ifname}"), e))?;
    }
    nl.set_up(index, LinkFlags::empty())
        .map_err(|e| Error::netlink(format!("setting {ifname} up"), e))?;
    for r in routes {
        nl.request(
            RouteNetlinkMessage::NewRoute(addr::route_message(index, r.dst, r.gw)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| Error::netlink(format!("adding route {} on {ifname}", r.dst), e))?;
    }
    Ok(ContainerIf {
        index,
        mac: netlink::link_mac(&link)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    })
}

/// Reads back the interface's MAC, addresses and routes; None when missing.
pub fn observe(nl: &mut Netlink, ifname: &str) -> Result<Option<Observed>, Error> {
    let Some(link) = nl
        .link_by_name(ifname)
        .map_err(|e| Error::netlink(format!("looking up {ifname}"), e))?
    else {
        return Ok(None);
    };
    let index = link.header.index;
    let addrs = nl
        .dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
        .map_err(|e| Error::netlink("listing addresses", e))?;
    let mut routes = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut req = RouteMessage::default();
        req.header.address_family = family;
        let dump = nl
            .dump(RouteNetlinkMessage::GetRoute(req))
            .map_err(|e| Error::netlink("listing routes", e))?;
        routes.extend(addr::routes_in(&dump));
    }
    Ok(Some(Observed {
        mac: netlink::link_mac(&link)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
        addresses: addr::addresses_on(&addrs, index),
        routes,
    }))
}

/// The default route's destination for the family of `gw`.
pub fn default_dst(gw: IpAddr) -> IpNet {
    match gw {
        IpAddr::V4(_) => IpNet::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => IpNet::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0),
    }
    .unwrap_or_default()
}
