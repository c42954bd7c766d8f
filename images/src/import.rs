//! `berth import ROOTFS.tar [NAME[:TAG]]`: a root filesystem tarball (plain, gzip or
//! zstd) as an image of one layer, with an empty config (no command), as
//! `docker import` makes it.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use berth_state::time::Timestamp;
use serde_json::json;

use crate::error::ImageError;
use crate::manifest::{LayerBlob, host_architecture, oci_manifest};
use crate::progress::{Progress, ProgressReader};
use crate::reference;
use crate::store::{Image, ImageStore};
use crate::unpack::compression::{self, Compression};

impl ImageStore {
    /// Imports `rootfs_tar` as a one-layer image, named `reference` when given (docker
    /// leaves it untagged otherwise). The layer is stored uncompressed (its digest is
    /// its diff ID) and unpacked like any other: a hostile tarball is refused and
    /// nothing of it is kept.
    pub fn import(
        &self,
        rootfs_tar: &Path,
        reference: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Image, ImageError> {
        let tags = reference
            .map(reference::normalize_tag)
            .transpose()?
            .into_iter()
            .collect::<Vec<_>>();
        let file = File::open(rootfs_tar).map_err(ImageError::io("opening", rootfs_tar))?;
        let total = file.metadata().ok().map(|m| m.len());
        let reader = ProgressReader::new(file, progress, "Importing".into(), total);
        let mut tar = compression::decompress(BufReader::new(reader))
            .map_err(ImageError::io("reading", rootfs_tar))?;
        let mut writer = self.blobs().writer(None)?;
        std::io::copy(&mut tar, &mut writer).map_err(ImageError::io("reading", rootfs_tar))?;
        let (layer, size) = writer.commit()?;
        let now = Timestamp::now().to_string();
        let source = rootfs_tar.display().to_string();
        let config = json!({
            "created": now,
            "architecture": host_architecture(),
            "os": "linux",
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": [layer.as_str()] },
            "history": [{ "created": now, "created_by": "berth import", "comment": format!("Imported from {source}") }],
        });
        // A JSON value always serializes.
        let config = serde_json::to_vec(&config).unwrap_or_default();
        let config_digest = crate::digest::Digest::of(&config);
        let manifest = oci_manifest(
            (&config_digest, config.len() as u64),
            &[LayerBlob {
                digest: layer.clone(),
                size,
                compression: Compression::None,
            }],
        );
        let result = self.add(&manifest, &config, &tags, &[], progress);
        if result.is_err() {
            self.discard_unreferenced(&[layer])?;
        }
        result
    }
}
