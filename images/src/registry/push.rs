//! `berth push NAME[:TAG]`: the image's blobs the registry lacks, then its manifest
//! (the exact bytes the store holds, so the digest stays the same). A blob the
//! registry has is not sent again; one that another repository of the same registry
//! holds (a name the image also carries there) is mounted instead of uploaded when the
//! registry offers it (201), else uploaded.

use std::io::Read;

use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::{Reference, RegistryOperation};

use super::progress::Progress;
use super::session::{self, Doing, Registry};
use super::{RegistryError, RegistrySettings, reference, store_link};
use crate::ImageStore;

/// Upload chunk size read from a stored layer.
const CHUNK: usize = 1 << 20;

/// What a push did.
#[derive(Debug)]
pub struct Pushed {
    /// The manifest digest in the registry.
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: usize,
}

/// Pushes the local image `name` to the registry its name points at.
///
/// # Errors
/// No such local image, malformed name, unauthorized, the registry refusing a blob or
/// the manifest.
pub fn push(store: &ImageStore, name: &str, quiet: bool) -> Result<Pushed, RegistryError> {
    let reference = reference::parse(name)?;
    // Not a registry's answer: the local store has no such image (docker: "An image
    // does not exist locally with the tag").
    let image = store_link::find(store, name)?.ok_or_else(|| {
        RegistryError::Store(crate::ImageError::NotFound {
            name: name.to_string(),
        })
    })?;
    let manifest_digest = image.manifest_digest.clone();
    let bytes = store_link::read_blob(store, &manifest_digest)?;
    let doing = Doing {
        action: "pushing",
        reference: &reference,
    };
    let manifest: OciImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Garbage {
            reference: name.to_string(),
            registry: "the local store".to_string(),
            action: "reading the stored manifest",
            detail: e.to_string(),
        })?;
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| OCI_IMAGE_MEDIA_TYPE.to_string());
    // Other repositories of the same registry that carry this image: mount sources.
    let mount_from: Vec<Reference> = image
        .repo_tags
        .iter()
        .filter_map(|t| reference::parse(t).ok())
        .filter(|r| {
            r.registry() == reference.registry() && r.repository() != reference.repository()
        })
        .collect();

    let settings = RegistrySettings::load()?;
    let host = reference.resolve_registry().to_string();
    let registry = Registry::new(settings, &[host.as_str()]);
    let auth = session::auth_for(&registry.settings, reference.registry())?;
    let progress = Progress::new(quiet, false);
    let runtime = super::runtime()?;
    runtime.block_on(async {
        registry
            .client
            .auth(&reference, &auth, RegistryOperation::Push)
            .await
            .map_err(|e| doing.error(e))?;
        progress.line(&format!(
            "The push refers to repository [{}/{}]",
            reference.registry(),
            reference.repository()
        ));
        for layer in manifest.layers.iter().rev() {
            push_blob(
                store,
                &registry,
                &reference,
                &mount_from,
                layer,
                &progress,
                true,
            )
            .await?;
        }
        push_blob(
            store,
            &registry,
            &reference,
            &mount_from,
            &manifest.config,
            &progress,
            false,
        )
        .await?;
        let content_type = reqwest::header::HeaderValue::from_str(&media_type).map_err(|e| {
            RegistryError::Garbage {
                reference: name.to_string(),
                registry: "the local store".to_string(),
                action: "reading the stored manifest",
                detail: format!("media type {media_type:?}: {e}"),
            }
        })?;
        registry
            .client
            .push_manifest_raw(&reference, bytes.clone(), content_type)
            .await
            .map_err(|e| doing.error(e))?;
        Ok::<(), RegistryError>(())
    })?;
    progress.line(&format!(
        "{}: digest: {manifest_digest} size: {}",
        reference.tag().unwrap_or("latest"),
        bytes.len()
    ));
    Ok(Pushed {
        digest: manifest_digest,
        size: bytes.len(),
    })
}

async fn push_blob(
    store: &ImageStore,
    registry: &Registry,
    target: &Reference,
    mount_from: &[Reference],
    blob: &OciDescriptor,
    progress: &Progress,
    show: bool,
) -> Result<(), RegistryError> {
    let doing = Doing {
        action: "pushing",
        reference: target,
    };
    let size = u64::try_from(blob.size).unwrap_or(0);
    let row = show.then(|| progress.add(&blob.digest, "Preparing", size));
    let status = |s: &str| {
        if let Some(row) = row {
            progress.status(row, s);
        }
    };
    if registry
        .client
        .blob_exists(target, &blob.digest)
        .await
        .map_err(|e| doing.error(e))?
    {
        status("Layer already exists");
        return Ok(());
    }
    for source in mount_from {
        match registry
            .client
            .mount_blob(target, source, &blob.digest)
            .await
        {
            Ok(()) => {
                status(&format!("Mounted from {}", source.repository()));
                return Ok(());
            }
            // 202 (the registry started an upload instead) or a refusal: upload.
            Err(e) => {
                tracing::debug!(from = %source, error = %e, "cross-repository mount not offered")
            }
        }
    }
    status("Pushing");
    let mut reader = store_link::open_blob(store, &blob.digest)?;
    let stream = futures_util::stream::poll_fn(move |_| {
        let mut buf = vec![0u8; CHUNK];
        // Local file reads: short and bounded; the upload's network I/O is what waits.
        match reader.read(&mut buf) {
            Ok(0) => std::task::Poll::Ready(None),
            Ok(n) => {
                buf.truncate(n);
                std::task::Poll::Ready(Some(Ok(bytes::Bytes::from(buf))))
            }
            Err(e) => std::task::Poll::Ready(Some(Err(e.into()))),
        }
    });
    registry
        .client
        .push_blob_stream(target, stream, &blob.digest, Some(size))
        .await
        .map_err(|e| doing.error(e))?;
    status("Pushed");
    Ok(())
}
