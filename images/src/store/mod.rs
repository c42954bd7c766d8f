//! The image store: [`ImageStore`] over the blob store, the unpacked layers and the
//! image index. One file per verb group: [`add`] (new images from a manifest and a
//! config), [`remove`] (`rmi`), this file (open, resolve, list, tag, lower dirs).

mod add;
pub mod index;
mod remove;

use std::path::{Path, PathBuf};

use berth_state::time::Timestamp;
use oci_spec::image::{ImageConfiguration, ImageManifest};
use serde::Serialize;

use crate::blobs::{BlobStore, BlobWriter, VerifyingReader};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::layers::LayerStore;
use crate::reference;
use index::{ImageRecord, Index, IndexFile};

pub use remove::{ImageUsers, NoUsers, Removed};

/// An image as the engine and the CLI see it.
#[derive(Debug, Clone, Serialize)]
pub struct Image {
    /// docker's image ID: `sha256:<hex of the config's digest>`.
    pub id: String,
    /// Normalized names pointing at it (`docker.io/library/busybox:latest`), sorted.
    pub repo_tags: Vec<String>,
    /// `repository@sha256:...` of registries it came from.
    pub repo_digests: Vec<String>,
    /// The digest of its manifest in the blob store.
    pub manifest_digest: String,
    /// The image configuration (Entrypoint, Cmd, Env, diff IDs, history).
    pub config: ImageConfiguration,
    /// The config's `created`, when it has a valid one.
    pub created: Option<Timestamp>,
    /// Bytes in its layers' regular files (docker's SIZE).
    pub size: u64,
    /// Its layers' chain IDs, bottom first (each is `layers/<hex>/diff`).
    pub chain_ids: Vec<String>,
}

impl Image {
    /// The 12-hex-digit short ID docker prints.
    pub fn short_id(&self) -> &str {
        let hex = self.id.strip_prefix("sha256:").unwrap_or(&self.id);
        &hex[..hex.len().min(12)]
    }
}

/// The image side of a berth store root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    images_dir: PathBuf,
    blobs: BlobStore,
    layers: LayerStore,
    index: IndexFile,
}

impl ImageStore {
    /// The store under `root` (the engine's `--root`): `images/` and `layers/` are
    /// created if missing.
    pub fn open(root: &Path) -> Result<Self, ImageError> {
        let images_dir = root.join("images");
        let blobs = BlobStore::create(images_dir.join("blobs").join("sha256"))?;
        let layers = LayerStore::open(root.join("layers"))?;
        let index = IndexFile::new(&images_dir);
        Ok(Self {
            images_dir,
            blobs,
            layers,
            index,
        })
    }

    /// The blob store (manifests, configs, layer archives by digest).
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The unpacked layers.
    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    /// `images/`: for scratch files that must be on the store's filesystem.
    pub fn images_dir(&self) -> &Path {
        &self.images_dir
    }

    /// The image `name_or_id` names: a reference (`busybox` is
    /// `docker.io/library/busybox:latest`; `name@sha256:...` matches a repo digest or a
    /// manifest digest), a full ID, or a unique ID prefix (with or without `sha256:`).
    ///
    /// # Errors
    /// [`ImageError::NotFound`], [`ImageError::Ambiguous`] for a prefix of several IDs.
    pub fn resolve(&self, name_or_id: &str) -> Result<Image, ImageError> {
        let index = self.index.read()?;
        let id = find_id(&index, name_or_id)?;
        self.image(&index, &id)
    }

    /// Every image, newest first (as `docker images` lists them).
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let index = self.index.read()?;
        let mut images = index
            .images
            .keys()
            .map(|id| self.image(&index, id))
            .collect::<Result<Vec<_>, _>>()?;
        images.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(images)
    }

    /// The image's layer directories in overlayfs `lowerdir` order (top layer first),
    /// unpacking any that is missing (once per chain ID, under its lock).
    pub fn lower_dirs(&self, image: &Image) -> Result<Vec<PathBuf>, ImageError> {
        let index = self.index.read()?;
        let record = index
            .images
            .get(&image.id)
            .ok_or_else(|| ImageError::NotFound {
                name: image.id.clone(),
            })?;
        let manifest = self.manifest_of(record)?;
        let diff_ids = diff_ids(&image.config, &image.id)?;
        let mut dirs = Vec::with_capacity(record.chain_ids.len());
        for ((chain_id, diff_id), layer) in record
            .chain_ids
            .iter()
            .zip(&diff_ids)
            .zip(manifest.layers())
        {
            let blob = Digest::parse(layer.digest().as_ref())?;
            self.ensure_layer(chain_id, diff_id, &blob, &crate::progress::NoProgress)?;
            dirs.push(self.layers.diff_dir(chain_id));
        }
        dirs.reverse();
        Ok(dirs)
    }

    /// Points the name `target` at the image `source` names (moving it from another
    /// image, as docker does).
    pub fn tag(&self, source: &str, target: &str) -> Result<(), ImageError> {
        let target = reference::normalize_tag(target)?;
        self.index.update(|index| {
            let id = find_id(index, source)?;
            index.tags.insert(target.clone(), id);
            Ok(())
        })
    }

    /// The image's manifest, from the blob store.
    pub fn manifest(&self, image: &Image) -> Result<ImageManifest, ImageError> {
        let digest = Digest::parse(&image.manifest_digest)?;
        self.parse_manifest(&digest)
    }

    /// True when the blob `digest` is in the store.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blobs.has(digest)
    }

    /// A writer for a new blob: write, then [`BlobWriter::commit`] checks the content
    /// against `expected` (when given) and renames it into place.
    pub fn blob_writer(&self, expected: Option<&Digest>) -> Result<BlobWriter, ImageError> {
        self.blobs.writer(expected)
    }

    /// A whole stored blob (a manifest, a config), verified against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        self.blobs.read(digest)
    }

    /// A stored blob as a stream, verified against its digest at its end.
    pub fn open_blob(&self, digest: &Digest) -> Result<VerifyingReader, ImageError> {
        self.blobs.open(digest)
    }

    fn image(&self, index: &Index, id: &str) -> Result<Image, ImageError> {
        let record = index.images.get(id).ok_or_else(|| ImageError::NotFound {
            name: id.to_string(),
        })?;
        let config_digest = Digest::parse(id)?;
        let config = self.parse_config(&config_digest)?;
        let created = config
            .created()
            .as_deref()
            .and_then(|c| Timestamp::parse(c).ok());
        Ok(Image {
            id: id.to_string(),
            repo_tags: index.tags_of(id),
            repo_digests: record.repo_digests.clone(),
            manifest_digest: record.manifest_digest.to_string(),
            config,
            created,
            size: record.size,
            chain_ids: record.chain_ids.iter().map(Digest::to_string).collect(),
        })
    }

    fn manifest_of(&self, record: &ImageRecord) -> Result<ImageManifest, ImageError> {
        self.parse_manifest(&record.manifest_digest)
    }

    fn parse_manifest(&self, digest: &Digest) -> Result<ImageManifest, ImageError> {
        let bytes = self.blobs.read(digest)?;
        ImageManifest::from_reader(&bytes[..])
            .map_err(|e| ImageError::malformed(format!("manifest {digest}"), e))
    }

    fn parse_config(&self, digest: &Digest) -> Result<ImageConfiguration, ImageError> {
        let bytes = self.blobs.read(digest)?;
        ImageConfiguration::from_reader(&bytes[..])
            .map_err(|e| ImageError::malformed(format!("image config {digest}"), e))
    }

    fn ensure_layer(
        &self,
        chain_id: &Digest,
        diff_id: &Digest,
        blob: &Digest,
        progress: &dyn crate::progress::Progress,
    ) -> Result<crate::layers::LayerRecord, ImageError> {
        let total = std::fs::metadata(self.blobs.path(blob))
            .ok()
            .map(|m| m.len());
        self.layers.ensure(chain_id, diff_id, blob, || {
            let reader = self.blobs.open(blob)?;
            let what = format!("Unpacking layer {}", &blob.hex()[..12]);
            let reader = crate::progress::ProgressReader::new(reader, progress, what, total);
            Ok(Box::new(reader) as Box<dyn std::io::Read + '_>)
        })
    }
}

/// The config's diff IDs, parsed.
fn diff_ids(config: &ImageConfiguration, id: &str) -> Result<Vec<Digest>, ImageError> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| {
            Digest::parse(d).map_err(|e| ImageError::malformed(format!("image config {id}"), e))
        })
        .collect()
}

/// Finds the image ID `name_or_id` names in `index` (see [`ImageStore::resolve`]).
fn find_id(index: &Index, name_or_id: &str) -> Result<String, ImageError> {
    let not_found = || ImageError::NotFound {
        name: name_or_id.to_string(),
    };
    // A name first, as docker does ("abc" may be both a repository and an ID prefix).
    if let Ok(reference) = reference::parse(name_or_id) {
        if let Some(digest) = reference.digest() {
            let repository = format!("{}/{}", reference.registry(), reference.repository());
            let wanted = format!("{repository}@{digest}");
            let found = index.images.iter().find(|(_, r)| {
                r.repo_digests.contains(&wanted) || r.manifest_digest.as_str() == digest
            });
            return found.map(|(id, _)| id.clone()).ok_or_else(not_found);
        }
        if let Some(id) = index.tags.get(&reference.whole()) {
            return Ok(id.clone());
        }
    }
    let hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
    if hex.is_empty() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(not_found());
    }
    let matches: Vec<&String> = index
        .images
        .keys()
        .filter(|id| {
            id.strip_prefix("sha256:")
                .is_some_and(|h| h.starts_with(hex))
        })
        .collect();
    match matches.as_slice() {
        [] => Err(not_found()),
        [one] => Ok((*one).clone()),
        many => Err(ImageError::Ambiguous {
            prefix: name_or_id.to_string(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_state::time::Timestamp;

    fn record(manifest: &Digest, repo_digests: &[&str]) -> ImageRecord {
        ImageRecord {
            manifest_digest: manifest.clone(),
            repo_digests: repo_digests.iter().map(|s| s.to_string()).collect(),
            chain_ids: Vec::new(),
            size: 0,
            added: Timestamp::now(),
        }
    }

    /// Two images whose IDs share the prefix `ab`; `busybox` names the first.
    fn index() -> (Index, String, String, Digest) {
        let a = format!("sha256:ab1{}", "0".repeat(61));
        let b = format!("sha256:ab2{}", "0".repeat(61));
        let manifest = Digest::of(b"manifest of a");
        let mut index = Index::default();
        let pulled = format!("docker.io/library/busybox@{manifest}");
        index
            .images
            .insert(a.clone(), record(&manifest, &[pulled.as_str()]));
        index
            .images
            .insert(b.clone(), record(&Digest::of(b"manifest of b"), &[]));
        index
            .tags
            .insert("docker.io/library/busybox:latest".into(), a.clone());
        index
            .tags
            .insert("localhost:5000/ab2:latest".into(), b.clone());
        (index, a, b, manifest)
    }

    #[test]
    fn names_ids_and_prefixes_resolve_as_docker_does() {
        let (index, a, b, manifest) = index();
        for name in [
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox",
            &a,
            &a[7..],
            "ab1",
            "sha256:ab1",
            &format!("busybox@{manifest}"),
        ] {
            assert_eq!(find_id(&index, name).expect(name), a, "{name}");
        }
        assert_eq!(find_id(&index, "localhost:5000/ab2").expect("tag"), b);
        assert_eq!(find_id(&index, "ab2").expect("prefix"), b);
    }

    #[test]
    fn unknown_and_ambiguous_names_are_errors() {
        let (index, ..) = index();
        for name in ["alpine", "busybox:1", "ffff", "sha256:", "", "Bad"] {
            assert!(
                find_id(&index, name).is_err_and(|e| e.is_not_found()),
                "{name}"
            );
        }
        assert!(matches!(
            find_id(&index, "ab"),
            Err(ImageError::Ambiguous { count: 2, .. })
        ));
        let other = format!("busybox@{}", Digest::of(b"other"));
        assert!(find_id(&index, &other).is_err_and(|e| e.is_not_found()));
    }
}
