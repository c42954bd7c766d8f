//! `berth load`: images from a file or directory, in the formats docker and the OCI
//! tools write:
//! - docker-archive, as `docker save` writes it: `manifest.json` (Config, RepoTags,
//!   Layers) with `<id>/layer.tar` files (docker before 25, shared layers as symlinks)
//!   or `blobs/sha256/<hex>` (docker 25 and later, which also writes an OCI index);
//! - OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`), as a directory or a
//!   tarball (skopeo's and buildah's `oci-archive`, umoci's layouts);
//! - the tarball itself may be plain, gzip or zstd; layers too.
//!
//! `manifest.json` wins when an archive has both, as in `docker load`.

mod archive;
mod docker_archive;
mod oci_layout;

use std::path::Path;

use archive::Archive;

use crate::error::ImageError;
use crate::progress::Progress;
use crate::store::{Image, ImageStore};

/// An image `load` added, with the names the archive gave it (the image may have
/// more, from before).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub image: Image,
    /// Normalized names from the archive (`docker.io/library/busybox:latest`).
    pub names: Vec<String>,
}

impl ImageStore {
    /// Loads every image of the archive or layout at `path`; returns them in the
    /// archive's order. [`ImageStore::load_named`] also tells which names the archive
    /// gave each (what `docker load` prints).
    pub fn load(&self, path: &Path, progress: &dyn Progress) -> Result<Vec<Image>, ImageError> {
        Ok(self
            .load_named(path, progress)?
            .into_iter()
            .map(|l| l.image)
            .collect())
    }

    /// [`ImageStore::load`], with each image's names from the archive.
    ///
    /// # Errors
    /// [`ImageError::Malformed`] for an archive of no known format or with a broken
    /// index; an unpack error for a hostile or damaged layer (then no image of it is
    /// added, and no blob of this archive that no image uses is kept).
    pub fn load_named(
        &self,
        path: &Path,
        progress: &dyn Progress,
    ) -> Result<Vec<Loaded>, ImageError> {
        let mut archive = Archive::open(path, self.blobs(), progress)?;
        let result = if archive.has("manifest.json") {
            docker_archive::load(self, &mut archive, progress)
        } else if archive.has("index.json") {
            oci_layout::load(self, &mut archive, progress)
        } else {
            Err(ImageError::malformed(
                format!("loading {}", path.display()),
                "neither a docker-archive (manifest.json) nor an OCI image layout (index.json)",
            ))
        };
        self.discard_unreferenced(archive.stored())?;
        result
    }
}
