//! OCI lifecycle hooks (runtime-spec config.md, "POSIX-platform Hooks").
//!
//! Each hook is `path` executed with `args` (`args[0]` is `argv[0]`) and exactly `env`,
//! the container state JSON on stdin, killed (with everything it started) when
//! `timeout` seconds pass. Where each kind runs is the caller's part:
//! - `prestart` (deprecated), `createRuntime`: runtime namespace, after the container's
//!   namespaces exist, before pivot_root; failure fails `create`.
//! - `createContainer`: executed in the container's namespaces (after its mounts, before
//!   pivot_root), but its path resolves in the runtime's mount namespace; failure fails
//!   `create`.
//! - `startContainer`: in the container (init), just before the user process is
//!   executed; its path resolves in the container; failure fails `start`.
//! - `poststart` (runtime namespace, after the process started) and `poststop` (after
//!   delete): a failure is logged as a warning and the remaining hooks still run, as the
//!   spec requires; [`run`] does that for these kinds and returns Ok.
//!
//! stdin/stdout/stderr are memfds, not pipes: a hook that never reads its stdin cannot
//! block the runtime, and a daemon a hook leaves behind cannot hold the runtime's read
//! end open forever.

use std::io::{Read, Seek, SeekFrom, Write};

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{AccessFlags, Pid, access};
use oci_spec::runtime::{Hook, Hooks};

/// How much of a failing hook's stderr goes into the error message.
const STDERR_TAIL: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub const ALL: [HookKind; 6] = [
        HookKind::Prestart,
        HookKind::CreateRuntime,
        HookKind::CreateContainer,
        HookKind::StartContainer,
        HookKind::Poststart,
        HookKind::Poststop,
    ];

    /// The name used in config.json.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    /// Whether a failing hook of this kind fails the operation (spec: all but
    /// poststart/poststop, which only warn).
    pub fn failure_is_fatal(self) -> bool {
        !matches!(self, HookKind::Poststart | HookKind::Poststop)
    }

    /// Whether `path` resolves in the container's mount namespace (only startContainer;
    /// createContainer runs in the container's namespaces but its path resolves in the
    /// runtime's), so it cannot be checked from the runtime before start.
    pub fn path_in_container(self) -> bool {
        matches!(self, HookKind::StartContainer)
    }

    /// This kind's hooks in `hooks` (empty when absent).
    pub fn of(self, hooks: &Hooks) -> &[Hook] {
        #[allow(deprecated)] // prestart is deprecated in the spec but still supported
        let list = match self {
            HookKind::Prestart => hooks.prestart(),
            HookKind::CreateRuntime => hooks.create_runtime(),
            HookKind::CreateContainer => hooks.create_container(),
            HookKind::StartContainer => hooks.start_container(),
            HookKind::Poststart => hooks.poststart(),
            HookKind::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every variant's message starts with `error running <kind> hook`, the words runc 1.2+
/// uses and clients (containerd, CRI-O, their test suites) look for.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("error running {kind} hook #{index} {path}: {problem}")]
    Invalid {
        kind: HookKind,
        index: usize,
        path: PathBuf,
        problem: String,
    },
    /// `cause` is part of the message, not a `source`: an `{:#}` chain would repeat it.
    #[error("error running {kind} hook #{index} {path}: {op}: {cause}")]
    Io {
        kind: HookKind,
        index: usize,
        path: PathBuf,
        op: &'static str,
        cause: std::io::Error,
    },
    #[error("error running {kind} hook #{index} {path}: timed out after {seconds}s and was killed")]
    Timeout {
        kind: HookKind,
        index: usize,
        path: PathBuf,
        seconds: i64,
    },
    #[error("error running {kind} hook #{index} {path}: {status}{stderr}")]
    Failed {
        kind: HookKind,
        index: usize,
        path: PathBuf,
        status: ExitStatus,
        stderr: String,
    },
}

/// Checks every hook before the container process starts: absolute path, timeout > 0,
/// and that the path is an existing executable regular file, except for startContainer
/// hooks, whose path exists only in the container's mount namespace (only their form is
/// checked here). A poststart/poststop hook that would fail only gets a warning: its
/// failure does not stop the container (runtime-spec; runc runs such a spec too). An env
/// entry without `=` is left out with a warning (runc hands it over as is; it names no
/// variable).
pub fn validate(hooks: &Hooks) -> Result<(), HookError> {
    for kind in HookKind::ALL {
        for (index, hook) in kind.of(hooks).iter().enumerate() {
            match validate_one(kind, index, hook) {
                Err(e) if !kind.failure_is_fatal() => {
                    tracing::warn!("{e}: it will fail when it runs (not fatal for {kind} hooks)")
                }
                result => result?,
            }
        }
    }
    Ok(())
}

fn validate_one(kind: HookKind, index: usize, hook: &Hook) -> Result<(), HookError> {
    let path = hook.path();
    let invalid = |problem: String| HookError::Invalid {
        kind,
        index,
        path: path.clone(),
        problem,
    };
    if !path.is_absolute() {
        return Err(invalid("path must be absolute".into()));
    }
    if let Some(timeout) = hook.timeout()
        && timeout <= 0
    {
        return Err(invalid(format!(
            "timeout must be greater than zero, got {timeout}"
        )));
    }
    if let Some(bad) = hook.env().iter().flatten().find(|e| !e.contains('=')) {
        tracing::warn!(
            "{kind} hook #{index} {}: env entry {bad:?} is not KEY=VALUE; left out",
            path.display()
        );
    }
    if kind.path_in_container() {
        return Ok(());
    }
    let meta = std::fs::metadata(path).map_err(|e| invalid(format!("cannot be used: {e}")))?;
    if !meta.is_file() {
        return Err(invalid("is not a regular file".into()));
    }
    // access(X_OK) alone is true for root whenever any x bit is set; require the bits
    // explicitly so a plain data file is refused even when validating as root.
    if meta.permissions().mode() & 0o111 == 0 || access(path.as_path(), AccessFlags::X_OK).is_err()
    {
        return Err(invalid("is not executable".into()));
    }
    Ok(())
}

/// Runs `hooks` of `kind` in order with `state_json` on stdin, in the caller's working
/// directory. For fatal kinds the first failure stops and is returned; for
/// poststart/poststop every failure is logged as a warning, the rest still run, and the
/// result is Ok.
pub fn run(kind: HookKind, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    run_hooks(kind, hooks, state_json, None)
}

/// [`run`] with `cwd` as each hook's working directory. runc runs prestart and
/// createRuntime hooks in the bundle directory (`create` changes into it) and
/// createContainer hooks in the container's rootfs (the init changes into it first);
/// hooks written for runc open files relative to those.
pub fn run_in(
    kind: HookKind,
    hooks: &[Hook],
    state_json: &[u8],
    cwd: &Path,
) -> Result<(), HookError> {
    run_hooks(kind, hooks, state_json, Some(cwd))
}

fn run_hooks(
    kind: HookKind,
    hooks: &[Hook],
    state_json: &[u8],
    cwd: Option<&Path>,
) -> Result<(), HookError> {
    for (index, hook) in hooks.iter().enumerate() {
        match run_one(kind, index, hook, state_json, cwd) {
            Ok(()) => {}
            Err(e) if kind.failure_is_fatal() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "hook failed; continuing as the runtime-spec requires")
            }
        }
    }
    Ok(())
}

fn run_one(
    kind: HookKind,
    index: usize,
    hook: &Hook,
    state_json: &[u8],
    cwd: Option<&Path>,
) -> Result<(), HookError> {
    let path = hook.path().clone();
    let io_err = |op: &'static str| {
        let path = path.clone();
        move |cause: std::io::Error| HookError::Io {
            kind,
            index,
            path: path.clone(),
            op,
            cause,
        }
    };
    if let Some(timeout) = hook.timeout()
        && timeout <= 0
    {
        return Err(HookError::Invalid {
            kind,
            index,
            path,
            problem: format!("timeout must be greater than zero, got {timeout}"),
        });
    }

    let mut stdin = memfile("berth-hook-stdin").map_err(io_err("creating stdin"))?;
    stdin
        .write_all(state_json)
        .and_then(|_| stdin.seek(SeekFrom::Start(0)).map(drop))
        .map_err(io_err("writing the state to stdin"))?;
    let stdout = memfile("berth-hook-stdout").map_err(io_err("creating stdout"))?;
    let stderr = memfile("berth-hook-stderr").map_err(io_err("creating stderr"))?;

    let mut cmd = Command::new(&path);
    let args = hook.args().as_deref().unwrap_or_default();
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((key, value)) = entry.split_once('=') {
            cmd.env(key, value);
        }
    }
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(
            stdout.try_clone().map_err(io_err("duplicating stdout"))?,
        ))
        .stderr(Stdio::from(
            stderr.try_clone().map_err(io_err("duplicating stderr"))?,
        ))
        // Own process group, so a timeout kills whatever the hook started too.
        .process_group(0);
    // A hook dies with the runtime command that runs it: a create killed mid-way (whose
    // container `delete --force` then removes) must not leave its prestart hook running
    // outside every cgroup berth knows of.
    let runtime_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only prctl and getppid,
    // which are async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The runtime may have died before the prctl: then no signal would come.
            if libc::getppid() != runtime_pid {
                libc::_exit(1);
            }
            Ok(())
        });
    }

    // ETXTBSY: a just-written hook can still be open for writing in a child another
    // thread of this process forked a moment ago; it clears once that child execs.
    let mut attempts = 0;
    let mut child = loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 20 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => break other.map_err(io_err("starting"))?,
        }
    };
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let finished = match hook.timeout() {
        None => true,
        Some(seconds) => wait_exit(&child, Duration::from_secs(seconds.unsigned_abs()))
            .map_err(|e| io_err("waiting")(e.into()))?,
    };
    if !finished {
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = child.wait();
        return Err(HookError::Timeout {
            kind,
            index,
            path,
            seconds: hook.timeout().unwrap_or_default(),
        });
    }
    let status = child.wait().map_err(io_err("waiting"))?;
    let out = read_tail(stdout, STDERR_TAIL);
    if !out.is_empty() {
        tracing::debug!(hook = %path.display(), %kind, stdout = %out, "hook output");
    }
    if status.success() {
        tracing::debug!(hook = %path.display(), %kind, "hook succeeded");
        return Ok(());
    }
    let err = read_tail(stderr, STDERR_TAIL);
    Err(HookError::Failed {
        kind,
        index,
        path,
        status,
        stderr: if err.is_empty() {
            String::new()
        } else {
            format!(", stderr: {}", err.trim_end())
        },
    })
}

/// Waits up to `limit` for `child` to exit, without reaping it. False on timeout.
fn wait_exit(child: &std::process::Child, limit: Duration) -> Result<bool, Errno> {
    let pidfd = crate::pidfd::open(child.id() as libc::pid_t)?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&pidfd),
            PollFlags::POLLIN,
        )];
        match poll(&mut fds, ms) {
            Ok(0) if left.is_zero() => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn memfile(name: &str) -> std::io::Result<std::fs::File> {
    let cname = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
    let fd = memfd_create(cname.as_c_str(), MFdFlags::MFD_CLOEXEC)?;
    Ok(std::fs::File::from(fd))
}

/// The last `max` bytes written to `file`, as text.
fn read_tail(mut file: std::fs::File, max: usize) -> String {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(max as u64);
    let mut buf = Vec::new();
    if file
        .seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut buf))
        .is_err()
    {
        return String::new();
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{HookBuilder, HooksBuilder};
    use std::time::Instant;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn hook(path: &Path, args: &[&str], env: &[&str], timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default().path(path);
        if !args.is_empty() {
            b = b.args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        if !env.is_empty() {
            b = b.env(env.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().expect("hook")
    }

    #[test]
    fn hook_gets_state_on_stdin_args_and_only_its_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("marker");
        let path = script(
            dir.path(),
            "hook.sh",
            r#"cat > "$1"; echo "$2 $MARK ${HOME:-nohome}" > "$1.args""#,
        );
        let marker_s = marker.to_string_lossy().to_string();
        let h = hook(
            &path,
            &["hook.sh", &marker_s, "second"],
            &["MARK=yes", "PATH=/usr/bin:/bin"],
            Some(5),
        );
        let state = br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","bundle":"/b"}"#;
        run(HookKind::CreateRuntime, &[h], state).expect("hook runs");
        assert_eq!(std::fs::read(&marker).expect("marker"), state);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("marker.args")).expect("args"),
            "second yes nohome\n"
        );
    }

    #[test]
    fn timeout_kills_the_hook_and_what_it_started() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let path = script(
            dir.path(),
            "slow.sh",
            &format!("sleep 30 & echo $$ $! > {}; wait", pids.display()),
        );
        let started = Instant::now();
        let err =
            run(HookKind::Prestart, &[hook(&path, &[], &[], Some(1))], b"{}").expect_err("timeout");
        assert!(matches!(err, HookError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("slow.sh"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = std::fs::read_to_string(&pids).expect("pids");
        for pid in text.split_whitespace() {
            let pid: i32 = pid.parse().expect("pid");
            // Give the kernel a moment to reap the orphaned sleep (reparented to init).
            let gone = (0..100).any(|_| {
                let alive = nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
                    && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|s| s.contains(") Z "));
                if alive {
                    std::thread::sleep(Duration::from_millis(20));
                }
                !alive
            });
            assert!(gone, "process {pid} survived the hook timeout");
        }
    }

    #[test]
    fn non_zero_exit_is_an_error_naming_the_hook() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = script(dir.path(), "fail.sh", "echo boom >&2; exit 3");
        let err = run(
            HookKind::CreateContainer,
            &[hook(&path, &[], &[], None)],
            b"{}",
        )
        .expect_err("failure");
        let text = err.to_string();
        assert!(
            text.starts_with("error running createContainer hook #0 ") && text.contains("fail.sh"),
            "{text}"
        );
        assert!(text.contains("boom") && text.contains('3'), "{text}");
    }

    #[test]
    fn every_way_a_hook_fails_says_error_running_its_kind_hook() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fail = script(dir.path(), "fail.sh", "exit 1");
        let slow = script(dir.path(), "slow.sh", "sleep 5");
        let missing = dir.path().join("missing.sh");
        for kind in HookKind::ALL.into_iter().filter(|k| k.failure_is_fatal()) {
            for (hook, what) in [
                (hook(&fail, &[], &[], None), "exit status"),
                (hook(&slow, &[], &[], Some(1)), "timed out"),
                (hook(&missing, &[], &[], None), "No such file"),
                (hook(&fail, &[], &[], Some(-1)), "timeout must be"),
            ] {
                let text = run(kind, &[hook], b"{}").expect_err(what).to_string();
                let want = format!("error running {kind} hook #0 ");
                assert!(text.starts_with(&want) && text.contains(what), "{text}");
            }
        }
        let text = validate(
            &HooksBuilder::default()
                .prestart(vec![hook(&missing, &[], &[], None)])
                .build()
                .expect("hooks"),
        )
        .expect_err("missing prestart hook")
        .to_string();
        assert!(
            text.starts_with("error running prestart hook #0 "),
            "{text}"
        );
    }

    #[test]
    fn run_in_runs_the_hook_in_the_given_directory_run_in_the_callers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        std::fs::create_dir(&work).expect("mkdir");
        let out = dir.path().join("pwd");
        let pwd = script(dir.path(), "pwd.sh", &format!("pwd > {}", out.display()));
        let hooks = [hook(&pwd, &[], &[], None)];
        run_in(HookKind::CreateContainer, &hooks, b"{}", &work).expect("hook runs");
        assert_eq!(
            std::fs::read_to_string(&out).expect("pwd").trim_end(),
            work.display().to_string()
        );
        run(HookKind::CreateRuntime, &hooks, b"{}").expect("hook runs");
        let here = std::env::current_dir().expect("cwd");
        assert_eq!(
            std::fs::read_to_string(&out).expect("pwd").trim_end(),
            here.display().to_string()
        );
    }

    #[test]
    fn fatal_kinds_stop_at_the_first_failure_poststop_continues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fail = script(dir.path(), "fail.sh", "exit 1");
        let marker = dir.path().join("ran");
        let touch = script(
            dir.path(),
            "touch.sh",
            &format!("echo x >> {}", marker.display()),
        );
        let hooks = [hook(&fail, &[], &[], None), hook(&touch, &[], &[], None)];
        assert!(run(HookKind::StartContainer, &hooks, b"{}").is_err());
        assert!(
            !marker.exists(),
            "a hook after a failed startContainer hook ran"
        );
        run(HookKind::Poststop, &hooks, b"{}").expect("poststop failures only warn");
        assert!(
            marker.exists(),
            "the hook after a failed poststop hook did not run"
        );
    }

    #[test]
    fn hook_that_ignores_a_large_stdin_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = script(dir.path(), "ignore.sh", "exit 0");
        let big = vec![b'x'; 1 << 20];
        run(HookKind::Poststart, &[hook(&path, &[], &[], Some(5))], &big).expect("runs");
    }

    #[test]
    fn validate_refuses_missing_relative_and_non_executable_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::write(&data, "not a program").expect("write");
        let good = script(dir.path(), "ok.sh", "exit 0");
        let cases: [(Hooks, &str); 4] = [
            (
                HooksBuilder::default()
                    .create_runtime(vec![hook(Path::new("/nonexistent/hook"), &[], &[], None)])
                    .build()
                    .expect("hooks"),
                "cannot be used",
            ),
            (
                HooksBuilder::default()
                    .create_runtime(vec![hook(&data, &[], &[], None)])
                    .build()
                    .expect("hooks"),
                "not executable",
            ),
            (
                HooksBuilder::default()
                    .create_runtime(vec![hook(Path::new("relative/hook"), &[], &[], None)])
                    .build()
                    .expect("hooks"),
                "absolute",
            ),
            (
                HooksBuilder::default()
                    .create_runtime(vec![hook(&good, &[], &[], Some(0))])
                    .build()
                    .expect("hooks"),
                "timeout",
            ),
        ];
        for (hooks, needle) in cases {
            let err = validate(&hooks).expect_err(needle);
            assert!(err.to_string().contains(needle), "{err}");
        }
        // What runc 1.1.5 runs: a failing poststart/poststop hook only warns, and an env
        // entry without '=' is no reason to refuse.
        let best_effort = HooksBuilder::default()
            .poststart(vec![hook(&data, &[], &[], None)])
            .poststop(vec![
                hook(Path::new("relative/hook"), &[], &[], None),
                hook(Path::new("/nonexistent/hook"), &[], &[], Some(0)),
            ])
            .create_runtime(vec![hook(&good, &[], &["NOEQUALS"], None)])
            .build()
            .expect("hooks");
        validate(&best_effort).expect("best-effort hooks accepted");
        // Container-side paths: only their form can be checked from here.
        let container_side = HooksBuilder::default()
            .start_container(vec![hook(Path::new("/only/in/container"), &[], &[], None)])
            .create_container(vec![hook(&good, &[], &[], Some(3))])
            .create_runtime(vec![hook(&good, &[], &["A=b"], Some(2))])
            .build()
            .expect("hooks");
        validate(&container_side).expect("valid hooks");
        // createContainer paths resolve in the runtime namespace: checked like the others.
        let missing_create_container = HooksBuilder::default()
            .create_container(vec![hook(Path::new("/nonexistent/hook"), &[], &[], None)])
            .build()
            .expect("hooks");
        assert!(validate(&missing_create_container).is_err());
        let relative_in_container = HooksBuilder::default()
            .start_container(vec![hook(Path::new("bin/true"), &[], &[], None)])
            .build()
            .expect("hooks");
        assert!(validate(&relative_in_container).is_err());
    }
}
