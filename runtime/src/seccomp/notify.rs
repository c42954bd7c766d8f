//! Delivering the `SCMP_ACT_NOTIFY` listener fd: init -> runtime -> seccomp agent.
//!
//! runtime-spec (config-linux.md, `listenerPath`): the runtime connects to the unix
//! socket at `listenerPath` and sends, in one message, a `containerProcessState` JSON
//! (`ociVersion`, `fds: ["seccompFd"]`, `pid`, `metadata`, `state`) with the listener fd
//! as `SCM_RIGHTS`.

use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use oci_spec::runtime::{ContainerProcessStateBuilder, State};

use super::SeccompError;

/// The name of the listener fd in `containerProcessState.fds` (runtime-spec).
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// The `containerProcessState` JSON for the agent: `state` is the container's OCI state
/// (its `pid` is the container process), `metadata` the spec's `listenerMetadata`.
pub fn container_process_state(
    state: &State,
    metadata: Option<&str>,
) -> Result<Vec<u8>, SeccompError> {
    let mut builder = ContainerProcessStateBuilder::default()
        .version(state.version().clone())
        .fds(vec![SECCOMP_FD_NAME.to_string()])
        .pid(state.pid().unwrap_or(0))
        .state(state.clone());
    if let Some(metadata) = metadata {
        builder = builder.metadata(metadata.to_string());
    }
    let process_state = builder
        .build()
        .map_err(|e| SeccompError::invalid(format!("building containerProcessState: {e}")))?;
    serde_json::to_vec(&process_state)
        .map_err(|e| SeccompError::invalid(format!("serializing containerProcessState: {e}")))
}

/// Connects to the agent at `listener_path` and sends `state_json` (see
/// [`container_process_state`]) with `notify_fd` attached, as runc does. An agent that is
/// not listening is [`SeccompError::AgentConnect`], worded as runc words it.
pub fn send_to_listener(
    listener_path: &Path,
    notify_fd: BorrowedFd<'_>,
    state_json: &[u8],
) -> Result<(), SeccompError> {
    let err = |op: &'static str| {
        move |cause: std::io::Error| SeccompError::Listener {
            path: listener_path.to_path_buf(),
            op,
            cause,
        }
    };
    let mut stream =
        UnixStream::connect(listener_path).map_err(|cause| SeccompError::AgentConnect {
            path: listener_path.to_path_buf(),
            cause,
        })?;
    let sent = send_with_fd(stream.as_raw_fd(), notify_fd, state_json)
        .map_err(|e| err("sending the listener fd")(e.into()))?;
    // A stream socket may take the payload in parts; the fd went with the first byte.
    stream
        .write_all(&state_json[sent..])
        .map_err(err("sending the container state"))?;
    tracing::debug!(path = %listener_path.display(), "seccomp listener fd sent to the agent");
    Ok(())
}

/// Sends `fd` over the unix socket `sock` with a one-byte payload (init -> runtime).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> Result<(), SeccompError> {
    send_with_fd(sock.as_raw_fd(), fd, b"F")
        .map(drop)
        .map_err(|source| SeccompError::Kernel {
            op: "sending the listener fd to the runtime".into(),
            source,
        })
}

/// Receives the fd sent with [`send_fd`] on `sock` (reads exactly its one-byte
/// payload, so a stream socket's next message stays unread for the caller's protocol).
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd, SeccompError> {
    recv_fd_with_data(sock, 1).map(|(fd, _)| fd)
}

/// Receives one fd and up to `max_len` bytes sent with it (an agent's side of
/// [`send_to_listener`]; on a stream socket the rest of a long payload follows as
/// ordinary data).
pub fn recv_fd_with_data(
    sock: BorrowedFd<'_>,
    max_len: usize,
) -> Result<(OwnedFd, Vec<u8>), SeccompError> {
    let mut buf = vec![0u8; max_len.max(1)];
    let mut cmsg = nix::cmsg_space!(RawFd);
    let kernel = |source| SeccompError::Kernel {
        op: "receiving the listener fd".into(),
        source,
    };
    let (fd, len) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<()>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(Errno::EINTR) => continue,
                other => break other.map_err(kernel)?,
            }
        };
        let mut fd = None;
        for c in msg.cmsgs().map_err(kernel)? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for raw in fds {
                    // SAFETY: SCM_RIGHTS installed these fds in our table just now;
                    // each is owned exactly once (extra ones are closed on drop).
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    if fd.is_none() {
                        fd = Some(owned);
                    }
                }
            }
        }
        (fd, msg.bytes)
    };
    let fd = fd.ok_or_else(|| kernel(Errno::EBADMSG))?;
    buf.truncate(len);
    Ok((fd, buf))
}

fn send_with_fd(sock: RawFd, fd: BorrowedFd<'_>, data: &[u8]) -> Result<usize, Errno> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(data)];
    loop {
        match sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}
