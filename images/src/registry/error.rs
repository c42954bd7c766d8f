//! What can go wrong talking to a registry, each variant naming the image, blob or
//! registry and the step that failed, the way a person at a terminal needs it.

use std::path::PathBuf;

/// An error of `pull`, `push`, `login` or `logout`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The name is not a valid image reference (`NAME[:TAG][@DIGEST]`).
    #[error("invalid reference format {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// `--platform` is not `os/arch[/variant]`.
    #[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/amd64")]
    InvalidPlatform(String),
    /// The registry has no such repository, tag or digest.
    #[error("{reference}: not found in registry {registry}")]
    NotFound { reference: String, registry: String },
    /// The registry refused the credentials (or wanted some and had none).
    #[error(
        "{action} {reference}: unauthorized: {detail} (wrong or missing credentials; `berth login {registry}`)"
    )]
    Unauthorized {
        action: &'static str,
        reference: String,
        registry: String,
        detail: String,
    },
    /// `berth login` with credentials the registry refused.
    #[error("login to {registry} refused: {detail}")]
    LoginRefused { registry: String, detail: String },
    /// A manifest of a kind berth does not pull (schema 1, an artifact, ...).
    #[error(
        "{reference}: unsupported manifest media type {media_type:?} (berth pulls OCI and docker schema 2 images and indexes)"
    )]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },
    /// The index has no manifest for the wanted platform.
    #[error("{reference}: no image for platform {platform} in the index (it has: {available})")]
    PlatformNotFound {
        reference: String,
        platform: String,
        available: String,
    },
    /// The registry answered something that is not what the protocol says.
    #[error("{reference}: registry {registry} answered garbage while {action}: {detail}")]
    Garbage {
        reference: String,
        registry: String,
        action: &'static str,
        detail: String,
    },
    /// Content did not match its digest (or a layer's uncompressed content its diff_id).
    #[error(
        "{what} {expected}: content does not match its digest (got {actual}); nothing was stored"
    )]
    DigestMismatch {
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// A layer's media type names a compression berth cannot decode.
    #[error("layer {digest}: unsupported layer media type {media_type:?}")]
    UnsupportedLayer { digest: String, media_type: String },
    /// Talking to the registry failed (after retries where that helps).
    #[error("{action} {reference} from {registry}: {detail}")]
    Transport {
        action: &'static str,
        reference: String,
        registry: String,
        detail: String,
    },
    /// Reading or writing berth's own files (auth file, settings, blobs).
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A settings or credentials file that does not parse.
    #[error("reading {}: {detail}", path.display())]
    BadFile { path: PathBuf, detail: String },
    /// `pull --never` (or `--pull never`) and the image is not in the store.
    #[error("{0}: no such image in the store, and pulling is off (--pull never)")]
    NotPresent(String),
    /// The image store refused or failed.
    #[error(transparent)]
    Store(crate::ImageError),
    /// The async runtime for the registry verbs could not start.
    #[error("starting the registry client's runtime: {0}")]
    Runtime(std::io::Error),
}
