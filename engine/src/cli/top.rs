//! `berth top CONTAINER [ps OPTIONS]`: the container's processes in `ps -ef`'s columns,
//! or the host's `ps OPTIONS` rows of them.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
    /// Options for the host's ps (e.g. `-o pid,comm`); none: `ps -ef`'s columns.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &TopArgs) -> anyhow::Result<ExitCode> {
    let top = ops::top::top_with(paths, &args.container, &args.ps_args)?;
    super::table::print_table(&top.titles, &top.processes, super::table::TOP_MIN_WIDTH);
    Ok(ExitCode::SUCCESS)
}
