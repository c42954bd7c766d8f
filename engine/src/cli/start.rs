//! `berth start [-a] [-i] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::StorePaths;
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
        return super::run::foreground(paths, one, args.interactive);
    }
    super::each(&args.containers, |c| ops::start::start(paths, c).map(drop))
}
