//! Building and reading rtnetlink address and route messages.

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// RTM_NEWADDR/DELADDR payload for `net` on link `index`. IPv6 addresses skip
/// duplicate address detection: the plugin owns the subnet, and a tentative
/// address would not answer until DAD finished.
pub fn address_message(index: u32, net: IpNet) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = family(net.addr());
    msg.header.prefix_len = net.prefix_len();
    msg.header.index = index;
    msg.attributes.push(AddressAttribute::Local(net.addr()));
    msg.attributes.push(AddressAttribute::Address(net.addr()));
    if net.addr().is_ipv6() {
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    msg
}

/// The addresses (with prefix) in an address dump that sit on link `index`.
pub fn addresses_on(msgs: &[netlink_packet_route::RouteNetlinkMessage], index: u32) -> Vec<IpNet> {
    msgs.iter()
        .filter_map(|m| match m {
            netlink_packet_route::RouteNetlinkMessage::NewAddress(a) if a.header.index == index => {
                let ip = a.attributes.iter().find_map(|attr| match attr {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })?;
                IpNet::new(ip, a.header.prefix_len).ok()
            }
            _ => None,
        })
        .collect()
}

/// RTM_NEWROUTE payload: `dst` via optional `gw` out of link `index`.
pub fn route_message(index: u32, dst: IpNet, gw: Option<IpAddr>) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = family(dst.addr());
    msg.header.destination_prefix_length = dst.prefix_len();
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Boot;
    msg.header.kind = RouteType::Unicast;
    msg.header.scope = if gw.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    if dst.prefix_len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                dst.network(),
            )));
    }
    if let Some(gw) = gw {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    }
    msg.attributes.push(RouteAttribute::Oif(index));
    msg
}

/// A route as read back from the kernel: destination and gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub dst: IpNet,
    pub gw: Option<IpAddr>,
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Routes of the main table from a route dump.
pub fn routes_in(msgs: &[netlink_packet_route::RouteNetlinkMessage]) -> Vec<RouteEntry> {
    msgs.iter()
        .filter_map(|m| match m {
            netlink_packet_route::RouteNetlinkMessage::NewRoute(r)
                if r.header.table == RouteHeader::RT_TABLE_MAIN =>
            {
                let unspecified: IpAddr = if r.header.address_family == AddressFamily::Inet6 {
                    IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                };
                let dst = r
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        RouteAttribute::Destination(d) => route_addr(d),
                        _ => None,
                    })
                    .unwrap_or(unspecified);
                let gw = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(g) => route_addr(g),
                    _ => None,
                });
                Some(RouteEntry {
                    dst: IpNet::new(dst, r.header.destination_prefix_length).ok()?,
                    gw,
                })
            }
            _ => None,
        })
        .collect()
}
