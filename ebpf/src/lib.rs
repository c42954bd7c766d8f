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
//! - [`process`]: execs, forks, exits per cgroup; the [`ProcessEvent`] stream.
//! - [`net`]: bytes and packets in/out per cgroup (cgroup_skb on the v2 root).
//! - [`oom`]: OOM kills per cgroup of the victim.
//! - [`signals`]: signals delivered per cgroup of the receiver.
//! - [`syscall_names`]: x86_64 syscall names, generated from the kernel headers.
//! - [`error`]: the [`Error`] type.

pub mod error;
mod map_read;
pub mod net;
pub mod oom;
pub mod probes;
pub mod process;
pub mod signals;
mod skeletons;
pub mod syscall_names;
pub mod syscalls;
pub mod watchlist;

pub use error::Error;
pub use net::NetCounts;
pub use probes::{ProbeOptions, Probes};
pub use process::{EventStream, ProcessCounts, ProcessEvent, ProcessEventKind};
pub use syscalls::{SyscallCounting, SyscallStats};
pub use watchlist::WatchKind;
