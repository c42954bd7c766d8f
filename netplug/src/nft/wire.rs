//! Set elements over nfnetlink, without spawning `nft`.
//!
//! ADD and DEL only touch set and map elements, so they speak the three
//! nftables messages they need (GETCHAIN, NEWSETELEM, DELSETELEM) directly:
//! a batch is a few hundred bytes and one round trip.
//!
//! Keys and data are laid out as nftables registers: each field of a
//! concatenation takes a multiple of 4 bytes, numbers in network order.

use std::io;
use std::net::IpAddr;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_INET: u8 = 1;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;

const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// One element: which set, its key and (for maps) its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub set: String,
    pub key: Vec<u8>,
    pub data: Option<Vec<u8>>,
}

/// A register field: `bytes` padded with zeros to a multiple of 4.
pub fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.resize(out.len() + (4 - bytes.len() % 4) % 4, 0);
}

pub fn ip_field(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => field(out, &v4.octets()),
        IpAddr::V6(v6) => field(out, &v6.octets()),
    }
}

pub fn proto_number(proto: &str) -> u8 {
    match proto {
        "udp" => 17,
        "sctp" => 132,
        _ => 6,
    }
}

/// A growing netlink buffer with nested attributes.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn start(
        buf: Vec<u8>,
        kind: u16,
        flags: u16,
        seq: u32,
        family: u8,
        res_id: u16,
    ) -> (Self, usize) {
        let mut m = Self { buf };
        let at = m.buf.len();
        m.buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in end()
        m.buf.extend_from_slice(&kind.to_ne_bytes());
        m.buf.extend_from_slice(&flags.to_ne_bytes());
        m.buf.extend_from_slice(&seq.to_ne_bytes());
        m.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        // struct nfgenmsg
        m.buf.push(family);
        m.buf.push(0); // NFNETLINK_V0
        m.buf.extend_from_slice(&res_id.to_be_bytes());
        (m, at)
    }

    fn end(mut self, at: usize) -> Vec<u8> {
        let len = (self.buf.len() - at) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.buf.resize(self.buf.len() + (4 - len % 4) % 4, 0);
    }

    fn str_attr(&mut self, kind: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v);
    }

    fn nest_start(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn nest_end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

pub struct Nfnl {
    socket: Socket,
    seq: u32,
    /// Whether a batch was sent: only then is the close slow.
    committed: bool,
}

impl Drop for Nfnl {
    fn drop(&mut self) {
        // Closing after a commit waits for RCU; let a child take that.
        if self.committed {
            crate::detach::release_in_child(std::os::fd::AsRawFd::as_raw_fd(&self.socket));
        }
    }
}

impl Nfnl {
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Self {
            socket,
            seq: 0,
            committed: false,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Whether chain `chain` of `inet <table>` exists (false when the table
    /// does not either).
    pub fn chain_exists(&mut self, table: &str, chain: &str) -> io::Result<bool> {
        let seq = self.next_seq();
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
        let (mut m, at) = Msg::start(
            Vec::new(),
            kind,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            NFPROTO_INET,
            0,
        );
        m.str_attr(NFTA_CHAIN_TABLE, table);
        m.str_attr(NFTA_CHAIN_NAME, chain);
        let buf = m.end(at);
        self.socket.send(&buf, 0)?;
        match self.wait_acks(&[seq]) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Adds (`add == true`) or deletes `elements` of `table` in one batch:
    /// all or nothing.
    pub fn elements(&mut self, table: &str, elements: &[Element], add: bool) -> io::Result<()> {
        if elements.is_empty() {
            return Ok(());
        }
        let begin_seq = self.next_seq();
        let (m, at) = Msg::start(
            Vec::new(),
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            begin_seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        );
        let mut buf = m.end(at);
        let mut seqs = Vec::new();
        for e in elements {
            let seq = self.next_seq();
            seqs.push(seq);
            let (kind, flags) = if add {
                (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)
            } else {
                (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK)
            };
            let (mut m, at) = Msg::start(
                buf,
                (NFNL_SUBSYS_NFTABLES << 8) | kind,
                flags,
                seq,
                NFPROTO_INET,
                0,
            );
            m.str_attr(NFTA_SET_ELEM_LIST_TABLE, table);
            m.str_attr(NFTA_SET_ELEM_LIST_SET, &e.set);
            let list = m.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
            let elem = m.nest_start(NFTA_LIST_ELEM);
            let key = m.nest_start(NFTA_SET_ELEM_KEY);
            m.attr(NFTA_DATA_VALUE, &e.key);
            m.nest_end(key);
            if let (true, Some(data)) = (add, &e.data) {
                let d = m.nest_start(NFTA_SET_ELEM_DATA);
                m.attr(NFTA_DATA_VALUE, data);
                m.nest_end(d);
            }
            m.nest_end(elem);
            m.nest_end(list);
            buf = m.end(at);
        }
        let end_seq = self.next_seq();
        let (m, at) = Msg::start(
            buf,
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            end_seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        );
        let buf = m.end(at);
        self.committed = true;
        self.socket.send(&buf, 0)?;
        self.wait_acks(&seqs)
    }

    /// Reads until every sequence number in `seqs` is acked; the first
    /// error wins (the kernel aborts the whole batch on it).
    fn wait_acks(&mut self, seqs: &[u32]) -> io::Result<()> {
        let mut pending: Vec<u32> = seqs.to_vec();
        let mut first_err: Option<io::Error> = None;
        while !pending.is_empty() {
            let (data, _) = self.socket.recv_from_full()?;
            let mut d = data.as_slice();
            while d.len() >= 16 {
                let len = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]) as usize;
                if len < 16 || len > d.len() {
                    break;
                }
                let kind = u16::from_ne_bytes([d[4], d[5]]);
                let seq = u32::from_ne_bytes([d[8], d[9], d[10], d[11]]);
                if kind == NLMSG_ERROR && len >= 20 && pending.contains(&seq) {
                    let code = i32::from_ne_bytes([d[16], d[17], d[18], d[19]]);
                    pending.retain(|s| *s != seq);
                    if code != 0 && first_err.is_none() {
                        first_err = Some(io::Error::from_raw_os_error(-code));
                        // Stop at the first error; the caller drops this
                        // socket, so later replies of the batch do not matter.
                        pending.clear();
                    }
                }
                d = d.get((len + 3) & !3..).unwrap_or_default();
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenated_fields_are_padded_to_registers() {
        let mut key = Vec::new();
        field(&mut key, &[proto_number("tcp")]);
        field(&mut key, &8080u16.to_be_bytes());
        assert_eq!(key, [6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        let mut v6 = Vec::new();
        ip_field(
            &mut v6,
            "fd00::1"
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        );
        assert_eq!(v6.len(), 16);
    }
}
