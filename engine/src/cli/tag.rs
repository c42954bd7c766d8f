//! `berth tag SOURCE TARGET`: another name for an image (moved from whatever image had
//! it, as docker does).

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_images::ImageStore;

/// `berth tag`
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The image: a name, an ID or an ID prefix.
    pub source: String,
    /// The new name: REPOSITORY[:TAG].
    pub target: String,
}

pub fn run(paths: &StorePaths, args: &TagArgs) -> anyhow::Result<ExitCode> {
    tag(paths, args)
}

fn tag(paths: &StorePaths, args: &TagArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    store
        .tag(&args.source, &args.target)
        .with_context(|| format!("tagging {} as {}", args.source, args.target))?;
    Ok(ExitCode::SUCCESS)
}
