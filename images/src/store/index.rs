//! `images/index.json`: which images the store has and which names point at them. It is
//! replaced by rename under `images/lock`, so readers never see half of it and two
//! commands never lose each other's changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_state::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::ImageError;
use crate::lock::lock_exclusive;

/// One image of the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The manifest (in the blob store) that lists its config and layer blobs.
    pub manifest_digest: Digest,
    /// `repository@digest` names from registries it was pulled from.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// The layers' chain IDs, bottom first.
    pub chain_ids: Vec<Digest>,
    /// Bytes in the layers' regular files.
    pub size: u64,
    /// When it entered the store.
    pub added: Timestamp,
}

/// The whole index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// By image ID (`sha256:<config digest hex>`).
    pub images: BTreeMap<String, ImageRecord>,
    /// Normalized `registry/repository:tag` -> image ID.
    pub tags: BTreeMap<String, String>,
}

/// Where the index and its lock are.
#[derive(Debug, Clone)]
pub struct IndexFile {
    path: PathBuf,
    lock: PathBuf,
}

impl IndexFile {
    pub fn new(images_dir: &Path) -> Self {
        Self {
            path: images_dir.join("index.json"),
            lock: images_dir.join("lock"),
        }
    }

    /// The index as last written (empty when none was).
    pub fn read(&self) -> Result<Index, ImageError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(ImageError::io("reading image index", &self.path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            action: "parsing image index",
            path: self.path.clone(),
            source,
        })
    }

    /// Runs `change` on the current index under the lock and writes the result; the
    /// index is left as it was when `change` fails.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Index) -> Result<T, ImageError>,
    ) -> Result<T, ImageError> {
        let _lock = lock_exclusive(&self.lock)?;
        let mut index = self.read()?;
        let out = change(&mut index)?;
        self.write(&index)?;
        Ok(out)
    }

    fn write(&self, index: &Index) -> Result<(), ImageError> {
        let json = serde_json::to_vec_pretty(index).map_err(|source| ImageError::Json {
            action: "writing image index",
            path: self.path.clone(),
            source,
        })?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(ImageError::io("writing image index", &tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(ImageError::io(
            "renaming image index into place",
            &self.path,
        ))
    }
}

impl Index {
    /// The names pointing at image `id`, sorted.
    pub fn tags_of(&self, id: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, target)| *target == id)
            .map(|(name, _)| name.clone())
            .collect()
    }
}
