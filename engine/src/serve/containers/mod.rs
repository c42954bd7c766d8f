//! The `/containers/...` endpoints, one file per concern, each calling the engine's
//! library verb (`crate::ops`): the API server never implements a verb of its own.
//!
//! - [`create_body`]: the create request's JSON, checked; [`create`]: it as
//!   `ops::create::CreateOptions`.
//! - [`list`]: `GET /containers/json`; [`lifecycle`]: inspect, start, stop, kill,
//!   restart, rename, delete.
//! - [`wait`]: `/wait` with docker's conditions, headers sent at once.
//! - [`attach`]: hijacked attach spliced onto the monitor's attach socket, resize.
//! - [`logs`]: the json-file log as docker's (multiplexed) stream.
//! - [`observe`]: `top` and `stats`.

pub mod attach;
pub mod create;
pub mod create_body;
pub mod lifecycle;
pub mod list;
pub mod logs;
pub mod observe;
pub mod wait;

use crate::error::EngineError;
use crate::serve::error::ApiError;

/// Docker's status for each engine failure.
impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::NoSuchContainer(q) => ApiError::no_such_container(q),
            EngineError::NoSuchExec(id) => {
                ApiError::not_found(format!("No such exec instance: {id}"))
            }
            EngineError::Ambiguous(_) | EngineError::InvalidArgument(_) => {
                ApiError::bad_request(e.to_string())
            }
            EngineError::NameInUse { name, id } => ApiError::conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \
                 \"{id}\". You have to remove (or rename) that container to be able to reuse \
                 that name."
            )),
            EngineError::Conflict(_) => ApiError::conflict(e.to_string()),
            EngineError::Image(m) if m.starts_with("no such image") => {
                ApiError::not_found(e.to_string())
            }
            _ => ApiError::internal(e.to_string()),
        }
    }
}
