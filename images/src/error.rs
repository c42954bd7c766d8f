//! The one error type of the image store. Every variant names the image, blob, layer or
//! file and what was being done to it, so the CLI can print it as is after `berth: `.

use std::path::PathBuf;

/// What failed, on which object.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image has this name, tag, ID or ID prefix.
    #[error("no such image: {name}")]
    NotFound { name: String },
    /// An ID prefix matched several images.
    #[error("image ID prefix {prefix} is ambiguous: it matches {count} images")]
    Ambiguous { prefix: String, count: usize },
    /// Text that is not an image reference (`NAME[:TAG][@DIGEST]`).
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// Text that is not a `sha256:<64 hex>` digest.
    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest { digest: String, reason: String },
    /// A file or directory operation of the store failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Blob content did not hash to the digest it is stored or referenced under.
    #[error(
        "blob {expected}: content has digest {actual}{}",
        context_suffix(context)
    )]
    DigestMismatch {
        expected: String,
        actual: String,
        context: String,
    },
    /// A blob an image needs is not in the store.
    #[error("blob {digest} ({what}) is not in the store")]
    MissingBlob { digest: String, what: String },
    /// A manifest, config or archive index that does not parse or does not fit.
    #[error("{what}: {reason}")]
    Malformed { what: String, reason: String },
    /// A layer archive entry was refused (path escape, bad whiteout, unsupported type);
    /// nothing of the layer is kept.
    #[error("layer {layer}: refusing entry {entry:?}: {reason}")]
    HostileEntry {
        layer: String,
        entry: String,
        reason: String,
    },
    /// Creating an entry of a layer failed.
    #[error("layer {layer}: unpacking entry {entry:?}: {source}")]
    Unpack {
        layer: String,
        entry: String,
        source: berth_safe_path::SafePathError,
    },
    /// A layer's uncompressed content did not match the config's diff ID.
    #[error(
        "layer {layer}: uncompressed content has digest {actual}, the image config says {expected}"
    )]
    DiffIdMismatch {
        layer: String,
        expected: String,
        actual: String,
    },
    /// The image is used by a container and removal was not forced, or by a running
    /// container, which even `-f` cannot override (docker's words for each).
    #[error("{}", in_use_text(.name, .id, .container, *.running))]
    InUse {
        name: String,
        id: String,
        container: String,
        running: bool,
    },
    /// Finding which containers use an image failed ([`crate::ImageUsers`]).
    #[error("checking which containers use image {id}: {source}")]
    Users {
        id: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Removal needs `--force` for another reason (docker's words).
    #[error("conflict: unable to delete {name} (must be forced) - {reason}")]
    Conflict { name: String, reason: String },
    /// The image's layers kept being removed while it was being added.
    #[error("adding image {id}: its layers were removed by another command meanwhile; try again")]
    Raced { id: String },
    /// The store's index or a record could not be written or read as JSON.
    #[error("{action} {}: {source}", path.display())]
    Json {
        action: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn context_suffix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" ({context})")
    }
}

impl ImageError {
    /// An [`ImageError::Io`] maker for `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    /// An [`ImageError::Malformed`] from anything printable.
    pub(crate) fn malformed(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// True for [`ImageError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// [`ImageError::InUse`]'s text, as docker's daemon words each case.
fn in_use_text(name: &str, id: &str, container: &str, running: bool) -> String {
    if running {
        format!(
            "conflict: unable to delete {id} (cannot be forced) - image is being used by running container {container}"
        )
    } else {
        format!(
            "conflict: unable to remove image {name:?} (must force) - container {container} is using its referenced image {id}"
        )
    }
}
