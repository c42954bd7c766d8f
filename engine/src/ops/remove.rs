//! `rm [-f] [-v]`: a container and everything it holds: the runtime's container, the
//! network attachment, the rootfs mount, its directories and its name. `-f` kills a
//! running one first. Works when the monitor was killed (teardown runs here then).

use std::time::Duration;

use crate::container::record::ContainerRecord;
use crate::container::store::{self, ContainerFiles};
use crate::container::{names, status};
use crate::error::{EngineError, Result, io_err};
use crate::monitor::teardown::teardown;
use crate::oci_runtime::OciRuntime;
use crate::ops::wait::{until_monitor_gone, until_stopped};
use crate::paths::StorePaths;
use crate::rootfs;
use crate::volume::VolumeStore;

/// How long `rm -f` waits for a killed container's monitor to finish its teardown.
const MONITOR_GRACE: Duration = Duration::from_secs(10);

/// `rm` flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// `-f`: kill a running container first.
    pub force: bool,
    /// `-v`: also remove its anonymous volumes.
    pub volumes: bool,
}

/// Removes a container; returns its id.
pub fn remove(paths: &StorePaths, query: &str, opts: RemoveOptions) -> Result<String> {
    let id = store::resolve(paths, query)?;
    let files = ContainerFiles::new(paths, &id);
    let _lock = store::lock(&files)?;
    let record = match store::load(paths, &id) {
        Ok(r) => r,
        // Removed meanwhile (its monitor's --rm, another rm): done.
        Err(EngineError::NoSuchContainer(_)) => return Ok(id),
        Err(e) => return Err(e),
    };
    let state = status::derive(paths, &record)?;
    if state.is_running() {
        if !opts.force {
            return Err(EngineError::Conflict(format!(
                "cannot remove running container {id}: stop it first or use rm -f"
            )));
        }
        let runtime = OciRuntime::for_container(paths, &record);
        if let Err(e) = runtime.kill(&id, "9") {
            tracing::debug!(%id, error = %e, "killing for rm -f");
        }
        until_stopped(paths, &record, Some(MONITOR_GRACE))?;
    }
    // A monitor still at its teardown (or its --rm) finishes first; one that hangs is
    // killed: what it has not done, teardown below does.
    let state = status::derive(paths, &record)?;
    if let Some(monitor) = state.monitor.or_else(|| {
        crate::atomic_file::read_json::<crate::container::exit::MonitorRecord>(&files.monitor())
            .ok()
            .flatten()
    }) && !until_monitor_gone(&monitor, MONITOR_GRACE)?
    {
        let boot = crate::container::exit::boot_id()?;
        if monitor.is_alive(&boot) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(monitor.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    if !files.dir.exists() {
        return Ok(id);
    }
    teardown(paths, &record)?;
    remove_files(paths, &record, opts.volumes)?;
    Ok(id)
}

/// How long the exit record of a removed `--rm` container stays for `wait`.
const KEPT_EXIT: std::time::Duration = std::time::Duration::from_secs(600);

/// `<runroot>/exits/<id>.json`: the exit record of an auto-removed container, for a
/// `wait` that was still polling when the monitor removed it (docker's `wait` on a
/// `--rm` container reports its code).
pub fn kept_exit(paths: &StorePaths, id: &str) -> std::path::PathBuf {
    paths.runroot.join("exits").join(format!("{id}.json"))
}

/// Copies the container's exit.json to [`kept_exit`], and removes kept records older
/// than [`KEPT_EXIT`]. Best effort: a failure costs only a waiter's exit code.
fn keep_exit_for_waiters(paths: &StorePaths, files: &ContainerFiles) {
    let Ok(data) = std::fs::read(files.exit()) else {
        return;
    };
    let dest = kept_exit(paths, &files.id);
    if let Some(dir) = dest.parent() {
        let _ = std::fs::create_dir_all(dir);
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if old.is_some_and(|age| age > KEPT_EXIT) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let Err(e) = crate::atomic_file::write_bytes(&dest, &data) {
        tracing::warn!("keeping the exit record of {}: {e}", files.id);
    }
}

/// Removes the container's directories and name reservation, and with `volumes` its
/// anonymous volumes (`rm -v`, `run --rm`). The rootfs must be unmounted (it is
/// unmounted here first; a mount that stays is an error, so that nothing is removed
/// through it). Removing what is already gone is Ok.
pub fn remove_files(paths: &StorePaths, record: &ContainerRecord, volumes: bool) -> Result<()> {
    let files = ContainerFiles::new(paths, &record.id);
    rootfs::unmount(&files.rootfs())?;
    if rootfs::is_mounted(&files.rootfs()) {
        return Err(EngineError::Conflict(format!(
            "the rootfs of container {} is still mounted at {}",
            record.id,
            files.rootfs().display()
        )));
    }
    if volumes {
        VolumeStore::open(paths)
            .remove_anonymous_of(&record.id)
            .map_err(|e| {
                EngineError::Conflict(format!(
                    "removing the anonymous volumes of container {}: {e}",
                    record.id
                ))
            })?;
    }
    if record.host.auto_remove {
        keep_exit_for_waiters(paths, &files);
    }
    // Its execs' records (under <runroot>/exec, found by exec id alone).
    crate::exec::forget_container(paths, &record.id);
    // The directory leaves its id by one rename, so a removal killed half way leaves
    // no container without its record (store::sweep_staging finishes such a tree).
    let removing =
        paths
            .root
            .join("containers")
            .join(format!("{}{}", store::REMOVING_PREFIX, record.id));
    match std::fs::rename(&files.dir, &removing) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("moving aside", &files.dir)(e)),
    }
    // Released only now: until the rename the container is listed under its name. A
    // reservation left by a removal killed here has no holder directory: taken over.
    names::release(&paths.root, &record.name, &record.id)?;
    for dir in [&files.run_dir, &removing] {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("removing", dir)(e)),
        }
    }
    Ok(())
}
