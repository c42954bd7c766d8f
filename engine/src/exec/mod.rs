//! `exec`: a new process in a running container, through the OCI runtime's
//! `<runtime> --root R exec [--tty --console-socket S] [--detach] --pid-file P --process
//! FILE ID`, in docker's three steps so that `berth exec` and the Docker API
//! (`POST /containers/{id}/exec`, `/exec/{id}/start`, `/exec/{id}/resize`,
//! `GET /exec/{id}/json`) share them:
//!
//! 1. [`create`] records the exec ([`ExecConfig`]) under `<runroot>/exec/<exec id>.json`
//!    and returns its id (64 hex, as docker's);
//! 2. [`start`] writes the process.json (the container's process with the exec's args,
//!    env, cwd, user and tty) and starts the runtime's exec: an [`ExecProcess`] with the
//!    process's stdio (pipes, or the pty master with `tty`), to be pumped with
//!    [`ExecProcess::run_framed`] (docker's stream framing) or [`ExecProcess::run_plain`];
//!    either waits and records the exit code;
//! 3. [`resize`] sets the pty's size (the pty lives in the process that started the
//!    exec); [`inspect`] says whether it runs, its pid and its exit code.
//!
//! Exit codes are the process's; a command that cannot be found is 127, one that cannot
//! be executed 126 (docker's), read from the runtime's error.

mod process;
mod session;
pub mod shim;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::container::exit::process_start_time;
use crate::container::{status, store};
use crate::error::{EngineError, Result, io_err};
use crate::paths::StorePaths;

pub use session::{ExecProcess, resize};

/// What to run (docker's ExecConfig).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    /// The command and its arguments (a bare name is looked up in the container's PATH).
    pub cmd: Vec<String>,
    /// `KEY=VALUE`, added to (and overriding) the container's environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// Absolute working directory; the container's when None.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `USER[:GROUP]` (names or numbers, resolved in the container's /etc files); the
    /// container's user when None.
    #[serde(default)]
    pub user: Option<String>,
    /// A pty for the process.
    #[serde(default)]
    pub tty: bool,
    /// Whether the caller will feed stdin (else the process's stdin is /dev/null).
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    /// The pty's size from the start (with `tty`), so a shell reads the right size.
    #[serde(default)]
    pub console_size: Option<crate::monitor::attach::Resize>,
}

/// One exec, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExecRecord {
    /// 64 hex digits.
    pub id: String,
    /// The container's full id.
    pub container_id: String,
    pub config: ExecConfig,
    /// Set by [`start`]: an exec starts once.
    #[serde(default)]
    pub started: bool,
    /// The exit code, once the process ended and someone waited for it (None for a
    /// detached exec: nobody waits for it).
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// What [`inspect`] reports (docker's `GET /exec/{id}/json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecState {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub running: bool,
    pub exit_code: Option<i32>,
    /// The process's host pid while it runs (0 otherwise, as docker).
    pub pid: u32,
    pub open_stdin: bool,
    pub open_stdout: bool,
    pub open_stderr: bool,
    pub process_config: ExecConfig,
}

/// `<runroot>/exec`: exec records and their process.json and pid files.
pub(crate) fn exec_dir(paths: &StorePaths) -> PathBuf {
    paths.runroot.join("exec")
}

fn record_path(paths: &StorePaths, exec_id: &str) -> PathBuf {
    exec_dir(paths).join(format!("{exec_id}.json"))
}

pub(crate) fn pid_file(paths: &StorePaths, exec_id: &str) -> PathBuf {
    exec_dir(paths).join(format!("{exec_id}.pid"))
}

/// Records an exec of `config` in container `query` (id, prefix or name); its id.
/// Errors: no such container, the container is not running ([`EngineError::Conflict`]),
/// an empty command ([`EngineError::InvalidArgument`]).
pub fn create(paths: &StorePaths, query: &str, config: &ExecConfig) -> Result<String> {
    if config.cmd.is_empty() {
        return Err(EngineError::InvalidArgument(
            "exec needs a command to run".into(),
        ));
    }
    let container_id = store::resolve(paths, query)?;
    require_running(paths, &container_id)?;
    let id = crate::container::id::generate()?;
    let dir = exec_dir(paths);
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let record = ExecRecord {
        id: id.clone(),
        container_id,
        config: config.clone(),
        started: false,
        exit_code: None,
    };
    atomic_file::write_json(&record_path(paths, &id), &record)?;
    Ok(id)
}

fn require_running(paths: &StorePaths, container_id: &str) -> Result<()> {
    let record = store::load(paths, container_id)?;
    if !status::derive(paths, &record)?.is_running() {
        return Err(EngineError::Conflict(format!(
            "container {container_id} is not running"
        )));
    }
    Ok(())
}

/// The exec `exec_id` (a full id or a unique prefix, as docker accepts).
/// Errors: [`EngineError::NoSuchExec`] for anything but hex digits (the id comes from
/// API URLs and becomes a file name: `../x` must not name a file), or no such exec.
pub fn load(paths: &StorePaths, exec_id: &str) -> Result<ExecRecord> {
    let not_found = || EngineError::NoSuchExec(exec_id.to_string());
    if !crate::container::id::is_hex(exec_id) {
        return Err(not_found());
    }
    let path = record_path(paths, exec_id);
    if let Some(r) = atomic_file::read_json(&path)? {
        return Ok(r);
    }
    let mut found = None;
    if let Ok(entries) = std::fs::read_dir(exec_dir(paths)) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json")
                && id.starts_with(exec_id)
            {
                if found.is_some() {
                    return Err(EngineError::Ambiguous(exec_id.to_string()));
                }
                found = Some(id.to_string());
            }
        }
    }
    let id = found.ok_or_else(not_found)?;
    atomic_file::read_json(&record_path(paths, &id))?.ok_or_else(not_found)
}

fn save(paths: &StorePaths, record: &ExecRecord) -> Result<()> {
    atomic_file::write_json(&record_path(paths, &record.id), record)
}

/// The exec's state now: running while its process (the pid the runtime wrote, checked
/// with its start time) lives.
pub fn inspect(paths: &StorePaths, exec_id: &str) -> Result<ExecState> {
    let record = load(paths, exec_id)?;
    let pid = live_pid(paths, &record.id).unwrap_or(0);
    Ok(ExecState {
        id: record.id.clone(),
        container_id: record.container_id.clone(),
        running: pid != 0 && record.exit_code.is_none(),
        exit_code: record.exit_code,
        pid: if record.exit_code.is_none() { pid } else { 0 },
        open_stdin: record.config.attach_stdin,
        open_stdout: record.config.attach_stdout,
        open_stderr: record.config.attach_stderr,
        process_config: record.config,
    })
}

/// The exec's pid if that process still lives (pid file `pid start_time`).
fn live_pid(paths: &StorePaths, exec_id: &str) -> Option<u32> {
    let text = std::fs::read_to_string(pid_file(paths, exec_id)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let started = std::fs::read_to_string(pid_file(paths, exec_id).with_extension("start"))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let now = process_start_time(pid)?;
    // A pid whose start time we recorded must still be that process.
    match started {
        Some(s) if s != now => None,
        _ => Some(pid),
    }
}

/// Removes the exec records of container `container_id` (when it is removed).
pub fn forget_container(paths: &StorePaths, container_id: &str) {
    let Ok(entries) = std::fs::read_dir(exec_dir(paths)) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "json")
            && let Ok(Some(r)) = atomic_file::read_json::<ExecRecord>(&path)
            && r.container_id == container_id
        {
            for ext in ["json", "pid", "start", "process.json"] {
                let _ = std::fs::remove_file(exec_dir(paths).join(format!("{}.{ext}", r.id)));
            }
        }
    }
}

/// Options of [`start`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Start and return: nobody waits for the process (docker's `exec -d`); the
    /// returned [`ExecProcess`] has no stdio and its wait returns at once.
    pub detach: bool,
}

/// Starts exec `exec_id` (once). See [`ExecProcess`] for what to do with it.
pub fn start(paths: &StorePaths, exec_id: &str, opts: StartOptions) -> Result<ExecProcess> {
    let mut record = load(paths, exec_id)?;
    if record.started {
        return Err(EngineError::Conflict(format!(
            "exec {} has already started",
            record.id
        )));
    }
    require_running(paths, &record.container_id)?;
    record.started = true;
    save(paths, &record)?;
    let container = store::load(paths, &record.container_id)?;
    let process_file = process::write(paths, &container, &record)?;
    session::spawn(paths, &container, record, &process_file, opts.detach)
}

/// Records the exit code of exec `exec_id`.
pub(crate) fn record_exit(paths: &StorePaths, exec_id: &str, code: i32) -> Result<()> {
    let mut record = load(paths, exec_id)?;
    record.exit_code = Some(code);
    save(paths, &record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_id_that_is_not_hex_names_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = StorePaths {
            root: dir.path().join("root"),
            runroot: dir.path().join("run"),
            runtime_root: dir.path().join("rt"),
            runtime: "berth-runtime".into(),
        };
        // A JSON file an exec record would parse from, outside the exec directory.
        let outside = ExecRecord {
            id: "ab".repeat(32),
            container_id: "cd".repeat(32),
            config: ExecConfig::default(),
            started: false,
            exit_code: None,
        };
        std::fs::create_dir_all(exec_dir(&paths)).expect("mkdir");
        atomic_file::write_json(&paths.runroot.join("planted.json"), &outside).expect("plant");
        for bad in ["../planted", "", "AB", "ab/..", "abc "] {
            assert!(
                matches!(load(&paths, bad), Err(EngineError::NoSuchExec(_))),
                "{bad:?}"
            );
        }
    }
}
