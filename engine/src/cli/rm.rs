//! `berth rm [-f] [-v] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use berth_engine::ops::remove::RemoveOptions;
use clap::Args;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove its anonymous volumes too.
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let opts = RemoveOptions {
        force: args.force,
        volumes: args.volumes,
    };
    super::each(&args.containers, |c| {
        ops::remove::remove(paths, c, opts).map(drop)
    })
}
