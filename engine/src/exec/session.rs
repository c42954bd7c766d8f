//! A started exec: the runtime's `exec` process and the exec'd process's stdio, pumped
//! to the caller until it ends.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ExecRecord, exec_dir, pid_file, record_exit};
use crate::container::record::ContainerRecord;
use crate::error::{EngineError, Result, io_err, sys_err};
use crate::monitor::attach::{self, Resize};
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;
use crate::terminal::{self, ConsoleSocket};

/// The pty masters of the execs this process started, by exec id, for [`resize`] (the
/// Docker API's resize arrives on another connection of the same server).
static PTYS: Mutex<BTreeMap<String, File>> = Mutex::new(BTreeMap::new());

/// How long output is still drained after the runtime's exec returned (a background
/// child of the exec'd process may hold its stdout open for ever).
const DRAIN: Duration = Duration::from_millis(200);

/// How much of the stderr pipe (the runtime's and then the process's) is kept to
/// classify a runtime failure (126/127).
const ERROR_TAIL: usize = 4096;

/// A started exec. Pump it with [`ExecProcess::run_framed`] or
/// [`ExecProcess::run_plain`]; both wait for it, record and return its exit code.
pub struct ExecProcess {
    paths: StorePaths,
    exec_id: String,
    container_id: String,
    /// The runtime's `exec` (it exits with the process's code); None when detached.
    child: Option<Child>,
    /// Whether the output is a pty's raw bytes (else stdout and stderr apart).
    pub tty: bool,
    stdin: Option<File>,
    stdout: Option<File>,
    stderr: Option<File>,
}

/// Sets the window size of exec `exec_id`'s pty. Only the process that started the
/// exec holds the pty: elsewhere (and for an exec without a tty) it is an error.
pub fn resize(exec_id: &str, size: Resize) -> Result<()> {
    let ptys = PTYS
        .lock()
        .map_err(|_| EngineError::Conflict("the exec pty table is poisoned".into()))?;
    let pty = ptys.get(exec_id).ok_or_else(|| {
        EngineError::Conflict(format!(
            "exec {exec_id} has no tty here (not started with a tty by this process, or ended)"
        ))
    })?;
    terminal::set_window_size(pty.as_fd(), size)
        .map_err(io_err("resizing the tty of exec", exec_id))
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys_err("making", "an exec pipe"))
}

/// Starts the runtime's exec of `record` with process file `process_file`.
pub(super) fn spawn(
    paths: &StorePaths,
    container: &ContainerRecord,
    record: ExecRecord,
    process_file: &Path,
    detach: bool,
) -> Result<ExecProcess> {
    let runtime = OciRuntime::for_container(paths, container);
    let pid_path = pid_file(paths, &record.id);
    let _ = std::fs::remove_file(&pid_path);
    let mut cmd = runtime.command();
    cmd.arg("exec").arg("--pid-file").arg(&pid_path);
    let tty = record.config.tty && !detach;
    let console = if tty {
        let path = exec_dir(paths).join(format!("{}.console", &record.id[..12]));
        let c = ConsoleSocket::bind(&path).map_err(io_err("listening on", &path))?;
        cmd.arg("--tty").arg("--console-socket").arg(c.path());
        Some(c)
    } else {
        None
    };
    // A tty exec detaches too (runc takes a console socket only then), under the shim.
    if detach || tty {
        cmd.arg("--detach");
    }
    cmd.arg("--process").arg(process_file).arg(&container.id);
    if tty {
        let mut shim = Command::new("/proc/self/exe");
        shim.arg(super::shim::SHIM_SUBCOMMAND)
            .arg("--pid-file")
            .arg(&pid_path)
            .arg("--")
            .arg(cmd.get_program())
            .args(cmd.get_args());
        cmd = shim;
    }
    let runtime_err = |message: String| EngineError::Runtime {
        verb: "exec",
        id: container.id.clone(),
        runtime: runtime.bin.display().to_string(),
        message,
    };
    if detach {
        // The detached process inherits the runtime's stdio: its stderr is an unlinked
        // file (not a pipe, which would keep us waiting for the process, or kill it with
        // SIGPIPE once we closed it), read back for the runtime's error.
        let mut errors = tempfile::tempfile_in(exec_dir(paths)).map_err(io_err(
            "creating a file for the runtime's errors in",
            exec_dir(paths),
        ))?;
        let theirs = errors
            .try_clone()
            .map_err(io_err("duplicating", "the runtime's error file"))?;
        let status = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(theirs))
            .status()
            .map_err(|e| runtime_err(format!("starting the runtime: {e}")))?;
        if !status.success() {
            use std::io::Seek;
            let mut text = String::new();
            let _ = errors.seek(std::io::SeekFrom::Start(0));
            let _ = errors.read_to_string(&mut text);
            return Err(runtime_err(text.trim().to_string()));
        }
        record_start_time(&pid_path);
        return Ok(ExecProcess {
            paths: paths.clone(),
            exec_id: record.id,
            container_id: container.id.clone(),
            child: None,
            tty: false,
            stdin: None,
            stdout: None,
            stderr: None,
        });
    }
    let (err_r, err_w) = pipe()?;
    let (stdin, stdout) = if tty {
        (None, None)
    } else {
        let (out_r, out_w) = pipe()?;
        let stdin = if record.config.attach_stdin {
            let (r, w) = pipe()?;
            cmd.stdin(Stdio::from(r));
            Some(File::from(w))
        } else {
            cmd.stdin(Stdio::null());
            None
        };
        cmd.stdout(Stdio::from(out_w));
        (stdin, Some(File::from(out_r)))
    };
    if tty {
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
    }
    cmd.stderr(Stdio::from(err_w));
    let mut child = cmd
        .spawn()
        .map_err(|e| runtime_err(format!("starting the runtime: {e}")))?;
    // Our copies of the child's ends go with `cmd`: the pipes end with the process.
    drop(cmd);
    let (stdin, stdout) = match console {
        Some(c) => {
            let mut exited = false;
            match c.receive_master(Duration::from_secs(10), || {
                exited = exited || child.try_wait().ok().flatten().is_some();
                !exited
            }) {
                Ok(master) => {
                    let master = File::from(master);
                    let dup = |f: &File| f.try_clone().map_err(io_err("duplicating", "the pty"));
                    if let Ok(mut ptys) = PTYS.lock() {
                        ptys.insert(record.id.clone(), dup(&master)?);
                    }
                    let input = if record.config.attach_stdin {
                        Some(dup(&master)?)
                    } else {
                        None
                    };
                    (input, Some(master))
                }
                // No pty came: the runtime failed before the process ran; its error is
                // on the stderr pipe and its status tells the code.
                Err(e) => {
                    tracing::debug!("exec {}: no pty: {e}", record.id);
                    (None, None)
                }
            }
        }
        None => (stdin, stdout),
    };
    Ok(ExecProcess {
        paths: paths.clone(),
        exec_id: record.id,
        container_id: container.id.clone(),
        child: Some(child),
        tty,
        stdin,
        stdout,
        stderr: Some(File::from(err_r)),
    })
}

/// Writes `<pid file>.start` with the process's start time, so that a reused pid is not
/// taken for the exec's.
fn record_start_time(pid_path: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_path)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return;
    };
    if let Some(t) = crate::container::exit::process_start_time(pid) {
        let _ = std::fs::write(pid_path.with_extension("start"), t.to_string());
    }
}

impl ExecProcess {
    /// The exec's id.
    pub fn id(&self) -> &str {
        &self.exec_id
    }

    /// The container's id.
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// Pumps the exec for the Docker API: `input` (when the exec attached stdin) to the
    /// process, its output to `output` in docker's framing (8-byte headers, stream 1 or
    /// 2) or, with a tty, raw. Returns the exit code once the process ended.
    pub fn run_framed<R, W>(self, input: Option<R>, mut output: W) -> Result<i32>
    where
        R: Read + Send + 'static,
        W: Write,
    {
        let tty = self.tty;
        self.run(input, |stream, data| {
            if !tty {
                output.write_all(&attach::frame_header(stream, data.len()))?;
            }
            output.write_all(data)?;
            output.flush()
        })
    }

    /// Pumps the exec for a terminal user: `input` to the process, its stdout to
    /// `stdout` and stderr to `stderr` (with a tty everything is stdout). Returns the
    /// exit code once the process ended.
    pub fn run_plain<R: Read + Send + 'static>(
        self,
        input: Option<R>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<i32> {
        self.run(input, |stream, data| {
            let out: &mut dyn Write = if stream == attach::STDERR {
                &mut *stderr
            } else {
                &mut *stdout
            };
            out.write_all(data)?;
            out.flush()
        })
    }

    /// The pump: readers of stdout and stderr feed `sink` on this thread; a writer
    /// thread copies `input` to the process; ends when the runtime's exec exited and the
    /// output is drained. A `sink` that fails (the client went away) stops the copying,
    /// not the process.
    fn run<R: Read + Send + 'static>(
        mut self,
        input: Option<R>,
        mut sink: impl FnMut(u8, &[u8]) -> std::io::Result<()>,
    ) -> Result<i32> {
        let Some(mut child) = self.child.take() else {
            // Detached: nobody waits; the code stays unknown.
            return Ok(0);
        };
        if let (Some(mut input), Some(mut to)) = (input, self.stdin.take()) {
            let tty = self.tty;
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut input, &mut to);
                // Without a tty the end of input is the process's EOF; with one, the pty
                // stays (ctrl-d is typed, not an end of the connection).
                if !tty {
                    drop(to);
                }
            });
        }
        let (tx, rx) = mpsc::channel::<(u8, Vec<u8>)>();
        let tail = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for (stream, src) in [
            (attach::STDOUT, self.stdout.take()),
            (attach::STDERR, self.stderr.take()),
        ] {
            let Some(mut src) = src else { continue };
            let tx = tx.clone();
            let tail = Arc::clone(&tail);
            readers.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = match src.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if stream == attach::STDERR
                        && let Ok(mut t) = tail.lock()
                    {
                        t.extend_from_slice(&buf[..n]);
                        let excess = t.len().saturating_sub(ERROR_TAIL);
                        t.drain(..excess);
                    }
                    if tx.send((stream, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(tx);
        let mut sink_ok = true;
        let mut status = None;
        loop {
            let wait = if status.is_some() {
                DRAIN
            } else {
                Duration::from_millis(50)
            };
            match rx.recv_timeout(wait) {
                Ok((stream, data)) => {
                    if sink_ok && sink(stream, &data).is_err() {
                        sink_ok = false;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if status.is_some() => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if status.is_none() {
                status = child
                    .try_wait()
                    .map_err(io_err("waiting for the runtime's exec of", &self.exec_id))?;
            }
        }
        let status = match status {
            Some(s) => s,
            None => child
                .wait()
                .map_err(io_err("waiting for the runtime's exec of", &self.exec_id))?,
        };
        if let Ok(mut ptys) = PTYS.lock() {
            ptys.remove(&self.exec_id);
        }
        let mut code = exit_code(status);
        // 255 is the runtime's failure only when it failed before the process started
        // (the runtime writes the pid file once the process has exec'd): then docker's
        // 126/127 when its words say so. A process that itself exits 255 keeps it, whatever
        // it printed (its stderr is in the same tail).
        if code == 255 && !pid_file(&self.paths, &self.exec_id).exists() {
            let text = tail
                .lock()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let classified = EngineError::Runtime {
                verb: "exec",
                id: self.container_id.clone(),
                runtime: String::new(),
                message: text,
            }
            .exit_code();
            if classified == 126 || classified == 127 {
                code = i32::from(classified);
            }
        }
        record_exit(&self.paths, &self.exec_id, code)?;
        Ok(code)
    }
}

impl Drop for ExecProcess {
    /// An exec dropped without being pumped (a caller's error path) still has its
    /// runtime process reaped, by a thread, so none is left a zombie; its pty goes.
    fn drop(&mut self) {
        if let Ok(mut ptys) = PTYS.lock() {
            ptys.remove(&self.exec_id);
        }
        if let Some(mut child) = self.child.take() {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
