//! The one error type: what was being resolved or created inside the root, and the errno.

use std::path::PathBuf;

use nix::errno::Errno;

/// What failed, on which path (as the caller named it, relative to the root).
#[derive(Debug, thiserror::Error)]
pub enum SafePathError {
    #[error("opening root directory {root}: {source}")]
    OpenRoot { root: PathBuf, source: Errno },
    #[error("resolving {path} inside the root: {source}")]
    Resolve { path: PathBuf, source: Errno },
    #[error("creating {path} inside the root: {source}")]
    Create { path: PathBuf, source: Errno },
    #[error("{path} inside the root changed while it was being opened")]
    Raced { path: PathBuf },
    #[error("open_in_root({path}): O_CREAT is not supported, use create_file_in_root")]
    CreateFlag { path: PathBuf },
    #[error("{action} {path} inside the root: {source}")]
    Entry {
        path: PathBuf,
        action: &'static str,
        source: Errno,
    },
    #[error("{path}: names the root itself or its parent, not an entry inside it")]
    NotAnEntry { path: PathBuf },
    #[error("changing into {path}: {source}")]
    Chdir { path: PathBuf, source: Errno },
    #[error("changing into {path}: the working directory is outside the container root")]
    CwdOutsideRoot { path: PathBuf },
}

impl SafePathError {
    /// The errno behind the failure, when there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::OpenRoot { source, .. }
            | Self::Resolve { source, .. }
            | Self::Create { source, .. }
            | Self::Entry { source, .. }
            | Self::Chdir { source, .. } => Some(*source),
            Self::Raced { .. }
            | Self::CreateFlag { .. }
            | Self::CwdOutsideRoot { .. }
            | Self::NotAnEntry { .. } => None,
        }
    }

    /// True when a component of the path does not exist (callers often skip those).
    pub fn is_not_found(&self) -> bool {
        self.errno() == Some(Errno::ENOENT)
    }
}
