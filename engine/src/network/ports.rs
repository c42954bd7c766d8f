//! Published ports (`-p [IP:][HOST:]CTR[/tcp|udp]`), as docker parses them.

use std::fmt;
use std::net::{IpAddr, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::network::error::NetworkError;

/// The transport of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// One host port forwarded to a container port (nftables DNAT, through berth-netplug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The host address the port is bound to; `None` = every address (docker's 0.0.0.0).
    pub host_ip: Option<IpAddr>,
    /// The host port; 0 (from `-p CTR` or `-p IP::CTR`) means "pick a free one", which
    /// [`PortMapping::resolve_host_port`] does at attach time (where a given one is
    /// checked to be free on the host).
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl fmt::Display for PortMapping {
    /// docker's PORTS column: `0.0.0.0:8080->80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            Some(ip) => write!(f, "{ip}")?,
            None => write!(f, "0.0.0.0")?,
        }
        write!(
            f,
            ":{}->{}/{}",
            self.host_port,
            self.container_port,
            self.protocol.as_str()
        )
    }
}

impl PortMapping {
    /// Binds the host port for a moment, as docker's proxy would hold it: a mapping
    /// without a host port (0) gets a free one, asked of the kernel for the same
    /// protocol on the same address (as docker does); a given port must be free on the
    /// host, since the DNAT would otherwise take a host service's traffic (`-p 22:22`
    /// with sshd listening: every connection to the host's port 22, even from the host
    /// itself, would reach the container). Docker refuses it too ("address already in
    /// use"). The DNAT rule does not hold the port: a host process could still bind it
    /// later, which is docker's behaviour with its userland proxy off.
    ///
    /// Errors: [`NetworkError::InvalidPublish`] naming the mapping, the address and the
    /// kernel's reason (in use, not an address of this host).
    pub fn resolve_host_port(&mut self) -> Result<(), NetworkError> {
        let ip = self
            .host_ip
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let port = self.host_port;
        let bound = match self.protocol {
            Protocol::Tcp => TcpListener::bind((ip, port)).and_then(|l| l.local_addr()),
            Protocol::Udp => UdpSocket::bind((ip, port)).and_then(|s| s.local_addr()),
        };
        let addr = bound.map_err(|e| NetworkError::InvalidPublish {
            spec: self.to_string(),
            reason: if port == 0 {
                format!("picking a free host port on {ip}: {e}")
            } else {
                format!(
                    "binding host port {}:{port}/{} failed: {e}",
                    self.host_ip
                        .map_or("0.0.0.0".to_string(), |i| i.to_string()),
                    self.protocol.as_str()
                )
            },
        })?;
        self.host_port = addr.port();
        Ok(())
    }
}

/// Parses one `-p` value: `[IP:][HOST:]CTR[/tcp|udp]`; an IPv6 host address goes in
/// brackets (`[::1]:8080:80`). `-p 80` and `-p 127.0.0.1::80` leave the host port 0
/// (picked at attach). Port ranges are refused with a clear error.
///
/// Errors: [`NetworkError::InvalidPublish`] naming the value and what is wrong with it.
pub fn parse_publish(spec: &str) -> Result<PortMapping, NetworkError> {
    let bad = |reason: String| NetworkError::InvalidPublish {
        spec: spec.to_string(),
        reason,
    };
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, "tcp")) => (rest, Protocol::Tcp),
        Some((rest, "udp")) => (rest, Protocol::Udp),
        Some((_, other)) => {
            return Err(bad(format!("protocol {other:?} is not tcp or udp")));
        }
        None => (spec, Protocol::Tcp),
    };
    // An IPv6 host address is bracketed; take it off first so its colons do not count.
    let (host_ip, rest) = if let Some(inner) = rest.strip_prefix('[') {
        let (ip, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' around the host address".into()))?;
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected ':' after the bracketed host address".into()))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| bad(format!("host address {ip:?} is not an IP address")))?;
        (Some(ip), after)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip_text, host, ctr) = match (host_ip, parts.as_slice()) {
        (Some(_), [host, ctr]) => (None, *host, *ctr),
        (None, [ctr]) => (None, "", *ctr),
        (None, [host, ctr]) => (None, *host, *ctr),
        (None, [ip, host, ctr]) => (Some(*ip), *host, *ctr),
        _ => return Err(bad("expected [IP:][HOST:]CONTAINER[/tcp|udp]".into())),
    };
    let host_ip = match ip_text {
        Some("") | None => host_ip,
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| bad(format!("host address {ip:?} is not an IP address")))?,
        ),
    };
    let port = |what: &str, text: &str, zero_ok: bool| -> Result<u16, NetworkError> {
        if text.contains('-') {
            return Err(bad(format!("{what} port ranges are not supported")));
        }
        if text.is_empty() && zero_ok {
            return Ok(0);
        }
        match text.parse::<u16>() {
            Ok(p) if p != 0 => Ok(p),
            _ => Err(bad(format!(
                "{what} port {text:?} is not a number in 1-65535"
            ))),
        }
    };
    Ok(PortMapping {
        host_ip: host_ip.filter(|ip| !ip.is_unspecified()),
        host_port: port("host", host, true)?,
        container_port: port("container", ctr, false)?,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(spec: &str) -> PortMapping {
        match parse_publish(spec) {
            Ok(p) => p,
            Err(e) => panic!("{spec}: {e}"),
        }
    }

    #[test]
    fn docker_forms_parse() {
        let p = ok("8080:80");
        assert_eq!((p.host_ip, p.host_port, p.container_port), (None, 8080, 80));
        assert_eq!(p.protocol, Protocol::Tcp);
        let p = ok("127.0.0.1:53:5353/udp");
        assert_eq!(p.host_ip, "127.0.0.1".parse().ok());
        assert_eq!(
            (p.host_port, p.container_port, p.protocol),
            (53, 5353, Protocol::Udp)
        );
        let p = ok("[::1]:8443:443/tcp");
        assert_eq!(p.host_ip, "::1".parse().ok());
        assert_eq!(p.to_string(), "[::1]:8443->443/tcp");
        assert_eq!(ok("80").host_port, 0);
        assert_eq!(ok("10.0.0.1::80").host_port, 0);
        // 0.0.0.0 is "every address", shown as docker shows it.
        let p = ok("0.0.0.0:8080:80");
        assert_eq!(p.host_ip, None);
        assert_eq!(p.to_string(), "0.0.0.0:8080->80/tcp");
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (spec, needle) in [
            ("8080:80/sctp", "protocol"),
            ("8080:0", "container port"),
            ("x:80", "host port"),
            ("1:2:3:4", "expected"),
            ("300.1.1.1:80:80", "host address"),
            ("8000-8010:80", "ranges"),
            ("[::1:80:80", "unclosed"),
            ("", "container port"),
        ] {
            match parse_publish(spec) {
                Ok(p) => panic!("{spec:?} parsed as {p:?}"),
                Err(e) => assert!(e.to_string().contains(needle), "{spec:?}: {e}"),
            }
        }
    }
}
