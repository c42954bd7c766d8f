//! `berth-exporter advise-seccomp`: asks a running exporter for a container's profile
//! (`GET /seccomp-profile?container=ID[&mode=complain]`), over plain HTTP/1.0 on the
//! exporter's listen address.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::Mode;

/// The path the exporter serves advice on.
pub const PATH: &str = "/seccomp-profile";

/// How long the exporter may take to connect and answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why the exporter gave no profile.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The exporter address is not `http://HOST:PORT` (or `HOST:PORT`).
    #[error("exporter address {0}: expected http://HOST:PORT")]
    BadAddress(String),
    /// Connecting, sending or reading failed.
    #[error("asking the exporter at {addr}: {source}")]
    Io {
        /// `HOST:PORT`.
        addr: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("the exporter at {addr} sent no HTTP status line")]
    NotHttp {
        /// `HOST:PORT`.
        addr: String,
    },
    /// The exporter refused: its message says why.
    #[error("the exporter at {addr} answered {status}: {message}")]
    Refused {
        /// `HOST:PORT`.
        addr: String,
        /// The HTTP status.
        status: u16,
        /// The body, trimmed.
        message: String,
    },
}

/// The profile JSON for `container` from the exporter at `exporter`
/// (`http://HOST:PORT` or `HOST:PORT`).
pub fn fetch(exporter: &str, container: &str, mode: Mode) -> Result<String, ClientError> {
    let addr = host_port(exporter)?;
    let io = |source| ClientError::Io {
        addr: addr.to_string(),
        source,
    };
    let target = addr
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| ClientError::BadAddress(exporter.to_string()))?;
    let mut stream = TcpStream::connect_timeout(&target, TIMEOUT).map_err(io)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut query = format!("container={}", encode(container));
    if mode == Mode::Complain {
        query.push_str("&mode=complain");
    }
    let request = format!("GET {PATH}?{query} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(io)?;
    let answer = String::from_utf8_lossy(&answer);
    let not_http = || ClientError::NotHttp {
        addr: addr.to_string(),
    };
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(not_http)?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(not_http)?;
    if status != 200 {
        return Err(ClientError::Refused {
            addr: addr.to_string(),
            status,
            message: body.trim().to_string(),
        });
    }
    Ok(body.to_string())
}

/// `HOST:PORT` of `http://HOST:PORT[/]` or `HOST:PORT`.
fn host_port(exporter: &str) -> Result<&str, ClientError> {
    let rest = exporter.strip_prefix("http://").unwrap_or(exporter);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains('/') || rest.contains("://") || !rest.contains(':') {
        return Err(ClientError::BadAddress(exporter.to_string()));
    }
    Ok(rest)
}

/// Percent-encodes all but RFC 3986's unreserved characters (container ids may hold
/// `+`, which a query would otherwise read as a space).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (the inverse of [`encode`]); None on a broken escape or a
/// result that is not UTF-8.
pub fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_survive_the_query_string() {
        for id in ["abc", "a+b c", "x.y_z-1", "é/%"] {
            assert_eq!(decode(&encode(id)).as_deref(), Some(id));
        }
        assert_eq!(encode("a+b"), "a%2Bb");
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
    }

    #[test]
    fn exporter_addresses_are_host_and_port() {
        assert_eq!(
            host_port("http://127.0.0.1:9586").ok(),
            Some("127.0.0.1:9586")
        );
        assert_eq!(host_port("http://localhost:1/").ok(), Some("localhost:1"));
        assert_eq!(host_port("[::1]:9586").ok(), Some("[::1]:9586"));
        for bad in ["https://h:1", "http://h:1/metrics", "h", ""] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }
}
