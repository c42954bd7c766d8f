//! `port`: a container's published ports (`-p`), as docker lists them.

use crate::container::store;
use crate::error::{EngineError, Result};
use crate::network::{self, PortMapping};
use crate::paths::StorePaths;

/// One published port: `80/tcp -> 0.0.0.0:8080` in docker's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    /// `80/tcp`.
    pub container: String,
    /// `0.0.0.0:8080`.
    pub host: String,
}

/// The ports of container `query`: the mappings its network attachment made (a host
/// port picked at start is the one in use), else as `-p` gave them.
pub fn ports(paths: &StorePaths, query: &str) -> Result<Vec<PublishedPort>> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    let attached: Option<Vec<PortMapping>> = record
        .network_attachment
        .as_ref()
        .and_then(|a| a.get("ports"))
        .and_then(|p| serde_json::from_value(p.clone()).ok());
    let mappings = match attached {
        Some(p) if !p.is_empty() => p,
        _ => record
            .host
            .publish
            .iter()
            .map(|p| network::parse_publish(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Network(e.to_string()))?,
    };
    Ok(mappings
        .iter()
        .map(|m| PublishedPort {
            container: format!("{}/{}", m.container_port, m.protocol.as_str()),
            host: match m.host_ip {
                Some(ip) if ip.is_ipv6() => format!("[{ip}]:{}", m.host_port),
                Some(ip) => format!("{ip}:{}", m.host_port),
                None => format!("0.0.0.0:{}", m.host_port),
            },
        })
        .collect())
}
