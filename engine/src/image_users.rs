//! Which containers use an image: the engine's answer to berth-images' [`ImageUsers`],
//! so that `rmi` (CLI and API) refuses to delete an image a container was created from,
//! as docker does.

use berth_images::{ImageError, ImageUsers};

use crate::StorePaths;
use crate::container::store;

/// The containers of the store at `paths`.
pub struct ContainersOf<'a>(pub &'a StorePaths);

impl ImageUsers for ContainersOf<'_> {
    fn container_using(&self, image_id: &str) -> Result<Option<String>, ImageError> {
        let records = store::list(self.0).map_err(|e| ImageError::Users {
            id: image_id.to_string(),
            source: Box::new(e),
        })?;
        Ok(records
            .into_iter()
            .find(|r| r.image_id == image_id)
            .map(|r| r.id[..r.id.len().min(12)].to_string()))
    }
}
