//! `berth import FILE|- [REPOSITORY[:TAG]]`: a root filesystem tarball as a one-layer
//! image; prints its ID, as docker does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_images::ImageStore;

/// `berth import`
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The tarball (plain, gzip or zstd), or `-` for standard input.
    pub file: PathBuf,
    /// The name to give the image (untagged when none).
    pub reference: Option<String>,
}

pub fn run(paths: &StorePaths, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    import(paths, args)
}

fn import(paths: &StorePaths, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    let progress = super::load::progress_for(false);
    let spooled;
    let file = if args.file.as_os_str() == "-" {
        let mut tmp = tempfile::Builder::new()
            .prefix(".import-")
            .tempfile_in(store.images_dir())
            .context("creating a file for standard input")?;
        std::io::copy(&mut std::io::stdin().lock(), &mut tmp).context("reading standard input")?;
        spooled = tmp;
        spooled.path().to_path_buf()
    } else {
        args.file.clone()
    };
    let image = store
        .import(&file, args.reference.as_deref(), progress.as_ref())
        .with_context(|| format!("importing {}", args.file.display()))?;
    println!("{}", image.id);
    Ok(ExitCode::SUCCESS)
}
