//! What can go wrong with volumes; each variant names the volume, the path or the
//! `-v` value, and what was being done.

use std::path::PathBuf;

/// Errors of [`crate::volume`].
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A `-v` value that does not parse.
    #[error("invalid volume specification {spec:?}: {reason}")]
    InvalidSpec { spec: String, reason: String },
    /// A volume name docker would refuse.
    #[error(
        "{0:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    InvalidName(String),
    #[error("no such volume: {0}")]
    NotFound(String),
    /// `volume rm` of a volume that a container (running or not) mounts.
    #[error("remove {name}: volume is in use - [{containers}]")]
    InUse { name: String, containers: String },
    /// A file of the store or of the image.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A volume.json that does not parse.
    #[error("reading volume record {}: {source}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Copying the image's content into a new volume.
    #[error("copying the image's {} into volume {volume}: {reason}", dest.display())]
    CopyUp {
        volume: String,
        dest: PathBuf,
        reason: String,
    },
}

impl VolumeError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
