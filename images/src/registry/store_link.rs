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

/// Where a layer goes when it is unpacked while it downloads.
#[derive(Clone)]
pub struct LayerTarget {
    pub store: ImageStore,
    /// The layer's chain id (from the config's diff_ids).
    pub chain_id: Digest,
}

/// The target for a layer the store has not unpacked yet; `None` when it has.
pub fn layer_target(
    store: &ImageStore,
    chain_id: &str,
) -> Result<Option<LayerTarget>, RegistryError> {
    let chain_id = digest(chain_id)?;
    Ok(match store.layers().record(&chain_id)? {
        Some(_) => None,
        None => Some(LayerTarget {
            store: store.clone(),
            chain_id,
        }),
    })
}

/// Unpacks the layer from `blob` (read as it downloads), checking its diff_id; on any
/// error the store keeps nothing of it.
pub fn unpack_layer(
    target: &LayerTarget,
    diff_id: &str,
    blob_digest: &str,
    blob: &mut dyn std::io::Read,
) -> Result<(), RegistryError> {
    let diff_id = digest(diff_id)?;
    let blob_digest = digest(blob_digest)?;
    target
        .store
        .layers()
        .ensure(&target.chain_id, &diff_id, &blob_digest, || {
            Ok(Box::new(blob))
        })
        .map(|_| ())
        .map_err(|e| match e {
            ImageError::DiffIdMismatch {
                layer: _,
                expected,
                actual,
            } => RegistryError::DigestMismatch {
                what: "layer diff_id",
                expected,
                actual,
            },
            e => RegistryError::Store(e),
        })
}

/// Removes a layer unpacked from a blob that then failed its digest.
pub fn remove_layer(target: &LayerTarget) -> Result<(), RegistryError> {
    Ok(target.store.layers().remove(&target.chain_id)?)
}

/// The chain ids of `diff_ids` (`sha256:` text), bottom first.
pub fn chain_ids(diff_ids: &[String]) -> Result<Vec<String>, RegistryError> {
    let parsed = diff_ids
        .iter()
        .map(|d| digest(d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::layers::chain_ids(&parsed)
        .iter()
        .map(ToString::to_string)
        .collect())
}

impl From<ImageError> for RegistryError {
    fn from(e: ImageError) -> Self {
        RegistryError::Store(e)
    }
}
