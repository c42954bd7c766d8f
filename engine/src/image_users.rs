//! Which containers use an image: the engine's answer to berth-images' [`ImageUsers`],
//! so that `rmi` (CLI and API) refuses to delete an image a container was created from,
//! as docker does.

use berth_images::{ImageError, ImageUsers};

use crate::StorePaths;
use crate::container::{ContainerRecord, id, status, store};

/// The containers of the store at `paths`.
pub struct ContainersOf<'a>(pub &'a StorePaths);

impl ContainersOf<'_> {
    /// The short id of the first container from `image_id` that `keep` accepts.
    fn first(
        &self,
        image_id: &str,
        keep: impl Fn(&ContainerRecord) -> bool,
    ) -> Result<Option<String>, ImageError> {
        let records = store::list(self.0).map_err(|e| ImageError::Users {
            id: image_id.to_string(),
            source: Box::new(e),
        })?;
        Ok(records
            .into_iter()
            .find(|r| r.image_id == image_id && keep(r))
            .map(|r| id::short(&r.id).to_string()))
    }
}

impl ImageUsers for ContainersOf<'_> {
    fn container_using(&self, image_id: &str) -> Result<Option<String>, ImageError> {
        self.first(image_id, |_| true)
    }

    /// Running as the container's status derives it (a container whose state cannot be
    /// read counts as running: refusing is the safe side).
    fn running_container_using(&self, image_id: &str) -> Result<Option<String>, ImageError> {
        self.first(image_id, |r| {
            status::derive(self.0, r).map_or(true, |s| s.is_running())
        })
    }
}
