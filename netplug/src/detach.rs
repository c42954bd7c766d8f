//! Not waiting for the kernel's slow tails.
//!
//! Two kernel operations finish quickly but then wait for an RCU grace
//! period before returning, 10-15 ms each on this kind of host:
//!
//! - deleting a link (below);
//! - closing an nfnetlink socket that committed an nftables transaction: the
//!   close flushes the transaction's destroy work ([`release_in_child`]).
//!
//! RTM_DELLINK unlists the device within a millisecond or two, but the syscall
//! then waits for RCU (rcu_barrier in netdev_run_todo), about 15 ms here. The
//! plugin binary does not need to sit through that: a forked child sends the
//! request and waits for the ack, while the plugin returns as soon as the
//! kernel announces the link gone (the RTM_DELLINK multicast, sent after the
//! device left its bridge and its name was freed). If anything is unexpected,
//! it falls back to a plain synchronous delete.
//!
//! Forking is only enabled by the binary ([`set_detached`]): a long-running
//! caller such as the engine would have to reap the children, and it can run
//! DEL on a thread of its own anyway.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::netlink::Netlink;

static DETACHED: AtomicBool = AtomicBool::new(false);

/// Lets [`delete_link`] and [`release_in_child`] fork children to wait out
/// the kernel (binary only).
pub fn set_detached(on: bool) {
    DETACHED.store(on, Ordering::Relaxed);
}

/// RTNLGRP_LINK from linux/rtnetlink.h.
const RTNLGRP_LINK: u32 = 1;

/// Deletes link `name`; Ok(false) when it did not exist.
pub fn delete_link(nl: &mut Netlink, name: &str) -> io::Result<bool> {
    if !DETACHED.load(Ordering::Relaxed) {
        return nl.delete_link(name);
    }
    let Some(link) = nl.link_by_name(name)? else {
        return Ok(false);
    };
    delete_link_at(nl, name, link.header.index)
}

/// Deletes link `name`, already looked up at `index` (saves a lookup when
/// the caller had to inspect the link first); Ok(false) when it is gone.
pub fn delete_link_at(nl: &mut Netlink, name: &str, index: u32) -> io::Result<bool> {
    if !DETACHED.load(Ordering::Relaxed) {
        return nl.delete_link(name);
    }
    match detached(index) {
        Ok(Some(existed)) => Ok(existed),
        // The child could not tell us; do it the slow, sure way.
        Ok(None) | Err(_) => nl.delete_link(name),
    }
}

/// Some(true) once the link is gone, Some(false) if it was already gone,
/// None when the outcome is unknown.
fn detached(index: u32) -> io::Result<Option<bool>> {
    let mut monitor = Socket::new(NETLINK_ROUTE)?;
    monitor.bind_auto()?;
    monitor.add_membership(RTNLGRP_LINK)?;
    let mut request = Socket::new(NETLINK_ROUTE)?;
    request.bind_auto()?;
    request.connect(&SocketAddr::new(0, 0))?;

    let mut msg = LinkMessage::default();
    msg.header.index = index;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = 1;
    let mut packet = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::DelLink(msg)),
    );
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);

    let devnull = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);

    // SAFETY: the child only makes raw syscalls (dup2, send, recv,
    // write, _exit) on buffers prepared before the fork, all
    // async-signal-safe, so forking a possibly multi-threaded parent is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        close(rd);
        close(wr);
        return Err(e);
    }
    if pid == 0 {
        child(request.as_raw_fd(), wr, devnull.as_raw_fd(), &buf);
    }
    close(wr);
    drop(request);
    let outcome = wait_gone(&monitor, rd, index);
    close(rd);
    // Reap the child if it is already done; otherwise init inherits it.
    // SAFETY: waitpid on our own child with WNOHANG and no status pointer.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
    outcome
}

/// The forked child: silence stdio (the runtime waits for EOF on our
/// stdout), send the request, report the kernel's errno through the pipe.
fn child(sock: RawFd, wr: RawFd, devnull: RawFd, req: &[u8]) -> ! {
    // SAFETY: only async-signal-safe syscalls on valid fds and buffers.
    unsafe {
        libc::dup2(devnull, 0);
        libc::dup2(devnull, 1);
        libc::dup2(devnull, 2);
        close_all_but(sock, wr);
        let mut code: i32 = -libc::EIO;
        if libc::send(sock, req.as_ptr().cast(), req.len(), 0) == req.len() as isize {
            let mut reply = [0u8; 1024];
            let n = libc::recv(sock, reply.as_mut_ptr().cast(), reply.len(), 0);
            // nlmsghdr (16 bytes) then nlmsgerr's error field.
            if n >= 20 {
                code = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
            }
        }
        libc::write(wr, (&code as *const i32).cast(), 4);
        libc::_exit(0)
    }
}

/// Waits for the RTM_DELLINK announcement of `index` or the child's report.
fn wait_gone(monitor: &Socket, rd: RawFd, index: u32) -> io::Result<Option<bool>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut pfd = [
            libc::pollfd {
                fd: monitor.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: rd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `pfd` is a valid array of two pollfd; 5 s bounds a stuck kernel.
        let n = unsafe { libc::poll(pfd.as_mut_ptr(), 2, 5000) };
        if n == 0 {
            return Ok(None);
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if pfd[1].revents != 0 {
            let mut code = [0u8; 4];
            // SAFETY: reading at most 4 bytes into a 4-byte buffer.
            let got = unsafe { libc::read(rd, code.as_mut_ptr().cast(), 4) };
            return Ok(match (got, i32::from_ne_bytes(code)) {
                (4, 0) => Some(true),
                (4, c) if c == -libc::ENODEV => Some(false),
                _ => None,
            });
        }
        if pfd[0].revents != 0 {
            let n = match monitor.recv(&mut &mut buf[..], 0) {
                Ok(n) => n,
                // Missed notifications (a busy host): let the child decide.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) => return Err(e),
            };
            if announces_removal(&buf[..n], index) {
                return Ok(Some(true));
            }
        }
    }
}

fn announces_removal(mut data: &[u8], index: u32) -> bool {
    // Read the headers in place: the full parser would spend more time on
    // the big RTM_NEWLINK messages than the kernel takes to send them.
    const RTM_DELLINK: u16 = 17;
    const AF_UNSPEC: u8 = 0;
    while data.len() >= 16 {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < 16 || len > data.len() {
            return false;
        }
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        // struct ifinfomsg follows the 16-byte nlmsghdr: family, pad, type,
        // then the index at offset 4.
        if kind == RTM_DELLINK && len >= 24 {
            let family = data[16];
            let ifindex = u32::from_ne_bytes([data[20], data[21], data[22], data[23]]);
            // The bridge also announces the port's removal (AF_BRIDGE);
            // wait for the device's own message.
            if ifindex == index && family == AF_UNSPEC {
                return true;
            }
        }
        data = data.get((len + 3) & !3..).unwrap_or_default();
    }
    false
}

/// Hands the last close of `fd` to a forked child, so that the kernel's
/// wait on that close (an nfnetlink socket after a commit) happens there.
/// The caller closes its own copy right after; that is not the last
/// reference any more, so it returns at once. Without detached mode this
/// does nothing and the caller's close pays the wait.
pub fn release_in_child(fd: RawFd) {
    if !DETACHED.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: the child only calls dup2, close_range and _exit, all
    // async-signal-safe, on descriptors it inherited.
    unsafe {
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if devnull < 0 {
            return;
        }
        let pid = libc::fork();
        if pid == 0 {
            libc::dup2(devnull, 0);
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
            // Drop everything else first (lock files above all), keep `fd`
            // for last: its release is the slow part.
            close_all_but(fd, fd);
            libc::_exit(0);
        }
        libc::close(devnull);
        if pid > 0 {
            libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
        }
    }
}

/// In a forked child: closes every descriptor from 3 up except `a` and `b`,
/// so the child holds nothing of the parent's (a lock file, a pipe the
/// runtime reads) while it waits on the kernel. Only raw syscalls: safe
/// after fork.
fn close_all_but(a: RawFd, b: RawFd) {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut from: RawFd = 3;
    for keep in [lo, hi] {
        if keep >= from {
            if keep > from {
                // SAFETY: close_range on descriptors this child owns.
                unsafe {
                    libc::syscall(libc::SYS_close_range, from as u32, (keep - 1) as u32, 0u32)
                };
            }
            from = keep + 1;
        }
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from as u32, u32::MAX, 0u32) };
}

fn close(fd: RawFd) {
    // SAFETY: closing a pipe end this module created and owns.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare nlmsghdr + ifinfomsg as the kernel multicasts it.
    fn msg(kind: u16, family: u8, index: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&32u32.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]); // flags, seq, pid
        m.push(family);
        m.push(0);
        m.extend_from_slice(&1u16.to_ne_bytes());
        m.extend_from_slice(&index.to_ne_bytes());
        m.extend_from_slice(&[0; 8]); // flags, change
        m
    }

    #[test]
    fn only_the_devices_own_removal_counts() {
        // RTM_NEWLINK = 16, RTM_DELLINK = 17, AF_BRIDGE = 7.
        let mut batch = msg(16, 0, 42);
        batch.extend(msg(17, 7, 42));
        assert!(!announces_removal(&batch, 42));
        batch.extend(msg(17, 0, 41));
        assert!(!announces_removal(&batch, 42));
        batch.extend(msg(17, 0, 42));
        assert!(announces_removal(&batch, 42));
        // A truncated message is not read past its end.
        assert!(!announces_removal(&batch[..20], 42));
    }
}
