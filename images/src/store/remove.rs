//! `rmi`: untagging, and deleting an image with the layers and blobs no other image
//! needs, with docker's rules and its `Untagged:` / `Deleted:` lines.

use std::collections::BTreeSet;
use std::fmt;

use super::ImageStore;
use super::find_id;
use super::index::{ImageRecord, Index};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::reference::{self, familiar_name};

/// One line of `rmi`'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A name was taken off the image (familiar form, `busybox:latest`).
    Untagged(String),
    /// An image (its ID) or a layer (its chain ID) was deleted.
    Deleted(String),
}

impl fmt::Display for Removed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Untagged(name) => write!(f, "Untagged: {name}"),
            Self::Deleted(id) => write!(f, "Deleted: {id}"),
        }
    }
}

/// Who uses images: the engine answers with its containers, so that `rmi` refuses to
/// delete an image a container was created from (docker's conflict rule).
pub trait ImageUsers {
    /// A container (ID or name) created from the image `image_id`, if any.
    fn container_using(&self, image_id: &str) -> Result<Option<String>, ImageError>;

    /// A running container created from the image `image_id`, if any: docker refuses to
    /// delete or untag such an image even with `-f`. None by default (no containers).
    fn running_container_using(&self, image_id: &str) -> Result<Option<String>, ImageError> {
        let _ = image_id;
        Ok(None)
    }
}

/// No containers at all (the image store on its own, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUsers;

impl ImageUsers for NoUsers {
    fn container_using(&self, _image_id: &str) -> Result<Option<String>, ImageError> {
        Ok(None)
    }
}

impl ImageStore {
    /// `rmi [-f] NAME`, knowing of no containers: see [`ImageStore::remove_unless_used`].
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Vec<Removed>, ImageError> {
        self.remove_unless_used(name_or_id, force, &NoUsers)
    }

    /// `rmi [-f] NAME` as docker does it:
    /// - a name of an image that has other names is only untagged;
    /// - an ID of an image with several names needs `force` (then all are untagged);
    /// - an image a container uses (`users`) is refused without `force`, and with it
    ///   only untagged (the container keeps its layers);
    /// - otherwise every name is untagged and the image deleted, with the layers and
    ///   blobs no remaining image shares (`Deleted:` the image ID, then the layers' chain
    ///   IDs top first).
    pub fn remove_unless_used(
        &self,
        name_or_id: &str,
        force: bool,
        users: &dyn ImageUsers,
    ) -> Result<Vec<Removed>, ImageError> {
        self.index.update(|index| {
            let id = find_id(index, name_or_id)?;
            let tags = index.tags_of(&id);
            let by_name = reference::normalize(name_or_id)
                .ok()
                .filter(|t| tags.contains(t));
            if let Some(name) = &by_name
                && tags.len() > 1
            {
                index.tags.remove(name);
                return Ok(vec![Removed::Untagged(familiar_name(name))]);
            }
            if by_name.is_none() && tags.len() > 1 && !force {
                return Err(ImageError::Conflict {
                    name: name_or_id.to_string(),
                    reason: "image is referenced in multiple repositories".into(),
                });
            }
            if let Some(container) = users.container_using(&id)? {
                if !force {
                    return Err(ImageError::InUse {
                        name: name_or_id.to_string(),
                        id: short(&id).to_string(),
                        container,
                        running: false,
                    });
                }
                if let Some(container) = users.running_container_using(&id)? {
                    return Err(ImageError::InUse {
                        name: name_or_id.to_string(),
                        id: short(&id).to_string(),
                        container,
                        running: true,
                    });
                }
                return Ok(untag_all(index, &tags));
            }
            let mut lines = untag_all(index, &tags);
            let Some(record) = index.images.remove(&id) else {
                return Ok(lines);
            };
            lines.push(Removed::Deleted(id.clone()));
            lines.extend(self.collect_garbage(index, &id, &record)?);
            Ok(lines)
        })
    }

    /// Removes the layers and blobs of the deleted image `id` that no image left in
    /// `index` needs (run under the index lock, so no image is added meanwhile).
    fn collect_garbage(
        &self,
        index: &Index,
        id: &str,
        record: &ImageRecord,
    ) -> Result<Vec<Removed>, ImageError> {
        let kept_layers: BTreeSet<&Digest> =
            index.images.values().flat_map(|r| &r.chain_ids).collect();
        let kept_blobs = self.referenced_blobs(index)?;
        let mut lines = Vec::new();
        let mut blobs = vec![record.manifest_digest.clone(), Digest::parse(id)?];
        if let Ok(manifest) = self.parse_manifest(&record.manifest_digest) {
            for layer in manifest.layers() {
                blobs.push(Digest::parse(layer.digest().as_ref())?);
            }
        }
        for chain in record.chain_ids.iter().rev() {
            if !kept_layers.contains(chain) {
                self.layers.remove(chain)?;
                lines.push(Removed::Deleted(chain.to_string()));
            }
        }
        for blob in blobs.iter().filter(|b| !kept_blobs.contains(*b)) {
            self.blobs.remove(blob)?;
        }
        Ok(lines)
    }
}

impl ImageStore {
    /// Every blob an image of `index` needs: manifests, configs, layer archives.
    pub(crate) fn referenced_blobs(&self, index: &Index) -> Result<BTreeSet<Digest>, ImageError> {
        let mut kept = BTreeSet::new();
        for (id, record) in &index.images {
            kept.insert(record.manifest_digest.clone());
            kept.insert(Digest::parse(id)?);
            // A manifest that cannot be read keeps nothing more: its image is broken.
            if let Ok(manifest) = self.parse_manifest(&record.manifest_digest) {
                for layer in manifest.layers() {
                    if let Ok(d) = Digest::parse(layer.digest().as_ref()) {
                        kept.insert(d);
                    }
                }
            }
        }
        Ok(kept)
    }

    /// Removes those of `blobs` that no image needs (what a failed load or import
    /// stored), under the index lock so that no image is being recorded meanwhile.
    pub(crate) fn discard_unreferenced(&self, blobs: &[Digest]) -> Result<(), ImageError> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.index.update(|index| {
            let kept = self.referenced_blobs(index)?;
            for blob in blobs.iter().filter(|b| !kept.contains(*b)) {
                self.blobs.remove(blob)?;
            }
            Ok(())
        })
    }
}

fn untag_all(index: &mut Index, tags: &[String]) -> Vec<Removed> {
    tags.iter()
        .map(|t| {
            index.tags.remove(t);
            Removed::Untagged(familiar_name(t))
        })
        .collect()
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
