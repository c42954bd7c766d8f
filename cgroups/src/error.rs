//! The one error type of this crate: every variant names the operation and the object.

use std::path::PathBuf;

/// What went wrong, with the operation and the path or value it concerned.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A filesystem operation on a cgroup file or directory failed.
    /// `cause` is part of the message, not a `source`: an `{:#}` chain would repeat it.
    #[error("{op} {}: {cause}", path.display())]
    Io {
        /// What was being done: `creating cgroup`, `writing`, `reading`, ...
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The kernel's answer.
        cause: std::io::Error,
    },
    /// The cgroup exists and holds processes or child cgroups: it belongs to someone else,
    /// and a container placed there would kill and remove them on delete. The message
    /// starts as runc 1.2's refusal does ("container's cgroup is not empty").
    #[error("container's cgroup is not empty: {} is in use: {reason}", path.display())]
    InUse {
        /// The directory found in use.
        path: PathBuf,
        /// What was found in it.
        reason: String,
    },
    /// The cgroup (or an ancestor) is frozen: a process placed in it would stop before it
    /// ran a single instruction, and create would hang. runc's wording.
    #[error("container's cgroup unexpectedly frozen: {} {reason}", path.display())]
    Frozen {
        /// The directory whose freezer state was read.
        path: PathBuf,
        /// What the kernel reported, e.g. `freezer.state is FROZEN`.
        reason: String,
    },
    /// `linux.resources.unified` on a host whose limits are set through cgroup v1 (v1 or
    /// hybrid): its keys name v2 files that do not govern the container there. runc's wording.
    #[error(
        "invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified \
         needs a pure cgroup v2 host)"
    )]
    UnifiedOnV1,
    /// A `cgroupsPath` that berth does not accept.
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A value in `linux.resources` that cannot be applied; nothing was changed.
    #[error("invalid linux.resources.{field}: {reason}")]
    InvalidResource {
        /// The JSON path below `linux.resources`, e.g. `memory.limit`.
        field: String,
        /// Why it was refused, including the offending value.
        reason: String,
    },
    /// The resource exists in the spec but this host's cgroup layout cannot enforce it.
    #[error("linux.resources.{field} is not supported here: {reason}")]
    Unsupported {
        /// The JSON path below `linux.resources`.
        field: String,
        /// What is missing on this host.
        reason: String,
    },
    /// A cgroup file held something this crate could not parse.
    #[error("parsing {}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was unexpected.
        reason: String,
    },
    /// The cgroup filesystems are not mounted the way berth needs.
    #[error("cgroup layout: {0}")]
    Layout(String),
    /// A bpf(2) call for the cgroup v2 device filter failed.
    /// `cause` is part of the message, not a `source` (see `Io`).
    #[error("{op} for {}: {cause}{log}", path.display())]
    Bpf {
        /// The bpf command: `loading device filter program`, `attaching`, ...
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The kernel's answer.
        cause: std::io::Error,
        /// The verifier log, prefixed with a newline, when there is one.
        log: String,
    },
}

impl CgroupError {
    /// An [`CgroupError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            cause,
        }
    }

    /// An [`CgroupError::InvalidResource`].
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidResource {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`CgroupError::Unsupported`].
    pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The underlying OS error number, when there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Io { cause, .. } | Self::Bpf { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's answer is in the message and is not also a `source`, so the runtime's
    /// `{:#}` chain says it once.
    #[test]
    fn the_kernels_answer_is_said_once() {
        let e = CgroupError::io(
            "writing",
            "/sys/fs/cgroup/memory/x/memory.limit_in_bytes",
            std::io::Error::from_raw_os_error(libc::EBUSY),
        );
        assert_eq!(e.to_string().matches("os error 16").count(), 1, "{e}");
        assert!(std::error::Error::source(&e).is_none(), "{e:?}");
    }
}
