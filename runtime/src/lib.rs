//! berth-runtime: a runc-compatible OCI runtime.
//!
//! - [`logging`]: where messages go (the runc command line is the binary's, `src/cli/`:
//!   it parses flags into the verbs' typed options);
//! - [`config`]: loading and validating a bundle; [`spec`]: the default config.json and
//!   seccomp profile (the `berth-spec` crate, which the engine uses without the runtime);
//! - [`container`]: the verbs, one per file (create, start, state, kill, delete, run, list,
//!   exec, ps, pause/resume, events, update, features);
//! - [`state`]: per-container state on disk, locked and atomically replaced;
//! - [`init`]: the forked stages that become the container (namespaces, console, process);
//! - [`rootfs`]: mounts, devices, pivot_root; [`safe_path`]: resolving paths inside it;
//!   [`mount_api`]: open_tree/move_mount/mount_setattr by fd;
//! - [`masked_paths`], [`capabilities`], [`seccomp`], [`hooks`], [`exe_seal`]: the security
//!   pieces;
//! - [`sysctl`]: which kernel settings a container may set, and setting them;
//! - [`process_env`]: `NAME=VALUE` environments parsed and merged as runc does;
//! - [`signal`], [`process_info`], [`pidfd`]: small helpers named for what they do.
pub use oci_spec;

pub mod capabilities;
pub mod config;
pub mod container;
pub mod error;
pub mod exe_seal;
pub mod hooks;
pub mod init;
pub mod logging;
pub mod masked_paths;
pub mod mount_api;
pub mod pidfd;
pub mod process_env;
pub mod process_info;
pub mod rootfs;
pub use berth_safe_path as safe_path;
pub mod seccomp;
pub mod signal;
pub use berth_spec as spec;
pub mod state;
pub mod sysctl;

pub use error::{Error, Result};
