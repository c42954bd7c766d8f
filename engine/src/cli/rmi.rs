//! `berth rmi [-f] IMAGE...`: docker's `Untagged:` / `Deleted:` lines; an image a
//! container uses is refused without `-f` ([`ContainersOf`] is the check). Exit 1 when
//! any image failed, after trying them all.

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_engine::image_users::ContainersOf;
use berth_images::ImageStore;

/// `berth rmi`
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    /// Untag and remove even an image with several names or one a container uses.
    #[arg(short, long)]
    pub force: bool,
    /// Images: names, IDs or ID prefixes.
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &RmiArgs) -> anyhow::Result<ExitCode> {
    rmi(paths, args)
}

fn rmi(paths: &StorePaths, args: &RmiArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    let users = ContainersOf(paths);
    Ok(super::each_printing(
        &args.images,
        |name| store.remove_unless_used(name, args.force, &users),
        |_, lines| lines.iter().for_each(|line| println!("{line}")),
    ))
}
