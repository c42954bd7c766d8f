//! `berth restart [-t SECS] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait for the stop before killing the container.
    #[arg(short = 't', long = "time")]
    pub time: Option<u32>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &RestartArgs) -> anyhow::Result<ExitCode> {
    super::each(&args.containers, |c| {
        ops::restart::restart(paths, c, args.time).map(drop)
    })
}
