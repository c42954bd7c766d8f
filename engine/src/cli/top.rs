//! `berth top CONTAINER`: the container's processes in `ps -ef`'s columns.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
}

pub fn run(paths: &StorePaths, args: &TopArgs) -> anyhow::Result<ExitCode> {
    let top = ops::top::top(paths, &args.container)?;
    super::table::print_table(&top.titles, &top.processes);
    Ok(ExitCode::SUCCESS)
}
