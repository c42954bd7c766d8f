//! `berth attach [--no-stdin] [--sig-proxy] CONTAINER`, and the attached session that
//! `run` (in the foreground), `start -a` and `attach` share: the container's output on
//! ours, our stdin to it, and with a tty our terminal raw (restored on every way out),
//! its size sent on each SIGWINCH, and ctrl-p ctrl-q to detach (docker's keys).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_engine::StorePaths;
use berth_engine::container::store::{self, ContainerFiles};
use berth_engine::monitor::attach::{self, AttachRequest};
use berth_engine::ops;
use berth_engine::terminal::{self, DetachScanner, RawMode};
use clap::Args;
use nix::sys::signal::{SigSet, Signal};

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Do not attach stdin.
    #[arg(long)]
    pub no_stdin: bool,
    /// Forward the signals berth receives to the container (not with a tty and stdin:
    /// there ctrl-c reaches it through the terminal).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// The keys that detach (docker's format: `ctrl-p,ctrl-q`, `a,ctrl-@`).
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    pub container: String,
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The container's output ended (it exited).
    Ended,
    /// The user typed the detach keys; the container runs on.
    Detached,
}

pub fn run(paths: &StorePaths, args: &AttachArgs) -> anyhow::Result<ExitCode> {
    let keys = terminal::parse_detach_keys(&args.detach_keys).map_err(anyhow::Error::msg)?;
    to_running(
        paths,
        &args.container,
        !args.no_stdin,
        args.sig_proxy,
        &keys,
    )
}

/// Attaches to the running `container` until its output ends (then its exit code) or
/// the user detaches (0): `attach`, and `start -a` of a running container as docker's.
/// `stdin`: forward ours when the container was created with `-i`.
pub fn to_running(
    paths: &StorePaths,
    container: &str,
    stdin: bool,
    sig_proxy: bool,
    keys: &[u8],
) -> anyhow::Result<ExitCode> {
    let id = store::resolve(paths, container)?;
    let record = store::load(paths, &id)?;
    let state = berth_engine::container::status::derive(paths, &record)?;
    if !state.is_running() {
        anyhow::bail!("you cannot attach to a stopped container {id}: start it first");
    }
    let stdin = stdin && record.process.open_stdin;
    let socket = ContainerFiles::new(paths, &id).attach_socket();
    let tty = record.process.tty;
    if tty {
        send_size(&socket);
    }
    let (conn, tty) = connect(&socket, &id, stdin)?;
    if sig_proxy && !(tty && stdin) {
        forward_signals(paths, &id)?;
    }
    if session(&socket, conn, tty, stdin, keys)? == SessionEnd::Detached {
        return Ok(ExitCode::SUCCESS);
    }
    let code = ops::wait::wait(paths, &id)?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Connects to container `id`'s monitor for output (and stdin): the stream and its tty flag.
pub fn connect(socket: &Path, id: &str, stdin: bool) -> anyhow::Result<(UnixStream, bool)> {
    let request = AttachRequest {
        stdin,
        stdout: true,
        stderr: true,
        resize: None,
    };
    attach::connect(socket, &request)
        .map_err(|e| anyhow::anyhow!("attaching to container {id} at {}: {e}", socket.display()))
}

/// Sends our terminal's size (when stdin is one) to the container's tty.
pub fn send_size(socket: &Path) {
    if let Some(size) = terminal::window_size(std::io::stdin().as_fd())
        && let Err(e) = attach::resize(socket, size)
    {
        tracing::debug!("resizing the container's tty: {e}");
    }
}

/// Runs an attached session on `conn` until the container's output ends or the user
/// detaches. With `tty` and a terminal on stdin, the terminal is raw for the session
/// and restored before this returns (also on error or panic).
pub fn session(
    socket: &Path,
    mut conn: UnixStream,
    tty: bool,
    stdin: bool,
    detach_keys: &[u8],
) -> anyhow::Result<SessionEnd> {
    // Raw only when our keys go to the container: with `-t` alone, ctrl-c must still
    // make SIGINT here (forwarded as a signal).
    let raw = if tty && stdin {
        RawMode::stdin()?
    } else {
        None
    };
    let resize_socket = socket.to_path_buf();
    terminal_signals(tty, raw.as_ref(), move || send_size(&resize_socket))?;
    let detached = Arc::new(AtomicBool::new(false));
    if stdin {
        let mut to = conn.try_clone()?;
        let detached = Arc::clone(&detached);
        // Detach keys only from a person at a terminal (docker reads them there too).
        let scanner = (tty && raw.is_some()).then(|| DetachScanner::new(detach_keys.to_vec()));
        std::thread::spawn(move || {
            copy_input(&mut to, scanner, &detached);
            if detached.load(Ordering::SeqCst) {
                // Ends the output copy below: the session is over for us.
                let _ = to.shutdown(std::net::Shutdown::Both);
            } else if !tty {
                let _ = to.shutdown(std::net::Shutdown::Write);
            }
        });
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    if let Err(e) = attach::copy_output(&mut conn, tty, &mut out, &mut err)
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && !detached.load(Ordering::SeqCst)
    {
        tracing::warn!("streaming the container's output: {e}");
    }
    let _ = out.flush();
    drop(raw);
    if detached.load(Ordering::SeqCst) {
        let _ = writeln!(err);
        return Ok(SessionEnd::Detached);
    }
    Ok(SessionEnd::Ended)
}

/// Signals that end berth while the terminal is raw: the terminal is restored, then
/// berth exits with 128+signal (the container runs on, as after a detach).
const FATAL: [Signal; 3] = [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// The terminal's signals for a session: with `tty`, SIGWINCH calls `on_resize`; with
/// `raw`, [`FATAL`] signals restore the terminal and end berth. One thread takes them
/// all; they are blocked here first, so call this before any other thread starts (a
/// thread with them unblocked would take them: SIGWINCH is then lost, SIGTERM kills
/// berth with the terminal left raw).
pub fn terminal_signals(
    tty: bool,
    raw: Option<&RawMode>,
    on_resize: impl Fn() + Send + 'static,
) -> anyhow::Result<()> {
    let restorer = raw.map(RawMode::restorer).transpose()?;
    let mut set = SigSet::empty();
    if tty {
        set.add(Signal::SIGWINCH);
    }
    if restorer.is_some() {
        for s in FATAL {
            set.add(s);
        }
    }
    if set == SigSet::empty() {
        return Ok(());
    }
    set.thread_block()?;
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            if sig == Signal::SIGWINCH {
                on_resize();
            } else if let Some(r) = &restorer {
                r.restore();
                std::process::exit(128 + sig as i32);
            }
        }
    });
    Ok(())
}

/// Copies our stdin to `to` until its end, or until the detach keys when `scanner`.
fn copy_input(to: &mut UnixStream, mut scanner: Option<DetachScanner>, detached: &AtomicBool) {
    let mut input = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let (pass, detach) = match scanner.as_mut() {
            Some(s) => s.feed(&buf[..n]),
            None => (buf[..n].to_vec(), false),
        };
        if !pass.is_empty() && to.write_all(&pass).is_err() {
            return;
        }
        if detach {
            detached.store(true, Ordering::SeqCst);
            return;
        }
    }
}

/// Signals berth forwards to a container whose tty is not on our raw terminal (docker's
/// sig-proxy).
const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Blocks [`FORWARDED`] in this thread (and so in threads spawned later) and sends each
/// one that arrives to the container.
pub fn forward_signals(paths: &StorePaths, id: &str) -> anyhow::Result<()> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    // SIGWINCH is blocked too (not taken here): the session's [`terminal_signals`]
    // thread, started later, must be the only one it can reach.
    let mut blocked = set;
    blocked.add(Signal::SIGWINCH);
    blocked.thread_block()?;
    let (paths, id) = (paths.clone(), id.to_string());
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            if let Err(e) = ops::kill::kill(&paths, &id, sig.as_str()) {
                tracing::debug!("forwarding {sig} to container {id}: {e}");
            }
        }
    });
    Ok(())
}
