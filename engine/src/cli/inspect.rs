//! `berth inspect CONTAINER...`: a JSON array, as docker prints it.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let mut docs = Vec::new();
    let mut failed = false;
    for c in &args.containers {
        match ops::inspect::inspect(paths, c) {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&docs)?);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
