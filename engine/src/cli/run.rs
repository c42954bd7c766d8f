//! `berth run [-d] [flags] IMAGE [CMD...]`: create, then start; in the foreground the
//! output is streamed through the monitor's attach socket, `-i` forwards stdin, signals
//! sent to berth are forwarded to the container, and berth exits with its exit code.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::container::store::ContainerFiles;
use berth_engine::monitor::attach::{self, AttachRequest};
use berth_engine::ops;
use clap::Args;
use nix::sys::signal::{SigSet, Signal};

use super::create::ContainerFlags;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    #[arg(long, action = clap::ArgAction::HelpLong)]
    help: Option<bool>,
    /// Run in the background and print the container's id.
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub flags: ContainerFlags,
}

pub fn run(paths: &StorePaths, args: &RunArgs) -> anyhow::Result<ExitCode> {
    if args.flags.tty {
        anyhow::bail!("-t (a pseudo-TTY) is not supported by this berth yet");
    }
    let record = ops::create::create(paths, &args.flags.options(paths))?;
    if args.detach {
        ops::start::start(paths, &record.id)?;
        println!("{}", record.id);
        return Ok(ExitCode::SUCCESS);
    }
    foreground(paths, &record.id, args.flags.interactive)
}

/// Signals berth forwards to a container it runs in the foreground (docker's sig-proxy).
const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Starts container `id` attached: streams its output, forwards stdin (`stdin`) and
/// signals, returns its exit code. Shared with `start -a`.
pub fn foreground(paths: &StorePaths, id: &str, stdin: bool) -> anyhow::Result<ExitCode> {
    let (id, mut handle) = ops::start::start_attached(paths, id)?;
    let socket = ContainerFiles::new(paths, &id).attach_socket();
    let request = AttachRequest {
        stdin,
        stdout: true,
        stderr: true,
        resize: None,
    };
    let (mut conn, tty) = attach::connect(&socket, &request)
        .map_err(|e| anyhow::anyhow!("attaching to container {id} at {}: {e}", socket.display()))?;
    handle
        .wait_started()
        .map_err(|e| ops::start::remove_if_auto(paths, &id, e))?;
    forward_signals(paths, &id)?;
    if stdin {
        forward_stdin(&conn)?;
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    if let Err(e) = attach::copy_output(&mut conn, tty, &mut out, &mut err)
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        tracing::warn!("streaming the output of container {id}: {e}");
    }
    let _ = out.flush();
    let code = handle.wait_exited()?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Blocks [`FORWARDED`] in this thread (and so in threads spawned later) and sends each
/// one that arrives to the container.
fn forward_signals(paths: &StorePaths, id: &str) -> anyhow::Result<()> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.thread_block()?;
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

/// Copies our stdin to the attach connection; at its end, the container's stdin ends.
fn forward_stdin(conn: &UnixStream) -> anyhow::Result<()> {
    let mut to = conn.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    Ok(())
}
