//! `--network`: none, host, or a bridge network by name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::network::error::NetworkError;
use crate::network::store::{DEFAULT_NETWORK, validate_name};

/// How a container is networked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum NetworkMode {
    /// Its own network namespace with only `lo` up.
    None,
    /// The host's network namespace (the spec gets no network namespace).
    Host,
    /// A bridge network, by name: [`DEFAULT_NETWORK`] unless the user named another.
    Bridge(String),
}

impl Default for NetworkMode {
    fn default() -> Self {
        Self::Bridge(DEFAULT_NETWORK.to_string())
    }
}

impl NetworkMode {
    /// Parses a `--network` value: `none`, `host`, `bridge` or `default` (docker's names
    /// for the default network, here [`DEFAULT_NETWORK`]), or a network name. Whether the
    /// named network exists is checked at attach time.
    ///
    /// Errors: [`NetworkError::InvalidMode`] for a value that cannot be a network name
    /// (`container:<id>` is docker's, not supported).
    pub fn parse(value: &str) -> Result<Self, NetworkError> {
        match value {
            "none" => Ok(Self::None),
            "host" => Ok(Self::Host),
            "" | "bridge" | "default" => Ok(Self::default()),
            name if name.starts_with("container:") => Err(NetworkError::InvalidMode {
                value: value.to_string(),
                reason: "joining another container's network is not supported".into(),
            }),
            name => validate_name(name)
                .map(|()| Self::Bridge(name.to_string()))
                .map_err(|e| NetworkError::InvalidMode {
                    value: value.to_string(),
                    reason: e.to_string(),
                }),
        }
    }

    /// The network's name for a bridge mode.
    pub fn network(&self) -> Option<&str> {
        match self {
            Self::Bridge(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Host => f.write_str("host"),
            Self::Bridge(n) => f.write_str(n),
        }
    }
}

impl From<NetworkMode> for String {
    fn from(m: NetworkMode) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for NetworkMode {
    type Error = NetworkError;
    fn try_from(s: String) -> Result<Self, NetworkError> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_names_map_to_berth_modes() {
        let parse = |s: &str| NetworkMode::parse(s).map_err(|e| e.to_string());
        assert_eq!(parse("none"), Ok(NetworkMode::None));
        assert_eq!(parse("host"), Ok(NetworkMode::Host));
        assert_eq!(parse("bridge"), Ok(NetworkMode::default()));
        assert_eq!(parse("mynet"), Ok(NetworkMode::Bridge("mynet".into())));
        assert!(parse("container:abc").is_err());
        assert!(parse("../x").is_err());
        let json = serde_json::to_string(&NetworkMode::Bridge("n1".into())).ok();
        assert_eq!(json.as_deref(), Some("\"n1\""));
    }
}
