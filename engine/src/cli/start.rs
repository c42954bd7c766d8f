//! `berth start [-a] [-i] CONTAINER...`; `-a` of a running container attaches to it,
//! as docker's does.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::container::{status, store};
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach stdout/stderr and exit with the container's code.
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach stdin.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &StartArgs) -> anyhow::Result<ExitCode> {
    if args.attach || args.interactive {
        let [one] = args.containers.as_slice() else {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        };
        // docker attaches to a container that already runs (its start is a no-op).
        let id = store::resolve(paths, one)?;
        if status::derive(paths, &store::load(paths, &id)?)?.is_running() {
            return super::attach::to_running(
                paths,
                &id,
                args.interactive,
                true,
                &berth_engine::terminal::DETACH_KEYS,
            );
        }
        return super::run::foreground(paths, &id, args.interactive);
    }
    super::each(&args.containers, |c| ops::start::start(paths, c).map(drop))
}
