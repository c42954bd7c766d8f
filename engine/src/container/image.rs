//! The container side's view of berth-images: an image resolved by what the user typed,
//! its config (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal), and its layers as
//! overlay lower dirs.

use std::path::PathBuf;

use berth_images::ImageStore;

use crate::error::{EngineError, Result};
use crate::paths::StorePaths;

/// An image as `create` needs it.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// `sha256:<config digest hex>`.
    pub id: String,
    /// The image config's `config` part (absent in some minimal images).
    pub config: Option<oci_spec::image::Config>,
}

impl ImageInfo {
    /// The config's `Volumes` (destinations that get an anonymous volume).
    pub fn volumes(&self) -> Vec<String> {
        self.config
            .as_ref()
            .and_then(|c| c.volumes().clone())
            .unwrap_or_default()
    }
}

fn store(paths: &StorePaths) -> Result<ImageStore> {
    ImageStore::open(&paths.root).map_err(|e| EngineError::Image(e.to_string()))
}

/// Resolves `name` (`busybox`, a full reference, an id or a unique id prefix).
pub fn resolve(paths: &StorePaths, name: &str) -> Result<ImageInfo> {
    let image = store(paths)?
        .resolve(name)
        .map_err(|e| EngineError::Image(e.to_string()))?;
    Ok(ImageInfo {
        id: image.id.clone(),
        config: image.config.config().clone(),
    })
}

/// The image's layers, top first, unpacked if missing.
pub fn lower_dirs(paths: &StorePaths, image_id: &str) -> Result<Vec<PathBuf>> {
    let store = store(paths)?;
    let image = store
        .resolve(image_id)
        .map_err(|e| EngineError::Image(format!("the container's image {image_id}: {e}")))?;
    store
        .lower_dirs(&image)
        .map_err(|e| EngineError::Image(e.to_string()))
}
