//! The message channel between the runtime (`create`) and the processes it forks.
//!
//! A `SOCK_SEQPACKET` socketpair keeps message boundaries, so each message is one JSON
//! datagram and no framing code is needed. Both ends are CLOEXEC: the container's process
//! never inherits them. A datagram has no size bound of its own here (`Continue` carries
//! the annotations, which Kubernetes allows up to 256 KiB): the sender grows its socket
//! buffer to fit it, and the receiver peeks at its size before reading it whole.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recv,
    recvmsg, send, sendmsg, setsockopt, socketpair, sockopt,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, sys_err};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Message {
    /// Stage 1 → runtime: a new user namespace exists; write its id maps.
    UsernsCreated,
    /// Runtime → stage 1: the maps are written.
    MapsWritten,
    /// Stage 1 → runtime: the host pid of the container init (or exec'd process).
    InitPid { pid: i32 },
    /// Runtime → stage 2: your pid is recorded. Stage 2 waits for this before it sends
    /// anything: stage 1's `InitPid` and stage 2's messages share one socket, so without
    /// it the runtime could see `Ready` (or a hook request) before it knows the pid.
    PidRecorded,
    /// Init → runtime: open the spec's bind-mount sources for me (I am in a user
    /// namespace; `rootfs::bind_sources`).
    OpenMountSources,
    /// Runtime → init: `O_PATH` fds of the sources of the spec mounts at these indices,
    /// in this order, attached to this message (SCM_RIGHTS); `more`: another such message
    /// follows (one carries at most [`MAX_FDS`]). None at all: open them yourself.
    MountSources { mounts: Vec<usize>, more: bool },
    /// Init → runtime: mounts are done, run the runtime-namespace hooks now.
    RunRuntimeHooks,
    /// Runtime → init: hooks done; the OCI state for the container-side hooks.
    Continue { state: String },
    /// Init → runtime: a seccomp notify fd follows on the socket (SCM_RIGHTS).
    SeccompNotifyFd,
    /// Init → runtime: everything is set up; the init waits for `Created`.
    Ready,
    /// Runtime → init: the container is recorded as created; block on the exec fifo and
    /// outlive the runtime from now on.
    Created,
    /// Either side: setup failed.
    Error { msg: String },
}

/// The most fds one message carries (the kernel's SCM_MAX_FD is 253).
pub const MAX_FDS: usize = 250;

pub struct Channel {
    fd: OwnedFd,
}

/// The runtime's end and the child's end.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(sys_err("creating init channel", "socketpair"))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl std::os::fd::AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Channel {
    pub fn send(&self, msg: &Message) -> Result<()> {
        let data =
            serde_json::to_vec(msg).map_err(|e| Error::Init(format!("encoding message: {e}")))?;
        let send_once = || send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL);
        // Grown only when needed: an ordinary message costs no extra syscall, which a
        // seccomp profile already loaded in the init might refuse.
        let sent = match send_once() {
            Err(nix::errno::Errno::EMSGSIZE) => {
                self.fit_send_buffer(data.len())?;
                send_once()
            }
            other => other,
        };
        sent.map_err(sys_err("sending on init channel", "socketpair"))?;
        Ok(())
    }

    /// A unix datagram longer than the sender's buffer (less some overhead) fails with
    /// EMSGSIZE: grow the buffer to hold `len`. SO_SNDBUF is capped by
    /// `net.core.wmem_max`; above it SO_SNDBUFFORCE (CAP_NET_ADMIN) is tried.
    fn fit_send_buffer(&self, len: usize) -> Result<()> {
        // The kernel refuses a datagram above sk_sndbuf - 32; keep a margin for the skb.
        let needed = len.saturating_add(4096);
        let fits = |ch: &Self| {
            nix::sys::socket::getsockopt(&ch.fd, sockopt::SndBuf).is_ok_and(|b| b >= needed)
        };
        if fits(self) {
            return Ok(());
        }
        // The kernel doubles the value given (for its bookkeeping), and caps it first.
        let _ = setsockopt(&self.fd, sockopt::SndBuf, &needed);
        if !fits(self) {
            let _ = setsockopt(&self.fd, sockopt::SndBufForce, &needed);
        }
        if fits(self) {
            Ok(())
        } else {
            Err(Error::Init(format!(
                "sending a {len}-byte message on the init channel: larger than the socket \
                 buffer allows (net.core.wmem_max)"
            )))
        }
    }

    /// The length of the next datagram, without taking it (0: the other end closed; no
    /// message is empty). MSG_TRUNC makes a SOCK_SEQPACKET recv report the datagram's
    /// whole length even into an empty buffer.
    fn next_len(&self) -> Result<usize> {
        loop {
            match recv(
                self.fd.as_raw_fd(),
                &mut [],
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => return other.map_err(sys_err("reading init channel", "socketpair")),
            }
        }
    }

    /// The next message, or `None` when the other end closed (the process died).
    pub fn recv(&self) -> Result<Option<Message>> {
        let mut buf = vec![0u8; self.next_len()?];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.map_err(sys_err("reading init channel", "socketpair"))?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| Error::Init(format!("decoding message: {e}")))
    }

    /// Whether the other end is closed (its process died), without waiting.
    pub fn peer_closed(&self) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::empty())];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(1))
            && fds[0]
                .revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR))
    }

    /// Expect one specific reply; an error message or a closed channel becomes an error.
    pub fn expect(&self, what: &str, pred: impl FnOnce(&Message) -> bool) -> Result<Message> {
        match self.recv()? {
            Some(Message::Error { msg }) => Err(Error::InitReported(msg)),
            Some(m) if pred(&m) => Ok(m),
            Some(m) => Err(Error::Init(format!("expected {what}, got {m:?}"))),
            None => Err(Error::Init(format!("peer exited while waiting for {what}"))),
        }
    }

    /// Send `msg` with `fds` attached (SCM_RIGHTS), in one datagram; at most [`MAX_FDS`].
    pub fn send_with_fds(&self, msg: &Message, fds: &[BorrowedFd<'_>]) -> Result<()> {
        let data =
            serde_json::to_vec(msg).map_err(|e| Error::Init(format!("encoding message: {e}")))?;
        let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
        let iov = [IoSlice::new(&data)];
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => {
                    other.map_err(sys_err("sending on init channel", "socketpair"))?;
                    return Ok(());
                }
            }
        }
    }

    /// The next message and the fds attached to it ([`Channel::send_with_fds`]); `None`
    /// when the other end closed.
    pub fn recv_with_fds(&self) -> Result<Option<(Message, Vec<OwnedFd>)>> {
        // The peek takes no fds: they stay attached to the datagram until it is read.
        let mut buf = vec![0u8; self.next_len()?];
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        let recv_err = sys_err("reading init channel", "socketpair");
        let (len, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(recv_err(e)),
                Ok(msg) => {
                    let mut fds = Vec::new();
                    for c in msg
                        .cmsgs()
                        .map_err(sys_err("reading init channel", "cmsg"))?
                    {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            // SAFETY: SCM_RIGHTS just installed these fds in our table;
                            // each is owned exactly once, here.
                            fds.extend(raw.into_iter().map(|r| unsafe { OwnedFd::from_raw_fd(r) }));
                        }
                    }
                    break (msg.bytes, fds);
                }
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..len])
            .map_err(|e| Error::Init(format!("decoding message: {e}")))?;
        Ok(Some((msg, fds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bigger than the 64 KiB once read and than the default socket buffer (208 KiB).
    #[test]
    fn a_message_larger_than_the_default_buffers_arrives_whole() {
        let (a, b) = pair().expect("socketpair");
        let state = "x".repeat(300 * 1024);
        a.send(&Message::Continue {
            state: state.clone(),
        })
        .expect("send");
        match b.recv().expect("recv") {
            Some(Message::Continue { state: got }) => assert_eq!(got, state),
            other => panic!("expected continue, got {other:?}"),
        }
        drop(a);
        assert!(b.recv().expect("recv at end of file").is_none());
    }
}
