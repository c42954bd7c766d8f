//! New images from a manifest and a config whose layer blobs are already in the store:
//! the registry's pulls, `load` and `import` all end here.

use oci_spec::image::{ImageConfiguration, ImageManifest};

use super::index::ImageRecord;
use super::{ImageStore, diff_ids};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::layers::chain_ids;
use crate::progress::{NoProgress, Progress};
use crate::reference;
use crate::store::Image;
use berth_state::time::Timestamp;

/// How often adding retries when another command removed a layer it had just unpacked.
const ADD_ATTEMPTS: usize = 3;

impl ImageStore {
    /// Adds the image of `manifest` (OCI or docker v2 schema 2 JSON, exactly the bytes
    /// its digest was taken of) and `config`, whose layer blobs must already be in the
    /// store ([`ImageStore::blob_writer`]); unpacks its layers. For registry pulls:
    /// `reference` (`busybox:latest`, `busybox@sha256:...`) tags it when it has a tag, and
    /// `repository@<manifest digest>` is recorded as a repo digest.
    ///
    /// # Errors
    /// [`ImageError::Malformed`] for a manifest or config that does not parse or does not
    /// match each other, [`ImageError::MissingBlob`], an unpack error.
    pub fn add_image(
        &self,
        manifest: &[u8],
        config: &[u8],
        reference: Option<&str>,
    ) -> Result<Image, ImageError> {
        self.add_image_with(manifest, config, reference, &NoProgress)
    }

    /// [`ImageStore::add_image`], reporting the unpacking of each layer to `progress`.
    pub fn add_image_with(
        &self,
        manifest: &[u8],
        config: &[u8],
        reference: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Image, ImageError> {
        let manifest_digest = Digest::of(manifest);
        let (tags, repo_digests) = match reference {
            None => (Vec::new(), Vec::new()),
            Some(text) => {
                let r = reference::parse(text)?;
                let repository = format!("{}/{}", r.registry(), r.repository());
                let tags = r
                    .tag()
                    .map(|t| vec![format!("{repository}:{t}")])
                    .unwrap_or_default();
                (tags, vec![format!("{repository}@{manifest_digest}")])
            }
        };
        self.add(manifest, config, &tags, &repo_digests, progress)
    }

    /// Adds an image under the normalized names `tags`, with `repo_digests`.
    pub(crate) fn add(
        &self,
        manifest_bytes: &[u8],
        config_bytes: &[u8],
        tags: &[String],
        repo_digests: &[String],
        progress: &dyn Progress,
    ) -> Result<Image, ImageError> {
        let config_digest = Digest::of(config_bytes);
        let id = config_digest.to_string();
        let what = |part: &str| format!("image {id}: {part}");
        let manifest = ImageManifest::from_reader(manifest_bytes)
            .map_err(|e| ImageError::malformed(what("manifest"), e))?;
        let named_config = manifest.config().digest().to_string();
        if named_config != id {
            return Err(ImageError::DigestMismatch {
                expected: named_config,
                actual: id,
                context: "the manifest's config".into(),
            });
        }
        let config = ImageConfiguration::from_reader(config_bytes)
            .map_err(|e| ImageError::malformed(what("config"), e))?;
        let diff_ids = diff_ids(&config, &id)?;
        if diff_ids.len() != manifest.layers().len() {
            return Err(ImageError::malformed(
                what("manifest"),
                format!(
                    "{} layers, but the config lists {} diff IDs",
                    manifest.layers().len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut blobs = Vec::with_capacity(diff_ids.len());
        for (i, layer) in manifest.layers().iter().enumerate() {
            let blob = Digest::parse(layer.digest().as_ref())?;
            if !self.blobs.has(&blob) {
                return Err(ImageError::MissingBlob {
                    digest: blob.to_string(),
                    what: format!("layer {} of image {id}", i + 1),
                });
            }
            blobs.push(blob);
        }
        self.blobs.put(config_bytes)?;
        let manifest_digest = self.blobs.put(manifest_bytes)?;
        let result = self.record(
            &id,
            &manifest_digest,
            &diff_ids,
            &blobs,
            tags,
            repo_digests,
            progress,
        );
        if result.is_err() {
            // A refused layer or a failed unpack: keep no blob of this image that no
            // other image needs.
            self.discard_unreferenced(&[manifest_digest, config_digest])?;
        }
        result
    }

    /// Unpacks the layers and records the image in the index.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        id: &str,
        manifest_digest: &Digest,
        diff_ids: &[Digest],
        blobs: &[Digest],
        tags: &[String],
        repo_digests: &[String],
        progress: &dyn Progress,
    ) -> Result<Image, ImageError> {
        let id = id.to_string();
        let manifest_digest = manifest_digest.clone();
        let chains = chain_ids(diff_ids);
        for _ in 0..ADD_ATTEMPTS {
            let mut size = 0;
            for ((chain, diff_id), blob) in chains.iter().zip(diff_ids).zip(blobs) {
                size += self.ensure_layer(chain, diff_id, blob, progress)?.size;
            }
            let kept_manifest = self.index.update(|index| {
                // An `rmi` of another image may have removed a shared layer between the
                // unpacking above and this lock: then unpack again.
                for chain in &chains {
                    if self.layers.record(chain)?.is_none() {
                        return Ok(None);
                    }
                }
                let record = index
                    .images
                    .entry(id.clone())
                    .or_insert_with(|| ImageRecord {
                        manifest_digest: manifest_digest.clone(),
                        repo_digests: Vec::new(),
                        chain_ids: chains.clone(),
                        size,
                        added: Timestamp::now(),
                    });
                for d in repo_digests {
                    if !record.repo_digests.contains(d) {
                        record.repo_digests.push(d.clone());
                    }
                }
                let kept = record.manifest_digest.clone();
                for tag in tags {
                    index.tags.insert(tag.clone(), id.clone());
                }
                Ok(Some(kept))
            })?;
            if let Some(kept) = kept_manifest {
                // The image was already here under another manifest (the same config
                // from another archive format): the first one stays, this one goes.
                if kept != manifest_digest {
                    self.discard_unreferenced(&[manifest_digest])?;
                }
                return self.image(&self.index.read()?, &id);
            }
        }
        Err(ImageError::Raced { id })
    }
}
