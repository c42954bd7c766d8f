//! docker-archive: `manifest.json` is a list of `{Config, RepoTags, Layers}` naming files
//! of the archive. Each image becomes an OCI manifest of those blobs.

use serde::Deserialize;

use super::Loaded;
use super::archive::Archive;
use crate::error::ImageError;
use crate::manifest::{LayerBlob, oci_manifest};
use crate::progress::Progress;
use crate::reference;
use crate::store::ImageStore;
use crate::unpack::compression;

/// One entry of `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

pub(super) fn load(
    store: &ImageStore,
    archive: &mut Archive,
    progress: &dyn Progress,
) -> Result<Vec<Loaded>, ImageError> {
    let index = archive.bytes("manifest.json", store.blobs())?;
    let entries: Vec<Entry> = serde_json::from_slice(&index)
        .map_err(|e| ImageError::malformed("docker-archive manifest.json", e))?;
    let mut images = Vec::with_capacity(entries.len());
    for entry in entries {
        let config = archive.bytes(&entry.config, store.blobs())?;
        let (config_digest, config_size) = archive.blob(&entry.config, store.blobs())?;
        let mut layers = Vec::with_capacity(entry.layers.len());
        for name in &entry.layers {
            let (digest, size) = archive.blob(name, store.blobs())?;
            let mut head = std::io::BufReader::new(store.open_blob(&digest)?);
            let compression = compression::detect(&mut head)
                .map_err(|e| ImageError::malformed(format!("layer {name}"), e))?;
            layers.push(LayerBlob {
                digest,
                size,
                compression,
            });
        }
        let tags = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| reference::normalize_tag(t))
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = oci_manifest((&config_digest, config_size), &layers);
        let image = store.add(&manifest, &config, &tags, &[], progress)?;
        images.push(Loaded { image, names: tags });
    }
    Ok(images)
}
