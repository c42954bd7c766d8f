//! OCI lifecycle hooks: each runs with the container's state on stdin, its own args and
//! env, and an optional timeout after which it is killed.
//!
//! Where each kind runs is the caller's business (runtime-spec config.md): prestart and
//! createRuntime in the runtime's namespaces during create, createContainer and
//! startContainer inside the container, poststart after start, poststop in delete.

use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use oci_spec::runtime::{Hook, Hooks};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {}: path must be absolute", path.display())]
    NotAbsolute { kind: HookKind, path: PathBuf },
    #[error("{kind} hook {}: {reason}", path.display())]
    NotExecutable { kind: HookKind, path: PathBuf, reason: String },
    #[error("{kind} hook {}: timeout must be positive, got {timeout}", path.display())]
    BadTimeout { kind: HookKind, path: PathBuf, timeout: i64 },
    #[error("running {kind} hook {}: {source}", path.display())]
    Spawn { kind: HookKind, path: PathBuf, source: std::io::Error },
    #[error("{kind} hook {} timed out after {secs}s and was killed", path.display())]
    Timeout { kind: HookKind, path: PathBuf, secs: i64 },
    #[error("{kind} hook {} failed: {status}{}", path.display(), if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed { kind: HookKind, path: PathBuf, status: String, stderr: String },
}

/// Check hooks before the container exists. createContainer and startContainer paths are
/// resolved in the container's mount namespace, so only their form is checked here.
pub fn validate(hooks: &Hooks) -> Result<(), HookError> {
    let on_host = [
        (HookKind::Prestart, hooks.prestart()),
        (HookKind::CreateRuntime, hooks.create_runtime()),
        (HookKind::Poststart, hooks.poststart()),
        (HookKind::Poststop, hooks.poststop()),
    ];
    let in_container = [
        (HookKind::CreateContainer, hooks.create_container()),
        (HookKind::StartContainer, hooks.start_container()),
    ];
    for (kind, list) in on_host.iter().chain(in_container.iter()) {
        for hook in list.as_deref().unwrap_or_default() {
            let path = hook.path();
            if !path.is_absolute() {
                return Err(HookError::NotAbsolute { kind: *kind, path: path.clone() });
            }
            if let Some(t) = hook.timeout()
                && t <= 0
            {
                return Err(HookError::BadTimeout { kind: *kind, path: path.clone(), timeout: t });
            }
            if !matches!(kind, HookKind::CreateContainer | HookKind::StartContainer) {
                check_executable(*kind, path)?;
            }
        }
    }
    Ok(())
}

fn check_executable(kind: HookKind, path: &Path) -> Result<(), HookError> {
    let not_exec = |reason: String| HookError::NotExecutable { kind, path: path.to_path_buf(), reason };
    let meta = std::fs::metadata(path).map_err(|e| not_exec(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_exec("not a regular file".into()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(not_exec("not executable".into()));
    }
    Ok(())
}

/// Run hooks of one kind in order; the first failure stops the rest.
pub fn run(kind: HookKind, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    for hook in hooks {
        run_one(kind, hook, state_json)?;
    }
    Ok(())
}

fn run_one(kind: HookKind, hook: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path();
    let spawn_err = |source| HookError::Spawn { kind, path: path.clone(), source };
    let mut cmd = Command::new(path);
    // args[0] is the hook's argv[0], as in execve; with no args the path is argv[0].
    if let Some(args) = hook.args().as_deref()
        && let Some((first, rest)) = args.split_first()
    {
        std::os::unix::process::CommandExt::arg0(&mut cmd, first);
        cmd.args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json);
    }
    let deadline = hook.timeout().map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    if let Some((secs, deadline)) = deadline
        && !wait_until(child.id() as i32, deadline)
    {
        let _ = child.kill();
        let _ = child.wait();
        return Err(HookError::Timeout { kind, path: path.clone(), secs });
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    if out.status.success() {
        return Ok(());
    }
    let status = match (out.status.code(), out.status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown status".into(),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(HookError::Failed { kind, path: path.clone(), status, stderr })
}

/// Wait for `pid` to exit until `deadline`, on a pidfd (no sleep loop). True if it exited.
fn wait_until(pid: i32, deadline: Instant) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        // Already reaped by nobody else but gone: treat as exited; wait() reports it.
        return true;
    }
    // SAFETY: the fd was just returned to us.
    let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = u16::try_from(left.as_millis().min(60_000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return true,
            _ => continue,
        }
    }
}
