//! `berth __monitor ID --ready-fd N [--wait-attach]`: the hidden subcommand that runs a
//! container's monitor (berth_engine::monitor). Only `berth` itself starts it.

use std::process::ExitCode;

use berth_engine::StorePaths;
use clap::Args;

#[derive(Debug, Args)]
pub struct MonitorArgs {
    pub id: String,
    /// The fd of the report pipe to the spawner.
    #[arg(long)]
    pub ready_fd: i32,
    /// Wait for an attach client before starting the process.
    #[arg(long)]
    pub wait_attach: bool,
}

pub fn run(paths: &StorePaths, args: &MonitorArgs) -> ExitCode {
    ExitCode::from(berth_engine::monitor::run(
        paths,
        &args.id,
        args.ready_fd,
        args.wait_attach,
    ))
}
