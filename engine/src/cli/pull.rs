//! `berth pull [--platform os/arch[/variant]] [-q] NAME[:TAG|@DIGEST]`: docker's pull
//! (berth-images' registry module does the work). Exit 1 when it fails, as docker's.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_images::ImageStore;
use berth_images::registry::{self, Platform, PullOptions};

/// `berth pull`
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The platform to take from a multi-platform image (default: this host's).
    #[arg(long)]
    pub platform: Option<String>,
    /// Print only the image's name (no progress).
    #[arg(short, long)]
    pub quiet: bool,
    /// The image: NAME[:TAG|@DIGEST].
    pub name: String,
}

pub fn run(paths: &StorePaths, args: &PullArgs) -> anyhow::Result<ExitCode> {
    let result = (|| {
        let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
        let store = ImageStore::open(paths.root())?;
        registry::pull(
            &store,
            &args.name,
            &PullOptions {
                platform,
                quiet: args.quiet,
                to_stderr: false,
                sink: None,
            },
        )
    })();
    match result {
        Ok(pulled) => {
            if args.quiet {
                println!("{}", pulled.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("berth: pull {}: {e}", args.name);
            Ok(ExitCode::from(1))
        }
    }
}
