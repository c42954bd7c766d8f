//! The monitor: one process per running container, podman's conmon in Rust, run as the
//! hidden subcommand `berth __monitor <id>` ([`MONITOR_SUBCOMMAND`]).
//!
//! [`spawn`] starts it detached from its caller (the CLI or `berth serve`): setsid in the
//! spawned process, which forks again and exits at once, so the monitor is nobody's
//! child and a killed caller cannot take it along. The monitor then
//! 1. becomes a child subreaper (the container's init, orphaned when the runtime's
//!    `create` exits, becomes its child) and lowers its oom_score_adj (the spec sets the
//!    container's back to 0);
//! 2. records itself in `monitor.json` (pid, start time, boot id);
//! 3. [`prepare`]s: overlay rootfs, network, /etc files, config.json;
//! 4. runs `<runtime> --root <runtime_root> create --bundle .. --pid-file .. <id>` with
//!    pipes as the container's stdio (stdin a pipe only with `-i`), serves
//!    [`attach`]'s socket, and writes stdout/stderr to the json-file [`logfile`];
//! 5. runs `start`, records `start.json`, gives back the memory it needed only to get
//!    this far ([`memory`]), waits for the init (it is our child);
//! 6. reads the cgroup's OOM kill counter ([`oom`]), drains the output, [`teardown`]s
//!    (runtime delete, network detach, rootfs unmount) and writes `exit.json` by rename
//!    (exit code, 128+signal when killed, oom_killed, times); with `--rm` it removes the
//!    container.
//!
//! The caller follows along on a pipe ([`MonitorHandle`]): lines `created`, `started
//! <pid>`, `exited <code>`, or `error <message>`; the pipe's end (EOF) comes after the
//! monitor finished everything, `--rm` included.

pub mod attach;
pub mod logfile;
pub mod memory;
pub mod oom;
pub mod prepare;
pub mod teardown;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_state::Timestamp;

use crate::atomic_file;
use crate::container::exit::{ExitRecord, MonitorRecord, StartRecord, boot_id};
use crate::container::record::ContainerRecord;
use crate::container::store::{self, ContainerFiles};
use crate::error::{EngineError, Result, io_err, sys_err};
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;
use attach::AttachHub;
use logfile::{LineSplitter, LogWriter};

/// The hidden `berth` subcommand that runs a monitor.
pub const MONITOR_SUBCOMMAND: &str = "__monitor";

/// How long a monitor told to wait for an attach client waits before starting anyway.
pub const ATTACH_WAIT: Duration = Duration::from_secs(30);

/// The monitor's oom_score_adj: the OOM killer takes anything before the process that
/// records a container's exit.
const MONITOR_OOM_SCORE_ADJ: &str = "-999";

/// What the monitor reports to the process that spawned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The runtime created the container; the attach socket is up.
    Created,
    /// The container's process runs, as host pid `pid`.
    Started { pid: u32 },
    /// It ended with `code`.
    Exited { code: i32 },
    /// Starting failed; the container is back in its created state.
    Failed(String),
}

/// The spawner's end of the monitor's report pipe.
#[derive(Debug)]
pub struct MonitorHandle {
    id: String,
    reader: BufReader<File>,
}

impl MonitorHandle {
    /// The next event; None once the monitor finished (or died).
    pub fn next_event(&mut self) -> Result<Option<MonitorEvent>> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(io_err(
            "reading the monitor's report of",
            format!("container {}", self.id),
        ))?;
        if n == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        Ok(Some(match word {
            "created" => MonitorEvent::Created,
            "started" => MonitorEvent::Started {
                pid: rest.parse().unwrap_or(0),
            },
            "exited" => MonitorEvent::Exited {
                code: rest.parse().unwrap_or(255),
            },
            _ => MonitorEvent::Failed(rest.to_string()),
        }))
    }

    /// Waits for `Created` (a failure is the error).
    pub fn wait_created(&mut self) -> Result<()> {
        match self.next_event()? {
            Some(MonitorEvent::Created) => Ok(()),
            other => Err(self.unexpected(other)),
        }
    }

    /// Waits for `Started`; returns the pid.
    pub fn wait_started(&mut self) -> Result<u32> {
        loop {
            match self.next_event()? {
                Some(MonitorEvent::Created) => continue,
                Some(MonitorEvent::Started { pid }) => return Ok(pid),
                other => return Err(self.unexpected(other)),
            }
        }
    }

    /// Waits for the exit code, then for the monitor to finish (teardown, `--rm`).
    pub fn wait_exited(&mut self) -> Result<i32> {
        let mut code = None;
        while let Some(ev) = self.next_event()? {
            match ev {
                MonitorEvent::Exited { code: c } => code = Some(c),
                MonitorEvent::Failed(m) => return Err(EngineError::Monitor(m)),
                _ => {}
            }
        }
        code.ok_or_else(|| {
            EngineError::Monitor(format!(
                "the monitor of container {} ended without reporting an exit code",
                self.id
            ))
        })
    }

    fn unexpected(&self, ev: Option<MonitorEvent>) -> EngineError {
        match ev {
            Some(MonitorEvent::Failed(m)) => EngineError::Monitor(m),
            Some(other) => EngineError::Monitor(format!(
                "container {}: unexpected monitor report {other:?}",
                self.id
            )),
            None => EngineError::Monitor(format!(
                "the monitor of container {} ended before the container started (see {})",
                self.id, "monitor.log in its directory"
            )),
        }
    }
}

/// Starts a monitor for container `id`; returns once it is detached (its report pipe
/// open). `wait_attach`: the monitor waits (up to [`ATTACH_WAIT`]) for an attach client
/// between `create` and `start`, so that the client sees all output.
pub fn spawn(paths: &StorePaths, id: &str, wait_attach: bool) -> Result<MonitorHandle> {
    let files = ContainerFiles::new(paths, id);
    // The running binary itself, by its inode: a `berth` replaced on disk meanwhile (an
    // upgrade, a rebuild) still starts the monitor this caller speaks with.
    let exe = std::path::PathBuf::from("/proc/self/exe");
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(sys_err("making the report pipe for the monitor of", id))?;
    let log_path = files.monitor_log();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_err("opening", &log_path))?;
    let mut cmd = Command::new(exe);
    cmd.arg0("berth");
    cmd.arg("--root")
        .arg(&paths.root)
        .arg("--runroot")
        .arg(&paths.runroot)
        .arg("--runtime-root")
        .arg(&paths.runtime_root)
        .arg("--runtime")
        .arg(&paths.runtime)
        .arg(MONITOR_SUBCOMMAND)
        .arg(id)
        .arg("--ready-fd")
        .arg("3");
    if wait_attach {
        cmd.arg("--wait-attach");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    let wfd = write.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setsid, dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if wfd == 3 {
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(io_err("starting the monitor of container", id))?;
    drop(write);
    // The spawned process forks the monitor and exits at once.
    child.wait().map_err(io_err(
        "waiting for the monitor's launcher of container",
        id,
    ))?;
    Ok(MonitorHandle {
        id: id.to_string(),
        reader: BufReader::new(File::from(read)),
    })
}

/// The report pipe, from the monitor's side; a spawner that went away is ignored.
struct Reporter(Option<File>);

impl Reporter {
    fn send(&mut self, line: &str) {
        if let Some(f) = self.0.as_mut() {
            let one_line = line.replace('\n', " ");
            if f.write_all(format!("{one_line}\n").as_bytes()).is_err() {
                self.0 = None;
            }
        }
    }
}

/// The monitor's main (the `__monitor` subcommand): forks once more (the parent exits
/// so the spawner can reap it), then watches container `id` to its end. Returns the
/// process exit status.
pub fn run(paths: &StorePaths, id: &str, ready_fd: RawFd, wait_attach: bool) -> u8 {
    // SAFETY: called first thing from main, single-threaded: fork is safe here.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("berth monitor {id}: fork: {e}");
            return 1;
        }
    }
    // SAFETY: the fd was handed to us by spawn() as our report pipe; we own it.
    let ready = unsafe { File::from_raw_fd(ready_fd) };
    let mut reporter = Reporter(Some(ready));
    // The container is the monitor's, not the caller's shell's: signals that shell
    // ignored (a script's background job ignores SIGINT and SIGQUIT) would stay ignored
    // through the runtime into the container, where a shell then cannot trap them and
    // `berth kill -s INT` does nothing. docker's containers, started by a daemon, start
    // with every disposition at its default; so do berth's.
    reset_inherited_ignores();
    // SAFETY: setting SIGPIPE to ignored: writes to a gone client return EPIPE instead.
    // (std's Command puts it back to the default in the runtime it spawns.)
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        reporter.send(&format!("error becoming a child subreaper: {e}"));
        return 1;
    }
    if let Err(e) = std::fs::write("/proc/self/oom_score_adj", MONITOR_OOM_SCORE_ADJ) {
        tracing::warn!("lowering the monitor's oom_score_adj: {e}");
    }
    match watch(paths, id, &mut reporter, wait_attach) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("berth monitor {id}: {e}");
            reporter.send(&format!("error {e}"));
            1
        }
    }
}

/// Undoes a failed start: the container is back to "created" (no monitor record).
fn abandon(paths: &StorePaths, record: &ContainerRecord, files: &ContainerFiles) {
    if let Err(e) = teardown::teardown(paths, record) {
        eprintln!(
            "berth monitor {}: cleaning up a failed start: {e}",
            record.id
        );
    }
    let _ = std::fs::remove_file(files.attach_socket());
    let _ = std::fs::remove_file(files.monitor());
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys_err("making", "a stdio pipe"))
}

fn watch(paths: &StorePaths, id: &str, reporter: &mut Reporter, wait_attach: bool) -> Result<()> {
    let files = ContainerFiles::new(paths, id);
    std::fs::create_dir_all(&files.run_dir).map_err(io_err("creating", &files.run_dir))?;
    let mut record = store::load(paths, id)?;
    atomic_file::write_json(&files.monitor(), &MonitorRecord::current()?)?;
    if let Err(e) = prepare::prepare(paths, &mut record) {
        abandon(paths, &record, &files);
        return Err(e);
    }
    let runtime = OciRuntime::for_container(paths, &record);
    match create(&runtime, &record, &files) {
        Ok(c) => run_created(paths, &record, &files, &runtime, c, reporter, wait_attach),
        Err(e) => {
            abandon(paths, &record, &files);
            Err(e)
        }
    }
}

/// The container as `create` left it: its init pid and our ends of its stdio.
struct Created {
    pid: u32,
    stdout: OwnedFd,
    stderr: OwnedFd,
    stdin: Option<OwnedFd>,
    /// `-t`: the pty master from the runtime's console socket (`stdout` is a dup of it).
    pty: Option<OwnedFd>,
}

fn create(
    runtime: &OciRuntime,
    record: &ContainerRecord,
    files: &ContainerFiles,
) -> Result<Created> {
    // A runtime container left by a monitor killed earlier would make `create` fail.
    // runc, crun and berth-runtime keep a directory per container under their root:
    // without one there is nothing to delete, and a runtime call (~5 ms) is saved.
    if runtime.root.join(&record.id).exists() {
        runtime.delete(&record.id, true)?;
    }
    let pid_file = files.run_dir.join("init.pid");
    let _ = std::fs::remove_file(&pid_file);
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // `-t`: the runtime makes the pty in the container and sends us its master.
    let console = if record.process.tty {
        let path = files.run_dir.join("console.sock");
        Some(crate::terminal::ConsoleSocket::bind(&path).map_err(io_err("listening on", &path))?)
    } else {
        None
    };
    let (stdin_child, stdin_keep): (Stdio, Option<OwnedFd>) = if console.is_some() {
        (Stdio::null(), None)
    } else if record.process.open_stdin {
        let (r, w) = pipe()?;
        (Stdio::from(r), Some(w))
    } else {
        (Stdio::null(), None)
    };
    let status = {
        // The command (and with it our copies of the write ends) is dropped right after
        // it ran, so the pipes end when the container's processes are gone.
        let mut cmd = runtime.command();
        cmd.arg("create");
        if let Some(c) = &console {
            cmd.arg("--console-socket").arg(c.path());
        }
        cmd.arg("--bundle")
            .arg(files.bundle())
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(&record.id)
            .stdin(stdin_child)
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w));
        cmd.status()
    };
    let runtime_err = |message: String| EngineError::Runtime {
        verb: "create",
        id: record.id.clone(),
        runtime: runtime.bin.display().to_string(),
        message,
    };
    let status = status.map_err(|e| runtime_err(format!("starting the runtime: {e}")))?;
    if !status.success() {
        // What the runtime printed went to the container's stderr pipe.
        let mut text = String::new();
        let _ = File::from(err_r).read_to_string(&mut text);
        return Err(runtime_err(text.trim().to_string()));
    }
    let pid = std::fs::read_to_string(&pid_file)
        .map_err(io_err("reading", &pid_file))?
        .trim()
        .parse()
        .map_err(|e| runtime_err(format!("bad pid file {}: {e}", pid_file.display())))?;
    let (stdout, pty) = match &console {
        Some(c) => {
            let master = c
                .receive_master(Duration::from_secs(10), || true)
                .map_err(|e| runtime_err(format!("receiving the pty: {e}")))?;
            let reader = master
                .try_clone()
                .map_err(io_err("duplicating", "the pty master"))?;
            (reader, Some(master))
        }
        None => (out_r, None),
    };
    Ok(Created {
        pid,
        stdout,
        stderr: err_r,
        stdin: stdin_keep,
        pty,
    })
}

/// Copies one output stream to the log and to attached clients until it ends.
fn pump(
    src: OwnedFd,
    stream: u8,
    log: Arc<Mutex<LogWriter>>,
    hub: Arc<AttachHub>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let name = if stream == attach::STDERR {
            "stderr"
        } else {
            "stdout"
        };
        let mut src = File::from(src);
        let mut lines = LineSplitter::default();
        let mut buf = vec![0u8; 32 * 1024];
        let mut write_log = |line: &[u8]| {
            if let Ok(mut log) = log.lock()
                && let Err(e) = log.write_entry(name, line)
            {
                eprintln!("berth monitor: writing the log: {e}");
            }
        };
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            lines.feed(&buf[..n], &mut write_log);
            hub.broadcast(stream, &buf[..n]);
        }
        lines.finish(&mut write_log);
    })
}

fn run_created(
    paths: &StorePaths,
    record: &ContainerRecord,
    files: &ContainerFiles,
    runtime: &OciRuntime,
    created: Created,
    reporter: &mut Reporter,
    wait_attach: bool,
) -> Result<()> {
    let fail = |e: EngineError| {
        abandon(paths, record, files);
        e
    };
    let log = LogWriter::open(
        &files.log(),
        record.host.log_max_size,
        record.host.log_max_files,
    )
    .map_err(io_err("opening", files.log()))
    .map_err(fail)?;
    let log = Arc::new(Mutex::new(log));
    let hub = match created.pty {
        Some(master) => AttachHub::with_pty(File::from(master))
            .map_err(io_err("duplicating", "the pty master"))
            .map_err(fail)?,
        None => AttachHub::new(created.stdin.map(File::from), false),
    };
    let sock = files.attach_socket();
    let _ = std::fs::remove_file(&sock);
    let listener = attach::bind(&sock)
        .map_err(io_err("listening on", &sock))
        .map_err(fail)?;
    hub.serve(listener);
    let pumps = [
        pump(
            created.stdout,
            attach::STDOUT,
            Arc::clone(&log),
            Arc::clone(&hub),
        ),
        pump(
            created.stderr,
            attach::STDERR,
            Arc::clone(&log),
            Arc::clone(&hub),
        ),
    ];
    reporter.send("created");
    if wait_attach && !hub.wait_attached(ATTACH_WAIT) {
        eprintln!(
            "berth monitor {}: no attach client within {ATTACH_WAIT:?}; starting anyway",
            record.id
        );
    }
    let out = runtime
        .command()
        .arg("start")
        .arg(&record.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let started = match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Err(format!("starting the runtime: {e}")),
    };
    if let Err(message) = started {
        let _ = runtime.kill(&record.id, "KILL");
        let _ = wait_for(created.pid);
        hub.close_all();
        return Err(fail(EngineError::Runtime {
            verb: "start",
            id: record.id.clone(),
            runtime: runtime.bin.display().to_string(),
            message,
        }));
    }
    let started_at = Timestamp::now();
    atomic_file::write_json(
        &files.start(),
        &StartRecord {
            started_at,
            pid: created.pid,
            boot_id: boot_id()?,
        },
    )?;
    reporter.send(&format!("started {}", created.pid));
    memory::shed_startup_pages();

    let exit_code = wait_for(created.pid);
    let oom_killed = oom::oom_killed(&crate::ocispec::cgroups_path(&record.id));
    for p in pumps {
        let _ = p.join();
    }
    hub.close_all();
    let _ = std::fs::remove_file(&sock);
    let teardown_error = teardown::teardown(paths, record).err();
    let exit = ExitRecord {
        exit_code,
        oom_killed,
        started_at: Some(started_at),
        finished_at: Timestamp::now(),
        error: teardown_error.map(|e| e.to_string()).unwrap_or_default(),
    };
    atomic_file::write_json(&files.exit(), &exit)?;
    reporter.send(&format!("exited {exit_code}"));
    if record.host.auto_remove {
        crate::ops::remove::remove_files(paths, record, true)?;
    }
    Ok(())
}

/// Reaps children until `pid` exits; its exit code (128 + signal when killed). Other
/// children (orphans we are subreaper of) are reaped on the way.
fn wait_for(pid: u32) -> i32 {
    use nix::sys::wait::{WaitStatus, waitpid};
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() as u32 == pid => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() as u32 == pid => {
                return 128 + sig as i32;
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => {
                // Not our child (a runtime that kept it): poll until it is gone.
                while crate::container::exit::process_start_time(pid).is_some() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                return crate::container::status::LOST_EXIT_CODE;
            }
        }
    }
}

/// Sets every classic signal the monitor was started with ignored back to its default
/// action (SIGKILL and SIGSTOP cannot be ignored; SIGPIPE is set just after).
fn reset_inherited_ignores() {
    for sig in 1..32 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: reading a signal's disposition (null new action) in this
        // single-threaded process, then resetting an ignored one to the default.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}
