//! `berth push [-q] NAME[:TAG]`: docker's push of a local image to the registry its
//! name points at. Exit 1 when it fails, as docker's.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_images::ImageStore;
use berth_images::registry;

/// `berth push`
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// The local image: NAME[:TAG] (its registry part says where it goes).
    pub name: String,
}

pub fn run(paths: &StorePaths, args: &PushArgs) -> anyhow::Result<ExitCode> {
    let result = (|| {
        let store = ImageStore::open(paths.root())?;
        registry::push(&store, &args.name, args.quiet)
    })();
    match result {
        Ok(pushed) => {
            if args.quiet {
                println!("{}", pushed.digest);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("berth: push {}: {e}", args.name);
            Ok(ExitCode::from(1))
        }
    }
}
