//! `berth image inspect|ls|rm|load|import|tag`: docker's `image` command group. Only
//! `inspect` is its own here; the others are the top-level verbs under another name.

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_images::ImageStore;
use berth_images::inspect::docker_inspect;
use serde::Serialize;
use serde_json::Value;

use super::table::render;
use super::{images, import, load, rmi, tag};

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
    /// `json` or a template over the top-level fields (`{{.Id}}`, `{{.Size}}`, ...).
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

/// Prints the images found (docker's array, 4-space indents) and `berth: no such
/// image: X` for each one not; exit 1 if any was not found.
pub fn inspect(paths: &StorePaths, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    let mut found = Vec::new();
    let mut failed = false;
    for name in &args.images {
        match store.resolve(name) {
            Ok(image) => found.push(docker_inspect(&store, &image)),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    match args.format.as_deref() {
        None | Some("json") => println!("{}", pretty(&Value::Array(found))?),
        Some(template) => {
            for object in &found {
                if template.trim() == "{{json .}}" {
                    println!("{object}");
                    continue;
                }
                let fields: Vec<(&'static str, String)> = TOP_FIELDS
                    .iter()
                    .map(|k| (*k, scalar(&object[*k])))
                    .collect();
                println!("{}", render(template, &fields));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The fields a `--format` template may name.
const TOP_FIELDS: &[&str] = &[
    "Id",
    "Created",
    "Size",
    "Os",
    "Architecture",
    "Author",
    "Comment",
];

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON with docker's 4-space indents.
fn pretty(v: &Value) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    v.serialize(&mut ser).context("printing JSON")?;
    Ok(String::from_utf8(out)?)
}
