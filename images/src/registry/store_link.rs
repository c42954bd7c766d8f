//! Every call the registry makes into the image store, in one place: the store is the
//! images side's ([`crate::ImageStore`]); the registry only adds verified blobs through
//! its blob writer and records images with `add_image`.

use crate::blobs::{BlobWriter, VerifyingReader};
use crate::digest::Digest;
use crate::{Image, ImageError, ImageStore};

use super::RegistryError;
use super::download::BlobSink;

impl BlobSink for BlobWriter {
    fn commit(self: Box<Self>) -> Result<(), RegistryError> {
        BlobWriter::commit(*self)
            .map(|_| ())
            .map_err(RegistryError::Store)
    }
}

fn digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(RegistryError::Store)
}

/// Whether the store has the blob `digest` (`sha256:<hex>`).
pub fn has_blob(store: &ImageStore, text: &str) -> bool {
    Digest::parse(text).is_ok_and(|d| store.has_blob(&d))
}

/// A writer for the blob `digest` that refuses other content at commit.
pub fn blob_sink(store: &ImageStore, text: &str) -> Result<Box<dyn BlobSink>, RegistryError> {
    Ok(Box::new(store.blob_writer(Some(&digest(text)?))?))
}

/// Records the image (manifest and config stored as blobs, the tag pointed at it) and
/// unpacks its layers, reporting each to `progress`.
pub fn add_image(
    store: &ImageStore,
    manifest: &[u8],
    config: &[u8],
    reference: Option<&str>,
    progress: &dyn crate::Progress,
) -> Result<Image, RegistryError> {
    Ok(store.add_image_with(manifest, config, reference, progress)?)
}

/// The image `name` in the store, `None` when there is none.
pub fn find(store: &ImageStore, name: &str) -> Result<Option<Image>, RegistryError> {
    match store.resolve(name) {
        Ok(image) => Ok(Some(image)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A whole small blob (manifest, config), verified.
pub fn read_blob(store: &ImageStore, text: &str) -> Result<Vec<u8>, RegistryError> {
    Ok(store.read_blob(&digest(text)?)?)
}

/// A layer blob as a stream verified at its end.
pub fn open_blob(store: &ImageStore, text: &str) -> Result<VerifyingReader, RegistryError> {
    Ok(store.open_blob(&digest(text)?)?)
}

impl From<ImageError> for RegistryError {
    fn from(e: ImageError) -> Self {
        RegistryError::Store(e)
    }
}
