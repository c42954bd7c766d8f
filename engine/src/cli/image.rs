//! `berth image inspect|ls|rm|load|import|tag`: docker's `image` command group. Only
//! `inspect` is its own here; the others are the top-level verbs under another name.

use std::process::ExitCode;

use super::{images, import, load, rmi, tag};
use anyhow::Context;
use berth_engine::StorePaths;
use berth_images::ImageStore;
use berth_images::inspect::docker_inspect;

/// `berth image`
#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Show images as JSON (an array, as docker prints it).
    Inspect(InspectArgs),
    /// List images.
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove images.
    Rm(rmi::RmiArgs),
    /// Load images from an archive.
    Load(load::LoadArgs),
    /// Import a root filesystem tarball as an image.
    Import(import::ImportArgs),
    /// Give an image another name.
    Tag(tag::TagArgs),
}

/// `berth image inspect`
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// `json` or a template over the image's JSON (`{{.Id}}`, `{{json .Config}}` ...).
    #[arg(short, long)]
    pub format: Option<String>,
    /// Images: names, IDs or ID prefixes.
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &ImageArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ImageCommand::Inspect(a) => inspect(paths, a),
        ImageCommand::Ls(a) => images::run(paths, a),
        ImageCommand::Rm(a) => rmi::run(paths, a),
        ImageCommand::Load(a) => load::run(paths, a),
        ImageCommand::Import(a) => import::run(paths, a),
        ImageCommand::Tag(a) => tag::run(paths, a),
    }
}

/// Prints the images found (docker's array, 4-space indents, or the template per
/// image) and `berth: no such image: X` for each one not; exit 1 if any was not found.
pub fn inspect(paths: &StorePaths, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    super::inspect::inspect_all(&args.images, args.format.as_deref(), |name| {
        store.resolve(name).map(|i| docker_inspect(&store, &i))
    })
}
