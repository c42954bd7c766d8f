//! From a reference to one image manifest: fetch what the tag or digest names, and when
//! it is an index (OCI image index or docker manifest list) pick the platform's entry
//! and fetch that. The manifest's exact bytes are kept: they are what the digest covers
//! and what the store records.

use oci_client::Reference;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex, OciImageManifest,
};
use oci_client::secrets::RegistryAuth;

use super::RegistryError;
use super::platform::{self, Platform};
use super::session::Doing;
use super::session::Registry;

/// Every manifest kind berth pulls, for the Accept header.
pub const ACCEPTED: [&str; 4] = [
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// One image's manifest, as the registry served it.
#[derive(Debug)]
pub struct ResolvedManifest {
    /// The manifest's bytes, exactly as served (the digest covers them).
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    pub manifest: OciImageManifest,
    /// The index's digest when the reference named an index.
    pub index_digest: Option<String>,
}

enum Kind {
    Image,
    Index,
}

/// What a manifest body is, from its `mediaType`, else its shape (OCI 1.0 made the
/// field optional).
fn kind_of(reference: &Reference, body: &[u8], doing: Doing<'_>) -> Result<Kind, RegistryError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        schema_version: Option<i64>,
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(body)
        .map_err(|e| garbage(doing, format!("manifest is not JSON: {e}")))?;
    match probe.media_type.as_deref() {
        Some(t) if t == OCI_IMAGE_INDEX_MEDIA_TYPE || t == IMAGE_MANIFEST_LIST_MEDIA_TYPE => {
            return Ok(Kind::Index);
        }
        Some(t) if t == OCI_IMAGE_MEDIA_TYPE || t == IMAGE_MANIFEST_MEDIA_TYPE => {
            return Ok(Kind::Image);
        }
        Some(t) => {
            return Err(RegistryError::UnsupportedMediaType {
                reference: reference.whole(),
                media_type: t.to_string(),
            });
        }
        None => {}
    }
    match (
        probe.schema_version,
        probe.manifests.is_some(),
        probe.layers.is_some(),
    ) {
        (Some(2), true, false) => Ok(Kind::Index),
        (Some(2), false, true) => Ok(Kind::Image),
        (Some(v), _, _) if v != 2 => Err(RegistryError::UnsupportedMediaType {
            reference: reference.whole(),
            media_type: format!("schema version {v} manifest"),
        }),
        _ => Err(garbage(
            doing,
            "a manifest with neither layers nor manifests".to_string(),
        )),
    }
}

fn garbage(doing: Doing<'_>, detail: String) -> RegistryError {
    RegistryError::Garbage {
        reference: doing.reference.whole(),
        registry: doing.reference.registry().to_string(),
        action: doing.action,
        detail,
    }
}

/// Fetches the image manifest `reference` names for `platform`.
///
/// # Errors
/// Not found, unauthorized, unsupported media type, platform missing from the index,
/// or a body that is not a manifest.
pub async fn resolve(
    registry: &Registry,
    reference: &Reference,
    auth: &RegistryAuth,
    platform: &Platform,
) -> Result<ResolvedManifest, RegistryError> {
    let doing = Doing {
        action: "fetching the manifest of",
        reference,
    };
    let (body, digest) = registry
        .client
        .pull_manifest_raw(reference, auth, &ACCEPTED)
        .await
        .map_err(|e| doing.error(e))?;
    match kind_of(reference, &body, doing)? {
        Kind::Image => image(doing, body.to_vec(), digest, None),
        Kind::Index => {
            let index_digest = digest;
            let index: OciImageIndex = serde_json::from_slice(&body)
                .map_err(|e| garbage(doing, format!("index does not parse: {e}")))?;
            let entry = platform::select(&index.manifests, platform).map_err(|available| {
                RegistryError::PlatformNotFound {
                    reference: reference.whole(),
                    platform: platform.to_string(),
                    available,
                }
            })?;
            let by_digest = reference.clone_with_digest(entry.digest.clone());
            let doing = Doing {
                action: "fetching the manifest of",
                reference: &by_digest,
            };
            // pull_manifest_raw checks the body against the digest in the reference.
            let (body, digest) = registry
                .client
                .pull_manifest_raw(&by_digest, auth, &ACCEPTED)
                .await
                .map_err(|e| doing.error(e))?;
            match kind_of(&by_digest, &body, doing)? {
                Kind::Image => image(doing, body.to_vec(), digest, Some(index_digest)),
                Kind::Index => Err(garbage(
                    doing,
                    "an index entry names another index".to_string(),
                )),
            }
        }
    }
}

fn image(
    doing: Doing<'_>,
    bytes: Vec<u8>,
    digest: String,
    index_digest: Option<String>,
) -> Result<ResolvedManifest, RegistryError> {
    let manifest: OciImageManifest = serde_json::from_slice(&bytes)
        .map_err(|e| garbage(doing, format!("manifest does not parse: {e}")))?;
    for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
        super::reference::check_digest(&d.digest).map_err(|e| garbage(doing, e))?;
        if d.size < 0 {
            return Err(garbage(
                doing,
                format!("blob {} has a negative size", d.digest),
            ));
        }
    }
    Ok(ResolvedManifest {
        bytes,
        digest,
        manifest,
        index_digest,
    })
}
