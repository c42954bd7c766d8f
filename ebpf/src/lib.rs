//! berth-ebpf: the BPF programs berth loads into the kernel, and a typed API over them.
//!
//! The programs are C under `src/bpf/` (one family per file), compiled with clang into
//! libbpf skeletons by `build.rs`, and loaded with `libbpf-rs`. Everything is keyed by
//! cgroup v2 id (`bpf_get_current_cgroup_id()`), and only cgroups on the
//! [watch list](watchlist) are counted. No other crate touches a raw map.
//!
//! - [`probes`]: [`Probes`], loads and attaches every family, owns the watch list.
//! - [`watchlist`]: which cgroups are counted ([`WatchKind`]).
//! - [`syscalls`]: syscalls per syscall number and failed syscalls, of the cgroups that
//!   opted in (programs attached only while one has).
//! - [`process`]: execs, forks, exits per cgroup (and process_exec/exit records).
//! - [`audit`]: audit records ([`AuditEvent`]) from every family's ring buffer, their
//!   types, and their loss counters.
//! - [`sockets`]: network_connect/listen records (cgroup sock programs on berth's
//!   subtrees).
//! - [`files`]: sensitive_open records (opt-in open tracepoints).
//! - [`privileged`]: privileged_syscall records from opt-in per-syscall tracepoints.
//! - [`net`]: bytes and packets in/out per cgroup (cgroup_skb on the v2 root).
//! - [`oom`]: OOM kills per cgroup of the victim.
//! - [`signals`]: signals delivered per cgroup of the receiver.
//! - [`syscall_names`]: x86_64 syscall names, generated from the kernel headers.
//! - [`error`]: the [`Error`] type.

pub mod audit;
pub mod error;
pub mod files;
mod map_read;
pub mod net;
pub mod oom;
pub mod privileged;
pub mod probes;
pub mod process;
pub mod signals;
mod skeletons;
pub mod sockets;
pub mod syscall_names;
pub mod syscalls;
pub mod watchlist;

pub use audit::{AuditEvent, AuditStream, EventDetail, EventTask, EventType, EventTypes};
pub use error::Error;
pub use net::NetCounts;
pub use probes::{AuditOptions, ProbeOptions, Probes};
pub use process::ProcessCounts;
pub use syscalls::{SyscallCounting, SyscallStats};
pub use watchlist::WatchKind;
