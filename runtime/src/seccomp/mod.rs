//! Seccomp filters from `linux.seccomp`, built with libseccomp.
//!
//! Two phases, as in runc:
//! - [`compile`] runs in the runtime before anything is created: it validates the whole
//!   profile (errnoRet only where the action takes one, argument indexes, notify needs a
//!   listener, actions and flags the running kernel supports), lets libseccomp build the
//!   filter and exports it as a classic BPF program. Unknown syscall *names* are skipped
//!   with a debug log, like runc (profiles list syscalls of newer kernels and other
//!   architectures). Unknown actions, architectures and operators cannot reach it:
//!   oci-spec refuses them when it parses config.json (see the `bad_input` tests).
//! - [`SeccompFilter::load`] runs in the container init right before `execve`; it is
//!   one `seccomp(2)` call on the pre-built program with the spec's flags, so nothing
//!   is allocated or resolved between the filter and the container's first instruction,
//!   and flags libseccomp 2.5 cannot set (WAIT_KILLABLE_RECV) still work.
//!
//! - [`compile_cached`] is [`compile`] with the exported program kept under the state
//!   root (see `cache.rs`): the validation runs every time, the libseccomp build only
//!   when the profile, libseccomp, the kernel or berth changed.
//!
//! `SCMP_ACT_NOTIFY` gives a listener fd at load; the init hands it to the runtime
//! ([`send_fd`]/[`recv_fd`]), which passes it with the container state to the agent at
//! `listenerPath` ([`send_to_listener`], [`container_process_state`]).

mod cache;
mod compile;
mod enosys;
mod load;
mod notify;

use std::path::{Path, PathBuf};

pub use cache::{CACHE_DIR, cache_dir, compile_cached};
pub use compile::compile;

/// Whether the running kernel supports seccomp filter flag `bit` (for `features`).
pub fn filter_flag_supported(bit: libc::c_ulong) -> bool {
    compile::probe_filter_flag(bit).is_ok()
}

/// The version of the libseccomp loaded at run time, `major.minor.micro` (for `features`
/// and `--version`); None when the library cannot tell.
pub fn library_version() -> Option<String> {
    let v = libseccomp::ScmpVersion::current().ok()?;
    Some(format!("{}.{}.{}", v.major, v.minor, v.micro))
}
pub use berth_spec::seccomp::{DEFAULT_PROFILE_JSON, default_profile, default_profile_for};
pub use notify::{
    SECCOMP_FD_NAME, container_process_state, recv_fd, recv_fd_with_data, send_fd, send_to_listener,
};

/// A compiled, not yet loaded, seccomp filter: a classic BPF program plus the
/// `seccomp(2)` flags to load it with. Plain data, so it can be built before `clone`
/// and used in the child.
#[derive(Debug, Clone)]
pub struct SeccompFilter {
    program: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    notify: bool,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
}

impl SeccompFilter {
    /// True when some rule uses `SCMP_ACT_NOTIFY`: [`load`](Self::load) then returns
    /// the listener fd, which must reach the agent at `listenerPath`.
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// The spec's `listenerPath` (set whenever [`uses_notify`](Self::uses_notify)).
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }

    /// The spec's `listenerMetadata`, for [`container_process_state`].
    pub fn listener_metadata(&self) -> Option<&str> {
        self.listener_metadata.as_deref()
    }

    /// Number of BPF instructions (the kernel accepts at most 4096).
    pub fn len(&self) -> usize {
        self.program.len()
    }

    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("invalid seccomp profile: {detail}")]
    InvalidProfile { detail: String },
    #[error("seccomp: {what} is not supported by the running kernel")]
    Unsupported { what: String },
    #[error("seccomp: {op}: {detail}")]
    Libseccomp { op: String, detail: String },
    #[error("seccomp: {op}: {source}")]
    Kernel {
        op: String,
        source: nix::errno::Errno,
    },
    /// runc's words (clients match them); `cause` is in the message, not a `source`, so
    /// an `{:#}` chain does not repeat it.
    #[error("failed to connect with seccomp agent {path}: {cause}")]
    AgentConnect {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("error sending seccomp fd to agent {path}: {op}: {cause}")]
    Listener {
        path: PathBuf,
        op: &'static str,
        cause: std::io::Error,
    },
}

impl SeccompError {
    fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidProfile {
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests;
