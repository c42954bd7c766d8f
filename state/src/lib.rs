//! berth-state: the container state contract, in one place. berth-runtime writes it,
//! the exporter (and later the engine) reads it, and the readers of the peers' state
//! that the exporter scans live here too, so that every program agrees on the shapes.
//!
//! - [`files`]: the file names in a container's state directory (berth's, runc's, crun's);
//! - [`status`]: [`Status`], a container's lifecycle status;
//! - [`time`]: [`Timestamp`], RFC 3339 as the runtimes write `created`;
//! - [`berth`]: [`ContainerState`], berth's `<root>/<id>/state.json`, and the OCI
//!   state and runc-style outputs derived from it;
//! - [`runc`]: [`RuncState`], runc's (libcontainer's) `<root>/<id>/state.json`;
//! - [`crun`]: [`CrunStatus`], crun's `<root>/<id>/status`;
//! - [`error`]: [`StateError`], what parsing or writing one of them fails with.
//!
//! Nothing here touches the kernel: liveness checks, locks and cgroups stay with their
//! callers, so this crate stays light enough for any reader.

pub mod berth;
pub mod crun;
pub mod error;
pub mod files;
pub mod runc;
pub mod status;
pub mod time;

pub use berth::{ContainerState, OciState, StateOutput};
pub use crun::CrunStatus;
pub use error::StateError;
pub use runc::RuncState;
pub use status::Status;
pub use time::Timestamp;
