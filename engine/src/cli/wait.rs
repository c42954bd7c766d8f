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
    let mut failed = false;
    for c in &args.containers {
        match ops::wait::wait(paths, c) {
            Ok(code) => println!("{code}"),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
