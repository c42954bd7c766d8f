//! Volumes, as docker's `-v` and `berth volume` know them: host binds, named volumes
//! and anonymous ones (an image's `Volumes`, `-v /path`), stored under
//! `<root>/volumes/<name>/`, filled from the image on first use and kept across
//! container removal unless `rm -v` (anonymous ones).
//!
//! - [`spec`]: `-v` values ([`VolumeSpec::parse`], [`with_image_volumes`]).
//! - [`store`]: the volumes on disk ([`VolumeStore`]: create, list, inspect, remove,
//!   prune, and `rm -v`'s [`VolumeStore::remove_anonymous_of`]).
//! - [`mounts`]: a container's OCI mounts ([`mounts_for_container`], [`mounts_for`]).
//! - [`copyup`]: filling a new volume from the image, safely.

pub mod copyup;
pub mod error;
pub mod mounts;
pub mod spec;
pub mod store;

pub use error::VolumeError;
pub use mounts::{container_mounts, mounts_for, mounts_for_container};
pub use spec::{VolumeSource, VolumeSpec, with_image_volumes};
pub use store::{ANONYMOUS_LABEL, PruneReport, Volume, VolumeStore};
