//! `berth stop [-t SECS] CONTAINER...`.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait for the stop signal before SIGKILL (default: the container's, else 10).
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<u32>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &StopArgs) -> anyhow::Result<ExitCode> {
    super::each(&args.containers, |c| {
        ops::stop::stop(paths, c, args.time).map(drop)
    })
}
