//! `berth run [-d] [flags] IMAGE [CMD...]`: create, then start; in the foreground the
//! output is streamed through the monitor's attach socket, `-i` forwards stdin, signals
//! sent to berth are forwarded to the container (without `-t`), `-t` puts the terminal in
//! raw mode for the session, and berth exits with its exit code.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::container::store::{self, ContainerFiles};
use berth_engine::ops;
use clap::Args;

use super::attach;

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
    args.flags.ensure_image(paths)?;
    let record = ops::create::create(paths, &args.flags.options(paths))?;
    if args.detach {
        ops::start::start(paths, &record.id)?;
        println!("{}", record.id);
        return Ok(ExitCode::SUCCESS);
    }
    foreground(paths, &record.id, args.flags.interactive)
}

/// Starts container `id` attached: streams its output, forwards stdin (`stdin`) and
/// signals (unless `-it` puts the container's tty on our raw terminal, see
/// [`super::attach::session`]); returns its exit code. Shared with `start -a`.
pub fn foreground(paths: &StorePaths, id: &str, stdin: bool) -> anyhow::Result<ExitCode> {
    let (id, mut handle) = ops::start::start_attached(paths, id)?;
    let socket = ContainerFiles::new(paths, &id).attach_socket();
    let tty = store::load(paths, &id)?.process.tty;
    if tty {
        // Before the attach: the monitor starts the process when we attach, and a shell
        // reads its size as it starts.
        attach::send_size(&socket);
    }
    let (conn, tty) = attach::connect(&socket, &id, stdin)?;
    handle
        .wait_started()
        .map_err(|e| ops::start::remove_if_auto(paths, &id, e))?;
    if !(tty && stdin) {
        attach::forward_signals(paths, &id)?;
    }
    if attach::session(
        &socket,
        conn,
        tty,
        stdin,
        &berth_engine::terminal::DETACH_KEYS,
    )? == attach::SessionEnd::Detached
    {
        return Ok(ExitCode::SUCCESS);
    }
    let code = handle.wait_exited()?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
