//! Address arithmetic on IPv4 and IPv6 as 128-bit integers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address `n` in the family of `like`.
pub fn from_u128(n: u128, like: IpAddr) -> IpAddr {
    match like {
        // Callers stay inside a v4 range, so the value fits in 32 bits.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

pub fn add(ip: IpAddr, delta: u128) -> IpAddr {
    from_u128(to_u128(ip).wrapping_add(delta), ip)
}

pub fn sub(ip: IpAddr, delta: u128) -> IpAddr {
    from_u128(to_u128(ip).wrapping_sub(delta), ip)
}
