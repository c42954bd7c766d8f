//! `resize`: the window size of a `-t` container's pty (the Docker API's
//! `POST /containers/{id}/resize`), through its monitor's attach socket.

use crate::container::store::{self, ContainerFiles};
use crate::error::{EngineError, Result};
use crate::monitor::attach::{self, Resize};
use crate::paths::StorePaths;

/// Sets container `query`'s tty to `size` (rows, columns). Errors: no such container;
/// [`EngineError::Conflict`] when it does not run or has no tty.
pub fn resize(paths: &StorePaths, query: &str, size: Resize) -> Result<()> {
    let id = store::resolve(paths, query)?;
    let socket = ContainerFiles::new(paths, &id).attach_socket();
    attach::resize(&socket, size)
        .map_err(|e| EngineError::Conflict(format!("resizing the tty of container {id}: {e}")))
}
