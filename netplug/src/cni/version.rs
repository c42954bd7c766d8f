//! The CNI versions we speak; results go out in the version asked for.

use crate::cni::error::Error;

pub const SUPPORTED: [&str; 3] = ["0.4.0", "1.0.0", "1.1.0"];
pub const LATEST: &str = "1.1.0";

/// A supported CNI version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V0_4_0,
    V1_0_0,
    V1_1_0,
}

impl Version {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "0.4.0" => Ok(Self::V0_4_0),
            "1.0.0" => Ok(Self::V1_0_0),
            "1.1.0" => Ok(Self::V1_1_0),
            other => Err(Error::IncompatibleVersion(format!(
                "{other:?} (supported: {})",
                SUPPORTED.join(", ")
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_4_0 => "0.4.0",
            Self::V1_0_0 => "1.0.0",
            Self::V1_1_0 => "1.1.0",
        }
    }
}

/// The reply to VERSION.
pub fn version_reply(requested: Option<&str>) -> serde_json::Value {
    // Answer in the caller's version when we know it, else our latest.
    let v = requested
        .and_then(|r| Version::parse(r).ok())
        .map_or(LATEST, Version::as_str);
    serde_json::json!({ "cniVersion": v, "supportedVersions": SUPPORTED })
}
