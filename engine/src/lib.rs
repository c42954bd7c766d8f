//! berth-engine: docker's everyday workflow (`run`, `ps`, `logs`, `stop`, ...) as a
//! library, in podman's shape: no daemon. The `berth` CLI (`src/main.rs`, `src/cli/`) and
//! `berth serve` (the Docker Engine API) are two front ends over the same functions.
//!
//! Where things live:
//! - [`container`]: container records, ids, names, locks, the derived status;
//! - [`ops`]: the container verbs (create, start, ps, logs, stop, kill, rm, wait, inspect);
//! - [`monitor`]: the per-container monitor process and its attach socket;
//! - [`ocispec`]: the container's OCI config.json; [`rootfs`]: its overlay mount;
//! - [`oci_runtime`]: the OCI runtime binary's CLI; [`error`]: [`EngineError`];
//!   [`atomic_file`]: records written by rename.
//! - [`network`]: bridge networks through berth-netplug, `--network none|host`, `-p`,
//!   the container's /etc/hosts, hostname and resolv.conf.
//! - [`random`]: docker-shaped random ids; [`docker_name`]: docker's rule for names.
//! - [`volume`]: `-v` binds, named and anonymous volumes, `berth volume`.
//! - [`image_users`]: which containers use an image (`rmi`'s check).
//! - [`exec`]: `exec` in docker's steps (create, start, resize, inspect).
//! - [`terminal`]: ptys from the runtime's console socket, window sizes, raw mode.
//! - [`paths`]: the store's directories (`--root`, `--runroot`, `--runtime-root`) and the
//!   OCI runtime binary the engine drives.
//!
//! Images come from the `berth-images` crate; containers run under an OCI runtime binary
//! (`berth-runtime` by default, runc or crun with `--runtime`), each watched by a monitor
//! process of its own.

pub mod atomic_file;
pub mod container;
pub mod docker_name;
pub mod error;
pub mod exec;
pub mod image_users;
pub mod monitor;
pub mod network;
pub mod oci_runtime;
pub mod ocispec;
pub mod ops;
pub mod paths;
pub mod random;
pub mod rootfs;
pub mod serve;
pub mod terminal;
pub mod volume;

pub use error::EngineError;
pub use paths::StorePaths;
