//! `berth rename CONTAINER NEW_NAME`.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub fn run(paths: &StorePaths, args: &RenameArgs) -> anyhow::Result<ExitCode> {
    ops::rename::rename(paths, &args.container, &args.new_name)?;
    Ok(ExitCode::SUCCESS)
}
