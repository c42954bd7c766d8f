//! OCI image layout: `index.json` lists manifests (or indexes of manifests, one per
//! platform) by digest under `blobs/sha256/`; a manifest's name is its
//! `io.containerd.image.name` annotation (a full reference) or its
//! `org.opencontainers.image.ref.name` when that is a full reference too. A bare tag
//! (`latest`, as skopeo writes for `oci-archive:file:latest`) names no repository, so
//! the image is loaded untagged, as `docker load` does.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::Loaded;
use super::archive::Archive;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::manifest::host_architecture;
use crate::progress::Progress;
use crate::reference;
use crate::store::ImageStore;

const CONTAINERD_NAME: &str = "io.containerd.image.name";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Nested indexes followed at most (an index of indexes of manifests is already odd).
const MAX_DEPTH: usize = 4;

pub(super) fn load(
    store: &ImageStore,
    archive: &mut Archive,
    progress: &dyn Progress,
) -> Result<Vec<Loaded>, ImageError> {
    let index = read_index(archive, store, "index.json")?;
    let mut images = Vec::new();
    for descriptor in index.manifests() {
        let name = image_name(descriptor)?;
        let manifest_digest = pick_manifest(archive, store, descriptor, 0)?;
        let manifest_bytes = blob_bytes(archive, store, &manifest_digest)?;
        let manifest = ImageManifest::from_reader(&manifest_bytes[..])
            .map_err(|e| ImageError::malformed(format!("manifest {manifest_digest}"), e))?;
        let config_digest = Digest::parse(manifest.config().digest().as_ref())?;
        let config = blob_bytes(archive, store, &config_digest)?;
        for layer in manifest.layers() {
            let digest = Digest::parse(layer.digest().as_ref())?;
            archive.blob(&blob_name(&digest), store.blobs())?;
        }
        let tags: Vec<String> = name.into_iter().collect();
        let image = store.add(&manifest_bytes, &config, &tags, &[], progress)?;
        images.push(Loaded { image, names: tags });
    }
    Ok(images)
}

/// The normalized name a descriptor's annotations give, if any.
fn image_name(descriptor: &Descriptor) -> Result<Option<String>, ImageError> {
    let Some(annotations) = descriptor.annotations() else {
        return Ok(None);
    };
    if let Some(full) = annotations.get(CONTAINERD_NAME) {
        return reference::normalize_tag(full).map(Some);
    }
    match annotations.get(REF_NAME) {
        Some(name) if name.contains('/') || name.contains(':') => {
            reference::normalize_tag(name).map(Some)
        }
        _ => Ok(None),
    }
}

/// The manifest a descriptor leads to: itself, or this machine's platform (else the
/// first entry) of an index.
fn pick_manifest(
    archive: &mut Archive,
    store: &ImageStore,
    descriptor: &Descriptor,
    depth: usize,
) -> Result<Digest, ImageError> {
    let digest = Digest::parse(descriptor.digest().as_ref())?;
    let media_type = descriptor.media_type().to_string();
    if !media_type.contains("index") && !media_type.contains("manifest.list") {
        return Ok(digest);
    }
    if depth >= MAX_DEPTH {
        return Err(ImageError::malformed(
            format!("index {digest}"),
            "indexes nested too deep",
        ));
    }
    let bytes = blob_bytes(archive, store, &digest)?;
    let index = ImageIndex::from_reader(&bytes[..])
        .map_err(|e| ImageError::malformed(format!("index {digest}"), e))?;
    let arch = host_architecture();
    let chosen = index
        .manifests()
        .iter()
        .find(|m| {
            m.platform().as_ref().is_some_and(|p| {
                p.os().to_string() == "linux" && p.architecture().to_string() == arch
            })
        })
        .or_else(|| index.manifests().first())
        .ok_or_else(|| ImageError::malformed(format!("index {digest}"), "no manifests"))?;
    pick_manifest(archive, store, chosen, depth + 1)
}

fn read_index(archive: &Archive, store: &ImageStore, name: &str) -> Result<ImageIndex, ImageError> {
    let bytes = archive.bytes(name, store.blobs())?;
    ImageIndex::from_reader(&bytes[..]).map_err(|e| ImageError::malformed(name.to_string(), e))
}

/// The verified content of the layout's blob `digest`.
fn blob_bytes(
    archive: &Archive,
    store: &ImageStore,
    digest: &Digest,
) -> Result<Vec<u8>, ImageError> {
    let bytes = archive.bytes(&blob_name(digest), store.blobs())?;
    let actual = Digest::of(&bytes);
    if actual != *digest {
        return Err(ImageError::DigestMismatch {
            expected: digest.to_string(),
            actual: actual.to_string(),
            context: blob_name(digest),
        });
    }
    Ok(bytes)
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}
