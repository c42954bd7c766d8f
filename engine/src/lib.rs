//! berth-engine: docker's everyday workflow (`run`, `ps`, `logs`, `stop`, ...) as a
//! library, in podman's shape: no daemon. The `berth` CLI (`src/main.rs`, `src/cli/`) and
//! `berth serve` (the Docker Engine API) are two front ends over the same functions.
//!
//! Where things live:
//! - [`paths`]: the store's directories (`--root`, `--runroot`, `--runtime-root`) and the
//!   OCI runtime binary the engine drives.
//!
//! Images come from the `berth-images` crate; containers run under an OCI runtime binary
//! (`berth-runtime` by default, runc or crun with `--runtime`), each watched by a monitor
//! process of its own.

pub mod paths;
pub mod serve;

pub use paths::StorePaths;
