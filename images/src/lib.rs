//! berth-images: the image side of the engine, as containers/image and containers/storage
//! are podman's: what an image is on disk and how it gets there. The engine (containers,
//! monitor, networks) and `berth serve` use it; it knows nothing about containers (an
//! [`ImageUsers`] given by the engine tells `rmi` which images containers use).
//!
//! Store layout under the engine's root (`/var/lib/berth` by default):
//! - `images/blobs/sha256/<hex>`: manifests, configs and layer archives by digest,
//!   verified while written and while read ([`blobs`]);
//! - `images/index.json`: the images and the names pointing at them ([`store::index`]);
//! - `layers/<chain-id hex>/diff`: each layer unpacked once, shared by every image and
//!   container that has it, whiteouts already in overlayfs form ([`layers`], [`unpack`]).
//!
//! Where things are:
//! - [`store`]: the store, [`ImageStore`] (open, resolve, list, lower_dirs, tag, remove,
//!   add_image) and [`Image`];
//! - [`load`]: `berth load` (docker-archive, OCI layout directories and tarballs);
//!   [`import`]: `berth import` (a root filesystem tarball as a one-layer image);
//! - [`unpack`]: layer archives into directories, hostile-input safe;
//! - [`reference`]: docker's names (`busybox` = `docker.io/library/busybox:latest`);
//!   [`digest`]: `sha256:` digests and hashing streams;
//! - [`display`]: docker's human figures (`4.2MB`, `2 minutes ago`);
//!   [`inspect`]: `image inspect`'s JSON; [`progress`]: reporting long work;
//! - [`manifest`]: OCI manifests for images that come without one (load, import);
//! - [`registry`]: `pull`, `push`, `login` against OCI distribution registries
//!   (oci-client), verified blobs into the store through its blob writer;
//! - [`error`]: the error type, [`ImageError`].

pub mod blobs;
pub mod digest;
pub mod display;
pub mod error;
pub mod import;
pub mod inspect;
pub mod layers;
pub mod load;
mod lock;
pub mod manifest;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;

pub use berth_state::time::Timestamp;
pub use digest::Digest;
pub use error::ImageError;
pub use oci_spec;
pub use progress::{NoProgress, Progress};
pub use reference::familiar_name;
pub use store::{Image, ImageStore, ImageUsers, NoUsers, Removed};
