//! `berth wait CONTAINER...`: prints each one's exit code once it stopped.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &WaitArgs) -> anyhow::Result<ExitCode> {
    Ok(super::each_printing(
        &args.containers,
        |c| ops::wait::wait(paths, c),
        |_, code| println!("{code}"),
    ))
}
