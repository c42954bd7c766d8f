//! The runtime's error type: every variant names what was being done and to what.

use std::io;
use std::path::PathBuf;

/// Errors of the runtime library. The binary adds no context of its own beyond this:
/// each message already reads as "doing X on Y: cause".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{op} {target}: {source}")]
    Sys {
        op: &'static str,
        target: String,
        #[source]
        source: nix::Error,
    },
    #[error("invalid config {}: {msg}", path.display())]
    Config { path: PathBuf, msg: String },
    #[error("container {id}: {msg}")]
    Container { id: String, msg: String },
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("invalid container id {0:?}: only letters, digits, '_', '+', '-' and '.' are allowed")]
    InvalidId(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("container init: {0}")]
    Init(String),
    /// An error the forked init reported over the channel, already fully worded.
    #[error("{0}")]
    InitReported(String),
    #[error(transparent)]
    Cgroup(#[from] berth_cgroups::CgroupError),
    #[error(transparent)]
    Capability(#[from] crate::capabilities::CapabilityError),
    #[error(transparent)]
    Mask(#[from] crate::masked_paths::MaskError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    /// The process `exec` started failed before it could run the command.
    #[error("setting up the process: {0}")]
    ExecSetup(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for attaching the operation and path to an `io::Error`.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}

/// Shorthand for attaching the operation and target to a `nix::Error`.
pub(crate) fn sys_err(
    op: &'static str,
    target: impl Into<String>,
) -> impl FnOnce(nix::Error) -> Error {
    let target = target.into();
    move |source| Error::Sys { op, target, source }
}
