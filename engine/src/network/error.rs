//! What can go wrong with networks; every variant names the network, container or file
//! and what was being done.

use std::path::PathBuf;

/// Errors of [`crate::network`].
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// `--network` named something that is neither none, host nor a network name.
    #[error("invalid --network {value:?}: {reason}")]
    InvalidMode { value: String, reason: String },
    /// A `-p` value that does not parse.
    #[error("invalid port mapping {spec:?}: {reason}")]
    InvalidPublish { spec: String, reason: String },
    /// A network name or subnet that berth cannot use.
    #[error("invalid network {name:?}: {reason}")]
    InvalidNetwork { name: String, reason: String },
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    /// `network rm` of the default network (docker refuses `bridge` the same way).
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    /// `network rm` while containers are attached.
    #[error("error while removing network: network {name} has active endpoints ({containers})")]
    InUse { name: String, containers: String },
    /// Every candidate subnet collides with a host route or another network.
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to network {0}"
    )]
    NoFreeSubnet(String),
    /// A file of the store (network record, endpoint, /etc file).
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A network record that does not parse.
    #[error("reading network record {}: {source}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A kernel call about a network namespace (unshare, mount, unmount).
    #[error("{op} network namespace {}: {source}", path.display())]
    Netns {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// A netlink request of the engine's own (bridge lookups, lo in a new namespace).
    #[error("{op}: {source}")]
    Netlink {
        op: String,
        #[source]
        source: std::io::Error,
    },
    /// The CNI plugin library refused or failed (ADD, DEL, bridge setup).
    #[error("{op} on network {network}: {source}")]
    Cni {
        op: &'static str,
        network: String,
        #[source]
        source: berth_netplug::Error,
    },
}

impl NetworkError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
