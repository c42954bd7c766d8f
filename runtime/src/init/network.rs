//! The little networking the runtime itself does: bring up `lo` in a new network
//! namespace (everything else is the CNI plugin's job) and set the NIS domain name.

use std::os::fd::AsRawFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::error::{Error, Result, sys_err};

pub fn loopback_up() -> Result<()> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(sys_err("opening socket for", "lo"))?;
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS fills the flags of the named interface in `req`, which lives
    // across the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(Error::Init(format!(
            "reading flags of lo: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: the union member ifru_flags is the one SIOCGIFFLAGS wrote.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above, SIOCSIFFLAGS reads `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(Error::Init(format!(
            "bringing lo up: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

pub fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`, alive for the call.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r < 0 {
        return Err(Error::Init(format!(
            "setting domainname {name}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
