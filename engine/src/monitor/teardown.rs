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

/// Finishes a container whose monitor died while it ran (a SIGKILL, the OOM killer):
/// once the runtime says it is no longer running, tears it down and records its end
/// (exit code 255, unknown, with the reason), as the monitor would have. Does nothing
/// while the container runs, while its monitor lives, or when its end is recorded.
pub fn finish_orphan(paths: &StorePaths, record: &ContainerRecord) -> Result<()> {
    use crate::atomic_file::{read_json, write_json};
    use crate::container::exit::{ExitRecord, MonitorRecord, StartRecord, boot_id};
    let files = ContainerFiles::new(paths, &record.id);
    if files.exit().exists() {
        return Ok(());
    }
    let Some(start) = read_json::<StartRecord>(&files.start())? else {
        return Ok(());
    };
    let boot = boot_id()?;
    if read_json::<MonitorRecord>(&files.monitor())?.is_some_and(|m| m.is_alive(&boot)) {
        return Ok(());
    }
    let runtime = OciRuntime::for_container(paths, record);
    if matches!(
        runtime.status(&record.id).as_deref(),
        Some("running" | "paused")
    ) {
        return Ok(());
    }
    teardown(paths, record)?;
    write_json(
        &files.exit(),
        &ExitRecord {
            exit_code: crate::container::status::LOST_EXIT_CODE,
            oom_killed: false,
            started_at: Some(start.started_at),
            finished_at: berth_state::Timestamp::now(),
            error: "the container's monitor died before recording its exit".into(),
        },
    )
}
