//! OCI manifests for images that arrive without one (a docker-archive lists only file
//! names; an import has just a tarball), so that every image in the store is a manifest,
//! a config and layer blobs, as a pulled one is.

use serde_json::json;

use crate::digest::Digest;
use crate::unpack::compression::Compression;

/// The media type of an OCI image config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The media type of an OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// A layer blob of a manifest being written.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub digest: Digest,
    pub size: u64,
    pub compression: Compression,
}

/// The JSON of an OCI image manifest for `config` (its digest and size) and `layers`.
pub fn oci_manifest(config: (&Digest, u64), layers: &[LayerBlob]) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|l| {
            json!({
                "mediaType": l.compression.layer_media_type(),
                "digest": l.digest.as_str(),
                "size": l.size,
            })
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config.0.as_str(),
            "size": config.1,
        },
        "layers": layers,
    });
    // A JSON value always serializes.
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// The OCI architecture name of this machine (`amd64`, `arm64`, ...).
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
