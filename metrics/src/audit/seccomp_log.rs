//! privileged_syscall records of berth-runtime containers, from the seccomp audit
//! records (type 1326, `AUDIT_SECCOMP`) the kernel multicasts on `NETLINK_AUDIT` group
//! 1 (`AUDIT_NLGRP_READLOG`; needs CAP_AUDIT_READ, no auditd).
//!
//! The kernel writes one for every syscall a filter answers with `SCMP_ACT_LOG`, and,
//! for a filter loaded with `SECCOMP_FILTER_FLAG_LOG`, for every action listed in
//! `kernel.seccomp.actions_logged` but `allow` (by default errno, trap, kill, trace,
//! user_notif, log). berth's default profile loads with that flag and marks the
//! allowed privileged syscalls `SCMP_ACT_LOG`, so each privileged call of a container
//! arrives here, allowed (action `log`) or denied (`errno`, `kill_*`, `trap`), and
//! nothing outside containers pays anything.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, setsockopt, socket,
    sockopt,
};

/// `AUDIT_SECCOMP` (include/uapi/linux/audit.h).
const AUDIT_SECCOMP: u16 = 1326;
/// `AUDIT_NLGRP_READLOG`, as a group bitmask.
const READLOG_GROUP: u32 = 1;
/// `AUDIT_ARCH_X86_64`.
const ARCH_X86_64: &str = "c000003e";

/// One seccomp audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompRecord {
    /// The task's thread group id, initial pid namespace.
    pub pid: u32,
    /// Real uid.
    pub uid: Option<u32>,
    /// The syscall number (in `arch`'s numbering).
    pub nr: u32,
    /// Whether `arch` is x86_64 (else `nr` is another ABI's number).
    pub native: bool,
    /// The filter's action: `errno`, `kill_process`, `log`, ...
    pub action: &'static str,
    /// `comm`.
    pub comm: String,
    /// `exe`.
    pub exe: Option<String>,
    /// The record's time, seconds since the epoch (millisecond precision).
    pub time: Option<f64>,
}

impl SeccompRecord {
    /// Whether the filter refused the call.
    pub fn denied(&self) -> Option<bool> {
        match self.action {
            "kill_process" | "kill_thread" | "trap" | "errno" => Some(true),
            "log" | "allow" => Some(false),
            _ => None,
        }
    }
}

/// The name of the seccomp action in `code` (`SECCOMP_RET_ACTION_FULL`).
fn action_name(code: u32) -> &'static str {
    match code & 0xffff_0000 {
        0x8000_0000 => "kill_process",
        0x0000_0000 => "kill_thread",
        0x0003_0000 => "trap",
        0x0005_0000 => "errno",
        0x7fc0_0000 => "user_notif",
        0x7ff0_0000 => "trace",
        0x7ffc_0000 => "log",
        0x7fff_0000 => "allow",
        _ => "unknown",
    }
}

/// Parses the text of an `AUDIT_SECCOMP` record:
/// `audit(1796068300.571:366): auid=... uid=0 ... pid=3182 comm="trig" exe="/tmp/trig"
/// sig=0 arch=c000003e syscall=272 compat=0 ip=0x... code=0x50000`.
pub fn parse(text: &str) -> Option<SeccompRecord> {
    let time = text
        .strip_prefix("audit(")
        .and_then(|rest| rest.split(':').next())
        .and_then(|t| t.parse::<f64>().ok());
    let mut pid = None;
    let mut uid = None;
    let mut nr = None;
    let mut arch = None;
    let mut code = None;
    let mut comm = String::new();
    let mut exe = None;
    for (key, value) in fields(text) {
        match key {
            "pid" => pid = value.parse().ok(),
            "uid" => uid = value.parse().ok(),
            "syscall" => nr = value.parse().ok(),
            "arch" => arch = Some(value.to_string()),
            "code" => code = u32::from_str_radix(value.trim_start_matches("0x"), 16).ok(),
            "comm" => comm = unquote(value),
            "exe" => exe = Some(unquote(value)),
            _ => {}
        }
    }
    Some(SeccompRecord {
        pid: pid?,
        uid,
        nr: nr?,
        native: arch.as_deref() == Some(ARCH_X86_64),
        action: action_name(code?),
        comm,
        exe,
        time,
    })
}

/// `key=value` pairs; a quoted value may hold spaces.
fn fields(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text.split_once("): ").map_or(text, |(_, r)| r);
    while !rest.is_empty() {
        rest = rest.trim_start();
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let end = if let Some(quoted) = after.strip_prefix('"') {
            quoted.find('"').map_or(after.len(), |i| i + 2)
        } else {
            after.find(' ').unwrap_or(after.len())
        };
        out.push((key, &after[..end]));
        rest = &after[end..];
    }
    out
}

/// A value as audit writes it: `"text"`, or hex for text with unsafe bytes.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return inner.to_string();
    }
    let bytes: Option<Vec<u8>> = (0..value.len())
        .step_by(2)
        .map(|i| {
            value
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    match bytes {
        Some(b) if !value.is_empty() && value.len().is_multiple_of(2) => {
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => value.to_string(),
    }
}

/// A socket subscribed to the audit log multicast group.
pub struct AuditSocket {
    fd: OwnedFd,
}

/// What one receive gave.
#[derive(Debug)]
pub enum Received {
    /// Seccomp records (other audit records are skipped).
    Records(Vec<SeccompRecord>),
    /// The socket overflowed: records were lost (how many, the kernel does not say).
    Overflow,
}

impl AuditSocket {
    /// Opens and subscribes (needs CAP_AUDIT_READ).
    pub fn open() -> std::io::Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkAudit,
        )?;
        // Room for bursts: a record is ~300 bytes.
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(4 << 20));
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, READLOG_GROUP))?;
        Ok(Self { fd })
    }

    /// Blocks for the next datagram.
    pub fn receive(&self) -> std::io::Result<Received> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = match recv(
            self.fd.as_raw_fd(),
            &mut buf,
            nix::sys::socket::MsgFlags::empty(),
        ) {
            Ok(n) => n,
            Err(nix::errno::Errno::ENOBUFS) => return Ok(Received::Overflow),
            Err(e) => return Err(e.into()),
        };
        let mut records = Vec::new();
        let mut at = 0;
        // struct nlmsghdr: u32 len, u16 type, u16 flags, u32 seq, u32 pid.
        while at + 16 <= n {
            let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if len < 16 || at + len > n {
                break;
            }
            if kind == AUDIT_SECCOMP {
                let text = String::from_utf8_lossy(&buf[at + 16..at + len]);
                match parse(text.trim_end_matches('\0')) {
                    Some(record) => records.push(record),
                    None => tracing::debug!(%text, "unparsable seccomp audit record"),
                }
            }
            at += (len + 3) & !3;
        }
        Ok(Received::Records(records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_errno_and_a_log_record_as_this_kernel_writes_them() {
        let errno = parse("audit(1796068300.571:366): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=3182 comm=\"trig\" exe=\"/tmp/trig\" sig=0 arch=c000003e syscall=272 compat=0 ip=0x7f1f2cfb00f7 code=0x50000").expect("parses");
        assert_eq!(errno.pid, 3182);
        assert_eq!(errno.nr, 272);
        assert!(errno.native);
        assert_eq!(errno.action, "errno");
        assert_eq!(errno.denied(), Some(true));
        assert_eq!(errno.comm, "trig");
        assert_eq!(errno.exe.as_deref(), Some("/tmp/trig"));
        assert_eq!(errno.time, Some(1796068300.571));
        let log = parse("audit(1.5:1): auid=1 uid=1000 gid=0 ses=1 pid=7 comm=\"a b\" exe=2F62696E2F7368 sig=0 arch=40000003 syscall=110 compat=1 ip=0x1 code=0x7ffc0000").expect("parses");
        assert_eq!(log.action, "log");
        assert_eq!(log.denied(), Some(false));
        assert_eq!(log.comm, "a b");
        assert_eq!(log.exe.as_deref(), Some("/bin/sh"));
        assert!(!log.native);
        assert_eq!(parse("audit(1.5:1): pid=7"), None);
    }
}
