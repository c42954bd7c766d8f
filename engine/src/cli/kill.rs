//! `berth kill [-s SIGNAL] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal (name or number).
    #[arg(short = 's', long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &KillArgs) -> anyhow::Result<ExitCode> {
    super::each(&args.containers, |c| {
        ops::kill::kill(paths, c, &args.signal).map(drop)
    })
}
