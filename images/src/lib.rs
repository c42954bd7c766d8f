//! berth-images: the image side of the engine, as containers/image and containers/storage
//! are podman's: what an image is on disk and how it gets there. The engine (containers,
//! monitor, networks) and `berth serve` use it; it knows nothing about containers.
//!
//! Store layout under the engine's root (`/var/lib/berth` by default):
//! - `images/blobs/sha256/<hex>`: manifests, configs and compressed layers by digest,
//!   verified while written;
//! - `layers/<chain-id hex>/diff`: each layer unpacked once, shared by every image and
//!   container that has it, whiteouts already in overlayfs form.
