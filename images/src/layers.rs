//! Unpacked layers under `layers/<chain-id hex>/`: `diff/` (the overlayfs lower
//! directory) and `layer.json` (what it is). A layer is unpacked once per chain ID and
//! shared by every image and container that has it. Unpacking happens under a per-layer
//! lock into `layers/.tmp-<hex>/`, renamed into place only when complete, so a failure
//! or a killed process leaves no partial layer (the next attempt clears the leftovers).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::ImageError;
use crate::lock::lock_exclusive;
use crate::unpack::unpack_layer;

/// The directory holding a layer's files, inside its chain-ID directory.
const DIFF: &str = "diff";
/// The record that marks a layer complete.
const RECORD: &str = "layer.json";

/// What a complete layer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// The compressed (or plain) blob it was unpacked from.
    pub blob: Digest,
    /// Bytes in its regular files.
    pub size: u64,
}

/// The chain IDs of a stack of layers, bottom first (the OCI image spec's definition:
/// `ChainID(L0) = DiffID(L0)`, `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`).
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::of(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The layers directory of a store.
#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
}

impl LayerStore {
    /// The layers under `dir` (`<root>/layers`), created if missing.
    pub fn open(dir: PathBuf) -> Result<Self, ImageError> {
        std::fs::create_dir_all(dir.join(".locks"))
            .map_err(ImageError::io("creating layer directory", &dir))?;
        Ok(Self { dir })
    }

    /// `layers/<hex>/diff`: the overlayfs lower directory of the layer `chain_id`.
    pub fn diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex()).join(DIFF)
    }

    /// The record of a complete layer; `None` when it is not unpacked.
    pub fn record(&self, chain_id: &Digest) -> Result<Option<LayerRecord>, ImageError> {
        let path = self.dir.join(chain_id.hex()).join(RECORD);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ImageError::io("reading layer record", path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| ImageError::Json {
                action: "parsing layer record",
                path,
                source,
            })
    }

    /// The layer `chain_id`, unpacked from `open_blob()` if it is not already (under the
    /// layer's lock, so two commands unpack it once). The uncompressed content must hash
    /// to `diff_id`.
    pub fn ensure<'a>(
        &self,
        chain_id: &Digest,
        diff_id: &Digest,
        blob: &Digest,
        open_blob: impl FnOnce() -> Result<Box<dyn Read + 'a>, ImageError>,
    ) -> Result<LayerRecord, ImageError> {
        if let Some(done) = self.record(chain_id)? {
            return Ok(done);
        }
        let _lock = lock_exclusive(&self.dir.join(".locks").join(chain_id.hex()))?;
        if let Some(done) = self.record(chain_id)? {
            return Ok(done);
        }
        let tmp = self.dir.join(format!(".tmp-{}", chain_id.hex()));
        remove_tree(&tmp)?;
        let result = self.unpack_into(&tmp, chain_id, diff_id, blob, open_blob);
        if result.is_err()
            && let Err(e) = remove_tree(&tmp)
        {
            tracing::warn!("cleaning up after a failed unpack: {e}");
        }
        result
    }

    fn unpack_into<'a>(
        &self,
        tmp: &Path,
        chain_id: &Digest,
        diff_id: &Digest,
        blob: &Digest,
        open_blob: impl FnOnce() -> Result<Box<dyn Read + 'a>, ImageError>,
    ) -> Result<LayerRecord, ImageError> {
        let diff = tmp.join(DIFF);
        std::fs::create_dir_all(&diff)
            .map_err(ImageError::io("creating layer directory", &diff))?;
        tracing::debug!(%chain_id, %blob, "unpacking layer");
        let unpacked = unpack_layer(open_blob()?, &diff, diff_id.as_str())?;
        if unpacked.diff_id != *diff_id {
            return Err(ImageError::DiffIdMismatch {
                layer: blob.to_string(),
                expected: diff_id.to_string(),
                actual: unpacked.diff_id.to_string(),
            });
        }
        let record = LayerRecord {
            chain_id: chain_id.clone(),
            diff_id: diff_id.clone(),
            blob: blob.clone(),
            size: unpacked.size,
        };
        let record_path = tmp.join(RECORD);
        let json = serde_json::to_vec_pretty(&record).map_err(|source| ImageError::Json {
            action: "writing layer record",
            path: record_path.clone(),
            source,
        })?;
        std::fs::write(&record_path, json)
            .map_err(ImageError::io("writing layer record", &record_path))?;
        let target = self.dir.join(chain_id.hex());
        std::fs::rename(tmp, &target).map_err(ImageError::io(
            "renaming unpacked layer into place",
            &target,
        ))?;
        Ok(record)
    }

    /// Removes the layer `chain_id` (its record first, so a half-removed layer is never
    /// taken for a complete one). A missing layer is not an error.
    pub fn remove(&self, chain_id: &Digest) -> Result<(), ImageError> {
        let _lock = lock_exclusive(&self.dir.join(".locks").join(chain_id.hex()))?;
        let dir = self.dir.join(chain_id.hex());
        let record = dir.join(RECORD);
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ImageError::io("removing layer record", record)(e));
            }
            _ => {}
        }
        // The lock file stays: unlinking it while others wait on it would let a later
        // command lock a new file of the same name alongside them.
        remove_tree(&dir)
    }
}

/// `rm -rf` that is quiet about a missing tree (std's remove_dir_all never follows
/// symlinks inside it).
fn remove_tree(path: &Path) -> Result<(), ImageError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ImageError::io("removing", path)(e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_definition() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        assert_eq!(chain[1], Digest::of(format!("{a} {b}").as_bytes()));
        assert!(chain_ids(&[]).is_empty());
    }
}
