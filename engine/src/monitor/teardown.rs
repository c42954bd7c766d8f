//! Undoing a container's run, idempotently: the runtime's container (`delete --force`),
//! the network attachment, the rootfs mount. The monitor runs it when the container
//! ends; `rm` runs it again for a container whose monitor was killed, and it is safe on
//! anything half made or already undone.

use crate::container::record::ContainerRecord;
use crate::container::store::ContainerFiles;
use crate::error::{EngineError, Result};
use crate::network::{self, Attachment};
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;
use crate::rootfs;

/// Runs every step, then returns the first failure (if any).
pub fn teardown(paths: &StorePaths, record: &ContainerRecord) -> Result<()> {
    let files = ContainerFiles::new(paths, &record.id);
    let mut first: Option<EngineError> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            tracing::warn!(id = %record.id, error = %e, "teardown");
            first.get_or_insert(e);
        }
    };
    keep(OciRuntime::for_container(paths, record).delete(&record.id, true));
    if let Some(att) = &record.network_attachment {
        match serde_json::from_value::<Attachment>(att.clone()) {
            Ok(att) => keep(network::detach(paths, &record.id, &att).map_err(|e| {
                EngineError::Network(format!("disconnecting container {}: {e}", record.id))
            })),
            Err(e) => keep(Err(EngineError::Corrupt {
                path: files.record(),
                message: format!("network attachment: {e}"),
            })),
        }
    }
    keep(rootfs::unmount(&files.rootfs()));
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
