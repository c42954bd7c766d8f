//! [`EngineError`]: what the engine's container verbs fail with. Each variant names the
//! object and what was being done, as a person at a terminal needs it; the CLI prints it
//! after `berth: ` and maps it to docker's exit codes ([`EngineError::exit_code`]).

use std::path::PathBuf;

/// A container verb's failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No container has this id, id prefix or name.
    #[error("no such container: {0}")]
    NoSuchContainer(String),
    /// No exec has this id or id prefix (the Docker API's 404 for `/exec/{id}/...`).
    #[error("no such exec instance: {0}")]
    NoSuchExec(String),
    /// An id prefix matches more than one container.
    #[error("multiple containers match {0:?}: give more of the id")]
    Ambiguous(String),
    /// `--name` names a container that exists.
    #[error(
        "the container name \"/{name}\" is already in use by container \"{id}\": remove or rename that container to reuse the name"
    )]
    NameInUse { name: String, id: String },
    /// A file operation (`op` is what was being done, e.g. "writing") on `path`.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call on an object (a mount, a process, a socket).
    #[error("{op} {object}: {source}")]
    Sys {
        op: &'static str,
        object: String,
        #[source]
        source: nix::Error,
    },
    /// The image store failed (resolving, unpacking).
    #[error("{0}")]
    Image(String),
    /// The network helper failed (attach, detach).
    #[error("{0}")]
    Network(String),
    /// The OCI runtime refused a verb; `message` is what it said.
    #[error("{verb} of container {id} by {runtime}: {message}")]
    Runtime {
        verb: &'static str,
        id: String,
        runtime: String,
        message: String,
    },
    /// Bad input: a flag value, an image config that cannot run.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request conflicts with the container's state (e.g. `rm` of a running one).
    #[error("{0}")]
    Conflict(String),
    /// A record in the store that does not parse.
    #[error("reading {}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    /// The monitor went away or reported a failure while starting the container.
    #[error("{0}")]
    Monitor(String),
}

impl EngineError {
    /// The exit code docker gives a command failing so: 125 for the engine's own errors,
    /// 126 for a command that cannot be run, 127 for one that is not found.
    pub fn exit_code(&self) -> u8 {
        match self {
            EngineError::Runtime { message, .. } | EngineError::Monitor(message) => {
                let m = message.to_ascii_lowercase();
                if m.contains("no such file or directory")
                    || m.contains("executable file not found")
                {
                    127
                } else if m.contains("permission denied") {
                    126
                } else {
                    125
                }
            }
            _ => 125,
        }
    }
}

/// A closure mapping an io::Error to [`EngineError::Io`] for `op` on `path`.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.into();
    move |source| EngineError::Io { op, path, source }
}

/// A closure mapping a nix error to [`EngineError::Sys`] for `op` on `object`.
pub(crate) fn sys_err(
    op: &'static str,
    object: impl Into<String>,
) -> impl FnOnce(nix::Error) -> EngineError {
    let object = object.into();
    move |source| EngineError::Sys { op, object, source }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
