//! `rename`: a container's name changes; the new name is reserved (atomically, as at
//! create) before the old one is released, so no other container can take either in
//! between. A running container keeps running; the new name reaches its OCI annotations
//! (and the exporter's labels) at its next start.

use crate::container::names;
use crate::container::store::{self, ContainerFiles};
use crate::error::{EngineError, Result};
use crate::paths::StorePaths;

/// Renames container `query` to `new_name` (docker's rules; a leading `/` allowed);
/// returns its id. Errors: no such container, an invalid name, a name in use
/// ([`EngineError::NameInUse`]), the same name ([`EngineError::Conflict`], as docker).
pub fn rename(paths: &StorePaths, query: &str, new_name: &str) -> Result<String> {
    let new_name = names::validate(new_name)?;
    let id = store::resolve(paths, query)?;
    let files = ContainerFiles::new(paths, &id);
    let _lock = store::lock(&files)?;
    let mut record = store::load(paths, &id)?;
    if record.name == new_name {
        return Err(EngineError::Conflict(format!(
            "renaming container {id}: it is already named {new_name:?}"
        )));
    }
    names::reserve(&paths.root, new_name, &id)?;
    let old = std::mem::replace(&mut record.name, new_name.to_string());
    if let Err(e) = store::save(&files, &record) {
        let _ = names::release(&paths.root, new_name, &id);
        return Err(e);
    }
    names::release(&paths.root, &old, &id)?;
    Ok(id)
}
