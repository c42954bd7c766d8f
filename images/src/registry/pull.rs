//! `berth pull` and the implicit pull of `run`/`create`: manifest (platform picked from
//! an index), config, then the layers the store lacks, fetched concurrently (at most
//! `max-concurrent-downloads` at once, 3 by default as docker's), each verified (digest and
//! diff_id) before the store commits it; the image is recorded last, so a failed pull
//! leaves no image behind (layers already verified stay, as docker keeps them, and a
//! second pull skips them).

use std::sync::Arc;

use oci_client::Reference;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use tokio::sync::Semaphore;

use super::download::{self, Expect};
use super::manifest::{self, ResolvedManifest};
use super::platform::Platform;
use super::progress::Progress;
use super::session::{self, Doing, Registry};
use super::{RegistryError, RegistrySettings, reference, store_link, verify};
use crate::{Image, ImageStore};

/// How `run`/`create` get their image (`--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only when the store lacks the image (docker's default).
    #[default]
    Missing,
    /// Pull every time (a newer image under the tag replaces the tag).
    Always,
    /// Never pull: a missing image is an error.
    Never,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!(
                "invalid pull policy {other:?}: expected missing, always or never"
            )),
        }
    }
}

/// Options of a pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The platform to take from an index (default: this host's).
    pub platform: Option<Platform>,
    /// No progress output (`-q`); the caller prints what it wants.
    pub quiet: bool,
    /// Progress on stderr instead of stdout (the implicit pull of `run`, whose stdout
    /// is the container's).
    pub to_stderr: bool,
    /// Progress to this receiver instead of a display (the Docker API server).
    pub sink: Option<super::progress::ProgressSink>,
}

/// What a pull did.
#[derive(Debug)]
pub struct Pulled {
    pub image: Image,
    /// The name pulled, normalized (`docker.io/library/busybox:latest`; a digest
    /// reference as given, normalized), as `pull -q` prints it.
    pub name: String,
    /// The manifest digest (the index's when the reference named an index), as docker's
    /// "Digest:" line shows it.
    pub digest: String,
    /// False when the store already had this manifest under the name.
    pub downloaded: bool,
}

/// The image `name` for `run`/`create`, pulled according to `policy`.
///
/// # Errors
/// [`RegistryError::NotPresent`] with `Never` and no such image; any pull error.
pub fn ensure_image(
    store: &ImageStore,
    name: &str,
    policy: PullPolicy,
    options: &PullOptions,
) -> Result<Image, RegistryError> {
    if policy != PullPolicy::Always {
        if let Some(image) = store_link::find(store, name)? {
            return Ok(image);
        }
        if policy == PullPolicy::Never {
            return Err(RegistryError::NotPresent(name.to_string()));
        }
        if !options.quiet {
            // docker names the reference with its tag: 'busybox:latest'.
            let shown = crate::reference::normalize(name)
                .map(|full| crate::reference::familiar_name(&full))
                .unwrap_or_else(|_| name.to_string());
            eprintln!("Unable to find image '{shown}' locally");
        }
    }
    pull(store, name, options).map(|p| p.image)
}

/// Pulls `name` (`NAME[:TAG|@DIGEST]`) into the store, showing progress on stdout unless
/// `options.quiet`. Runs its own tokio runtime: callers stay synchronous.
///
/// # Errors
/// Malformed reference, not found, unauthorized, unsupported manifest, platform missing
/// from the index, corrupt content, a registry answering garbage, a connection that
/// stays broken; the store gets no image record in every case.
pub fn pull(
    store: &ImageStore,
    name: &str,
    options: &PullOptions,
) -> Result<Pulled, RegistryError> {
    let reference = reference::parse(name)?;
    let settings = RegistrySettings::load()?;
    let runtime = super::runtime()?;
    runtime.block_on(pull_async(store, reference, settings, options))
}

async fn pull_async(
    store: &ImageStore,
    reference: Reference,
    settings: RegistrySettings,
    options: &PullOptions,
) -> Result<Pulled, RegistryError> {
    let platform = options.platform.clone().unwrap_or_else(Platform::host);
    let progress = match &options.sink {
        Some(sink) => Progress::to_sink(sink.clone()),
        None => Progress::new(options.quiet, options.to_stderr),
    };
    let registry_host = reference.resolve_registry().to_string();
    let mirrors = settings.mirrors_for(reference.registry()).to_vec();
    let hosts: Vec<&str> = mirrors
        .iter()
        .map(String::as_str)
        .chain([registry_host.as_str()])
        .collect();
    let registry = Registry::new(settings, &hosts);
    progress.line(&format!(
        "{}: Pulling from {}",
        reference.tag().or(reference.digest()).unwrap_or("latest"),
        reference::repository(&reference)
    ));

    let (source, auth, resolved) =
        resolve_via_mirrors(&registry, &reference, &mirrors, &platform).await?;
    let shown_digest = resolved
        .index_digest
        .clone()
        .unwrap_or_else(|| resolved.digest.clone());
    let tagged = reference::tagged_name(&reference);
    let before = match &tagged {
        Some(t) => store_link::find(store, t)?,
        None => None,
    };

    let config = fetch_config(&registry, &source, &auth, &resolved).await?;
    let diff_ids = diff_ids(&source, &config, &resolved)?;
    fetch_layers(store, &registry, &source, &resolved, &diff_ids, &progress).await?;

    let image = store_link::add_image(
        store,
        &resolved.bytes,
        &config,
        Some(&reference.whole()),
        &progress,
    )?;
    let downloaded = before.is_none_or(|b| b.id != image.id);
    let shown = tagged.clone().unwrap_or_else(|| reference.whole());
    progress.line(&format!(
        "Status: {} for {shown}",
        if downloaded {
            "Downloaded newer image"
        } else {
            "Image is up to date"
        }
    ));
    progress.line(&format!("Digest: {shown_digest}"));
    Ok(Pulled {
        image,
        name: shown,
        digest: shown_digest,
        downloaded,
    })
}

/// The manifest from the first mirror that has it, else from the registry. Returns the
/// reference to fetch blobs through (the mirror's or the registry's) and its auth.
async fn resolve_via_mirrors(
    registry: &Registry,
    reference: &Reference,
    mirrors: &[String],
    platform: &Platform,
) -> Result<(Reference, RegistryAuth, ResolvedManifest), RegistryError> {
    for mirror in mirrors {
        let mut via = reference.clone();
        via.set_mirror_registry(mirror.clone());
        let auth = session::auth_for(&registry.settings, mirror)?;
        match manifest::resolve(registry, &via, &auth, platform).await {
            Ok(m) => return Ok((via, auth, m)),
            // A platform missing or a bad manifest is the image's fault, not the mirror's.
            Err(
                e @ (RegistryError::PlatformNotFound { .. }
                | RegistryError::UnsupportedMediaType { .. }),
            ) => {
                return Err(e);
            }
            Err(e) => tracing::warn!(%mirror, error = %e, "mirror failed; trying the next source"),
        }
    }
    let auth = session::auth_for(&registry.settings, reference.registry())?;
    let m = manifest::resolve(registry, reference, &auth, platform).await?;
    Ok((reference.clone(), auth, m))
}

/// The image config (small: kept in memory, stored by `add_image`), digest-checked.
async fn fetch_config(
    registry: &Registry,
    source: &Reference,
    auth: &RegistryAuth,
    resolved: &ResolvedManifest,
) -> Result<Vec<u8>, RegistryError> {
    let doing = Doing {
        action: "fetching the config of",
        reference: source,
    };
    registry
        .client
        .store_auth_if_needed(source.resolve_registry(), auth)
        .await;
    let mut bytes = Vec::new();
    registry
        .client
        .pull_blob(source, &resolved.manifest.config, &mut bytes)
        .await
        .map_err(|e| match e {
            oci_client::errors::OciDistributionError::DigestError(_) => {
                RegistryError::DigestMismatch {
                    what: "config",
                    expected: resolved.manifest.config.digest.clone(),
                    actual: verify::sha256(&bytes),
                }
            }
            e => doing.error(e),
        })?;
    let actual = verify::sha256(&bytes);
    if actual != resolved.manifest.config.digest {
        return Err(RegistryError::DigestMismatch {
            what: "config",
            expected: resolved.manifest.config.digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// The config's `rootfs.diff_ids`, one per manifest layer.
fn diff_ids(
    source: &Reference,
    config: &[u8],
    resolved: &ResolvedManifest,
) -> Result<Vec<String>, RegistryError> {
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(serde::Deserialize)]
    struct RootFs {
        diff_ids: Vec<String>,
    }
    let garbage = |detail: String| RegistryError::Garbage {
        reference: source.whole(),
        registry: source.registry().to_string(),
        action: "reading the image config",
        detail,
    };
    let parsed: Config = serde_json::from_slice(config)
        .map_err(|e| garbage(format!("config does not parse: {e}")))?;
    let ids = parsed.rootfs.diff_ids;
    if ids.len() != resolved.manifest.layers.len() {
        return Err(garbage(format!(
            "{} layers in the manifest, {} diff_ids in the config",
            resolved.manifest.layers.len(),
            ids.len()
        )));
    }
    for id in &ids {
        reference::check_digest(id).map_err(garbage)?;
    }
    Ok(ids)
}

/// Every layer the store lacks, at most `max-concurrent-downloads` at once, each
/// unpacked as it downloads; a layer listed twice is fetched once.
async fn fetch_layers(
    store: &ImageStore,
    registry: &Registry,
    source: &Reference,
    resolved: &ResolvedManifest,
    diff_ids: &[String],
    progress: &Progress,
) -> Result<(), RegistryError> {
    let permits = Arc::new(Semaphore::new(
        registry.settings.max_concurrent_downloads.max(1),
    ));
    let mut seen = std::collections::HashSet::new();
    let mut jobs = Vec::new();
    let chain_ids = store_link::chain_ids(diff_ids)?;
    for ((layer, diff_id), chain_id) in resolved
        .manifest
        .layers
        .iter()
        .zip(diff_ids)
        .zip(&chain_ids)
    {
        if !seen.insert(layer.digest.clone()) {
            continue;
        }
        let size = u64::try_from(layer.size).unwrap_or(0);
        if store_link::has_blob(store, &layer.digest) {
            progress.add(&layer.digest, "Already exists", size);
            continue;
        }
        let row = progress.add(&layer.digest, "Pulling fs layer", size);
        let permits = Arc::clone(&permits);
        let unpack = store_link::layer_target(store, chain_id)?;
        let unpacks = unpack.is_some();
        let expect = Expect {
            descriptor: layer_descriptor(layer),
            diff_id: Some(diff_id.clone()),
            unpack,
        };
        jobs.push(async move {
            let _permit = permits
                .acquire()
                .await
                .map_err(|_| RegistryError::Transport {
                    action: "fetching blob of",
                    reference: source.whole(),
                    registry: source.registry().to_string(),
                    detail: "download slots closed".into(),
                })?;
            progress.status(row, "Downloading");
            let sink = store_link::blob_sink(store, &expect.descriptor.digest)?;
            download::fetch(registry, source, expect, sink, progress, row).await?;
            // Unpacked while it downloaded, or left for add_image (the layer was there).
            progress.status(
                row,
                if unpacks {
                    "Pull complete"
                } else {
                    "Download complete"
                },
            );
            Ok::<(), RegistryError>(())
        });
    }
    // The jobs share borrowed state, so they run concurrently on this task (their I/O
    // interleaves; hashing and writing run on blocking threads per layer).
    futures_util::future::try_join_all(jobs).await?;
    Ok(())
}

fn layer_descriptor(d: &OciDescriptor) -> OciDescriptor {
    // Foreign `urls` are never followed: the blob comes from the registry that served
    // the manifest (and oci-client would fetch them without auth, but also without any
    // check that the host is one the user trusts).
    OciDescriptor {
        urls: None,
        ..d.clone()
    }
}
