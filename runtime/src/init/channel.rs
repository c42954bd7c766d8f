//! The message channel between the runtime (`create`) and the processes it forks.
//!
//! A `SOCK_SEQPACKET` socketpair keeps message boundaries, so each message is one JSON
//! datagram and no framing code is needed. Both ends are CLOEXEC: the container's process
//! never inherits them.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, sys_err};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Message {
    /// Stage 1 → runtime: a new user namespace exists; write its id maps.
    UsernsCreated,
    /// Runtime → stage 1: the maps are written.
    MapsWritten,
    /// Stage 1 → runtime: the host pid of the container init.
    InitPid { pid: i32 },
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
        send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL)
            .map_err(sys_err("sending on init channel", "socketpair"))?;
        Ok(())
    }

    /// The next message, or `None` when the other end closed (the process died).
    pub fn recv(&self) -> Result<Option<Message>> {
        let mut buf = vec![0u8; 64 * 1024];
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
}
