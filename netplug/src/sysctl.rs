//! Kernel switches the gateway mode needs.

use std::fs;

use crate::cni::error::Error;

pub const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
pub const IPV6_FORWARD: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// Sets a sysctl to "1" unless it already is (writes are not free and would
/// race with nothing useful).
fn ensure_one(path: &str) -> Result<(), Error> {
    if fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    fs::write(path, "1").map_err(|e| Error::io(format!("writing {path}"), e))
}

/// Enables forwarding for the families the network uses.
pub fn enable_forwarding(v4: bool, v6: bool) -> Result<(), Error> {
    if v4 {
        ensure_one(IPV4_FORWARD)?;
    }
    if v6 {
        ensure_one(IPV6_FORWARD)?;
    }
    Ok(())
}

/// Lets packets from a loopback address leave through `bridge` (its
/// `route_localnet`), for port mappings the host reaches at 127.0.0.1; the
/// network's nftables table masquerades them and drops anything arriving
/// from the bridge for 127.0.0.0/8 (see `nft::Table`).
pub fn enable_route_localnet(bridge: &str) -> Result<(), Error> {
    ensure_one(&format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"))
}
