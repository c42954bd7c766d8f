//! berth-spec: the default OCI `config.json` and berth's default seccomp profile, as
//! oci-spec types and JSON, for the runtime's `spec` verb and for the engine, which must
//! not link the runtime (clap, libseccomp) to build a spec.
//!
//! - [`default_config`] / [`write`]: what `berth-runtime spec` writes (runc's default, or
//!   with [`Profile::Hardened`] berth's hardening on top);
//! - [`caps`]: capability names in kernel order, docker's default set;
//! - [`seccomp`]: the default seccomp profile (`spec/seccomp/default.json`) resolved for
//!   this host, and widened for extra capabilities.
pub use oci_spec;

pub mod caps;
mod config;
pub mod seccomp;

pub use config::{HARDENED_HOSTNAME, HARDENED_MASKED_PATHS, Profile, default_config, write};

/// The OCI runtime-spec version berth implements: `ociVersion` of the default spec, of
/// every container's state, and the maximum `features` reports.
pub const OCI_VERSION: &str = "1.2.0";

/// What can go wrong making or writing a default spec; each message names the object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation on `path` (e.g. `creating /b/config.json: Permission denied`).
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The request cannot be met, e.g. the bundle already has a config.json.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
