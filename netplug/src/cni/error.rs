//! Errors, each mapped to a CNI error code so the runtime can act on it.
//!
//! Codes 1-99 are the spec's well-known codes; 100 and up are ours and listed
//! in the README.

use std::io;

use serde::Serialize;

/// A CNI error code (SPEC.md, "Error").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u32")]
pub enum ErrorCode {
    IncompatibleVersion,
    UnsupportedField,
    ContainerUnknown,
    InvalidEnvironment,
    Io,
    Decode,
    InvalidConfig,
    TryAgainLater,
    PluginNotAvailable,
    /// ADD: the interface name already exists in the container.
    InterfaceExists,
    /// ADD: no free address left in a range set.
    AddressesExhausted,
    /// ADD: a requested address or host port is taken.
    AddressInUse,
    /// CHECK: the attachment does not match prevResult.
    CheckFailed,
    /// ADD: the container id and ifname already name a live attachment in
    /// another network namespace.
    AttachmentExists,
    /// A kernel operation (netlink, nftables) failed.
    Internal,
}

impl ErrorCode {
    pub fn as_u32(self) -> u32 {
        match self {
            Self::IncompatibleVersion => 1,
            Self::UnsupportedField => 2,
            Self::ContainerUnknown => 3,
            Self::InvalidEnvironment => 4,
            Self::Io => 5,
            Self::Decode => 6,
            Self::InvalidConfig => 7,
            Self::TryAgainLater => 11,
            Self::PluginNotAvailable => 50,
            Self::InterfaceExists => 100,
            Self::AddressesExhausted => 101,
            Self::AddressInUse => 102,
            Self::CheckFailed => 103,
            Self::AttachmentExists => 104,
            Self::Internal => 999,
        }
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.as_u32()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("incompatible CNI version {0}")]
    IncompatibleVersion(String),
    #[error("unsupported field {0}")]
    UnsupportedField(String),
    #[error("network namespace {0} does not exist")]
    NetnsGone(String),
    #[error("invalid environment variable {var}: {reason}")]
    InvalidEnv { var: &'static str, reason: String },
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
    #[error("decoding {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid network config: {0}")]
    InvalidConfig(String),
    #[error("{0}")]
    NotAvailable(String),
    #[error("interface {ifname} already exists in {netns}")]
    InterfaceExists { ifname: String, netns: String },
    #[error("no IP addresses available in range set {0}")]
    Exhausted(String),
    #[error("{0} is already in use")]
    InUse(String),
    #[error("check failed: {0}")]
    CheckFailed(String),
    #[error(
        "container {container_id} already has interface {ifname} on this network, in netns {netns}; duplicate attachment is not allowed (DEL it first)"
    )]
    AttachmentExists {
        container_id: String,
        ifname: String,
        netns: String,
    },
    #[error("{op}: {source}")]
    Netlink {
        op: String,
        #[source]
        source: io::Error,
    },
    #[error("nftables: {0}")]
    Nft(String),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::IncompatibleVersion(_) => ErrorCode::IncompatibleVersion,
            Self::UnsupportedField(_) => ErrorCode::UnsupportedField,
            Self::NetnsGone(_) => ErrorCode::ContainerUnknown,
            Self::InvalidEnv { .. } => ErrorCode::InvalidEnvironment,
            Self::Io { .. } => ErrorCode::Io,
            Self::Decode { .. } => ErrorCode::Decode,
            Self::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Self::NotAvailable(_) => ErrorCode::PluginNotAvailable,
            Self::InterfaceExists { .. } => ErrorCode::InterfaceExists,
            Self::Exhausted(_) => ErrorCode::AddressesExhausted,
            Self::InUse(_) => ErrorCode::AddressInUse,
            Self::CheckFailed(_) => ErrorCode::CheckFailed,
            Self::AttachmentExists { .. } => ErrorCode::AttachmentExists,
            // EAGAIN/EBUSY from the kernel are worth a retry by the runtime.
            Self::Netlink { source, .. }
                if matches!(source.raw_os_error(), Some(libc::EAGAIN | libc::EBUSY)) =>
            {
                ErrorCode::TryAgainLater
            }
            Self::Netlink { .. } | Self::Nft(_) => ErrorCode::Internal,
        }
    }

    /// Short message for the `msg` field; the full chain goes to `details`.
    pub fn msg(&self) -> String {
        match self {
            Self::IncompatibleVersion(_) => "incompatible CNI versions".into(),
            Self::UnsupportedField(_) => "unsupported field in network configuration".into(),
            Self::NetnsGone(_) => "container unknown or does not exist".into(),
            Self::InvalidEnv { .. } => "invalid necessary environment variables".into(),
            Self::Io { .. } => "I/O failure".into(),
            Self::Decode { .. } => "failed to decode content".into(),
            Self::InvalidConfig(_) => "invalid network config".into(),
            Self::NotAvailable(_) => "plugin not available".into(),
            _ => self.to_string(),
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            op: op.into(),
            source,
        }
    }

    pub(crate) fn netlink(op: impl Into<String>, source: io::Error) -> Self {
        Self::Netlink {
            op: op.into(),
            source,
        }
    }
}

/// The spec's error object, printed on stdout with a non-zero exit.
#[derive(Debug, Serialize)]
pub struct ErrorReply {
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    pub code: ErrorCode,
    pub msg: String,
    pub details: String,
}

impl ErrorReply {
    pub fn new(cni_version: &str, err: &Error) -> Self {
        let mut details = err.to_string();
        let mut source = std::error::Error::source(err);
        // thiserror already prints the direct source for `{source}` variants;
        // walk further down only for deeper chains.
        if let Some(s) = source {
            source = s.source();
        }
        while let Some(s) = source {
            details.push_str(": ");
            details.push_str(&s.to_string());
            source = s.source();
        }
        Self {
            cni_version: cni_version.to_string(),
            code: err.code(),
            msg: err.msg(),
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_has_the_spec_fields_and_code() {
        let e = Error::InvalidEnv {
            var: "CNI_NETNS",
            reason: "not set".into(),
        };
        let v = serde_json::to_value(ErrorReply::new("1.0.0", &e)).unwrap_or_default();
        assert_eq!(v["cniVersion"], "1.0.0");
        assert_eq!(v["code"], 4);
        assert_eq!(v["msg"], "invalid necessary environment variables");
        assert!(
            v["details"]
                .as_str()
                .is_some_and(|d| d.contains("CNI_NETNS"))
        );
    }
}
