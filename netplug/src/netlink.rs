//! A small synchronous rtnetlink client: one socket, request/ack and dumps.
//!
//! A plugin process makes a handful of requests and exits, so a blocking
//! socket is simpler and faster than an async runtime. The socket belongs to
//! the network namespace of the thread that opened it (see [`crate::netns`]).

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkFlags, LinkMessage};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // Extended acks make the kernel explain EINVAL and friends.
        socket.set_ext_ack(true)?;
        Ok(Self {
            socket,
            seq: 0,
            buf: Vec::with_capacity(4096),
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        self.buf.clear();
        self.buf.resize(packet.buffer_len(), 0);
        packet.serialize(&mut self.buf);
        self.socket.send(&self.buf, 0)?;
        Ok(self.seq)
    }

    /// Reads replies to `seq`, handing each inner message to `on_msg`, until
    /// the ack (or error) or the end of a dump.
    fn receive(&mut self, seq: u32, mut on_msg: impl FnMut(RouteNetlinkMessage)) -> io::Result<()> {
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut offset = 0;
            while offset < data.len() {
                let bytes = &data[offset..];
                let len = NetlinkBuffer::new_checked(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
                    .length() as usize;
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                // Netlink messages are 4-byte aligned.
                offset += (len + 3) & !3;
                if len == 0 {
                    break;
                }
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(e.to_io()),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::InnerMessage(m) => on_msg(m),
                    _ => {}
                }
            }
        }
    }

    /// Sends a request and waits for the kernel's ack.
    pub fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let seq = self.send(msg, flags | NLM_F_ACK)?;
        self.receive(seq, |_| {})
    }

    /// Sends a dump request and collects every answer.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut out = Vec::new();
        self.receive(seq, |m| out.push(m))?;
        Ok(out)
    }

    /// Dumps the addresses of link `index` only. Strict checking makes the
    /// kernel filter by index, so the cost does not grow with the number of
    /// veths on the host (each has its own IPv6 link-local address).
    pub fn addresses_of(&mut self, index: u32) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.socket.set_netlink_get_strict_chk(true)?;
        let mut req = AddressMessage::default();
        req.header.index = index;
        let out = self.dump(RouteNetlinkMessage::GetAddress(req));
        self.socket.set_netlink_get_strict_chk(false)?;
        out
    }

    /// Looks a link up by name; `None` when there is no such link.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkMessage>> {
        let mut req = LinkMessage::default();
        req.attributes.push(LinkAttribute::IfName(name.to_string()));
        // Counters are a third of the reply and nobody here reads them.
        req.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let seq = self.send(RouteNetlinkMessage::GetLink(req), NLM_F_ACK)?;
        let mut found = None;
        match self.receive(seq, |m| {
            if let RouteNetlinkMessage::NewLink(l) = m {
                found = Some(l);
            }
        }) {
            Ok(()) => Ok(found),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id this socket's namespace gives the namespace open at `ns`
    /// (RTM_GETNSID); None when it has given it none. Link dumps report a
    /// peer in another namespace by this id (IFLA_LINK_NETNSID).
    pub fn nsid_of(&mut self, ns: &impl AsRawFd) -> io::Result<Option<i32>> {
        let mut req = NsidMessage::default();
        // The kernel reads the fd as a u32 attribute; fds are never negative.
        req.attributes
            .push(NsidAttribute::Fd(ns.as_raw_fd().unsigned_abs()));
        let seq = self.send(RouteNetlinkMessage::GetNsId(req), NLM_F_ACK)?;
        let mut id = None;
        self.receive(seq, |m| {
            if let RouteNetlinkMessage::NewNsId(m) = m {
                id = m.attributes.iter().find_map(|a| match a {
                    NsidAttribute::Id(i) => Some(*i),
                    _ => None,
                });
            }
        })?;
        // NETNSA_NSID_NOT_ASSIGNED is -1.
        Ok(id.filter(|i| *i >= 0))
    }

    /// Sets IFF_UP (and `extra` flags) on a link.
    pub fn set_up(&mut self, index: u32, extra: LinkFlags) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up | extra;
        msg.header.change_mask = LinkFlags::Up | extra;
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
    }

    /// Deletes a link by name; Ok(false) when it was already gone.
    pub fn delete_link(&mut self, name: &str) -> io::Result<bool> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::DelLink(msg), 0) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Small accessors over a link message's attributes.
pub fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

pub fn link_mac(link: &LinkMessage) -> Option<&[u8]> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(m) => Some(m.as_slice()),
        _ => None,
    })
}

pub fn link_controller(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    })
}

/// The id of the namespace holding the link's peer (IFLA_LINK_NETNSID), when
/// the peer is in another namespace than the link.
pub fn link_peer_nsid(link: &LinkMessage) -> Option<i32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkNetNsId(i) => Some(*i),
        _ => None,
    })
}

/// The peer's interface index (IFLA_LINK) in the peer's namespace; 0 or
/// None when the link has no peer.
pub fn link_peer_index(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Link(i) => Some(*i),
        _ => None,
    })
}
