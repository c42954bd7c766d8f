//! `berth images [-a] [-q] [--no-trunc] [--digests] [--format json|TEMPLATE]
//! [REPOSITORY[:TAG]]`: docker's table (REPOSITORY, TAG, IMAGE ID, CREATED, SIZE), one
//! row per name (`<none>` for an untagged image), newest first.

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_engine::ops::display::ago;
use berth_images::display::human_size;
use berth_images::reference::{self, familiar_name, split_tag};
use berth_images::{Image, ImageStore, Timestamp};
use serde_json::Value;

use super::template::{Format, row};

/// `berth images`
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// All images (berth keeps no intermediate images: the same list).
    #[arg(short, long)]
    pub all: bool,
    /// Only image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Full image IDs.
    #[arg(long)]
    pub no_trunc: bool,
    /// A DIGEST column.
    #[arg(long)]
    pub digests: bool,
    /// `json` (one object per line) or a template such as `{{.Repository}}:{{.Tag}}`.
    #[arg(long)]
    pub format: Option<String>,
    /// Only images of this repository (and tag).
    pub repository: Option<String>,
}

const NONE: &str = "<none>";

/// One row: the fields docker's templates name.
fn fields(image: &Image, name: Option<&str>, no_trunc: bool) -> Vec<(&'static str, String)> {
    let (repository, tag) = match name.map(|n| split_tag(n)) {
        Some((repo, tag)) => (familiar_name(repo), tag.unwrap_or(NONE).to_string()),
        None => (NONE.to_string(), NONE.to_string()),
    };
    let id = if no_trunc {
        image.id.clone()
    } else {
        image.short_id().to_string()
    };
    let digest = image
        .repo_digests
        .first()
        .and_then(|d| d.rsplit_once('@'))
        .map_or_else(|| NONE.to_string(), |(_, d)| d.to_string());
    let (created_since, created_at) = match &image.created {
        Some(t) => (ago(t), docker_time(t)),
        None => ("N/A".to_string(), String::new()),
    };
    vec![
        ("Repository", repository),
        ("Tag", tag),
        ("Digest", digest),
        ("ID", id),
        ("CreatedSince", created_since),
        ("CreatedAt", created_at),
        ("Size", human_size(image.size)),
        ("VirtualSize", human_size(image.size)),
        // docker prints N/A unless asked to count (`docker system df -v`).
        ("Containers", "N/A".to_string()),
        ("SharedSize", "N/A".to_string()),
        ("UniqueSize", "N/A".to_string()),
    ]
}

/// docker's column names of the image fields.
const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

/// Go's default time format, as docker's CreatedAt: `2024-05-18 17:37:28 +0000 UTC`.
fn docker_time(t: &Timestamp) -> String {
    let text = t.to_string();
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} +0000 UTC"),
        _ => text,
    }
}

/// True when `name` (normalized `repo:tag`) is what `filter` asks for: its repository,
/// or exactly its name when the filter has a tag.
fn wanted(name: Option<&str>, filter: Option<&(String, bool)>) -> bool {
    match (filter, name) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((full, true)), Some(name)) => name == full,
        (Some((full, false)), Some(name)) => split_tag(name).0 == split_tag(full).0,
    }
}

pub fn run(paths: &StorePaths, args: &ImagesArgs) -> anyhow::Result<ExitCode> {
    list_images(paths, args)
}

fn list_images(paths: &StorePaths, args: &ImagesArgs) -> anyhow::Result<ExitCode> {
    let default_table = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    // A bad template fails before the store is read.
    let format = Format::parse(args.format.as_deref(), default_table)?;
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    let filter = args
        .repository
        .as_deref()
        .map(|r| {
            let has_tag = split_tag(r).1.is_some();
            reference::normalize(r).map(|full| (full, has_tag))
        })
        .transpose()?;
    let mut rows: Vec<Vec<(&'static str, String)>> = Vec::new();
    for image in store.list().context("listing images")? {
        let names: Vec<Option<&str>> = if image.repo_tags.is_empty() {
            vec![None]
        } else {
            image.repo_tags.iter().map(|t| Some(t.as_str())).collect()
        };
        for name in names {
            if wanted(name, filter.as_ref()) {
                rows.push(fields(&image, name, args.no_trunc));
            }
        }
    }
    if args.quiet {
        let value = |row: &[(&'static str, String)], key: &str| {
            row.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        rows.iter().for_each(|r| println!("{}", value(r, "ID")));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Value> = rows.into_iter().map(row).collect();
    format.print(&rows, HEADERS, "*formatter.imageContext")?;
    Ok(ExitCode::SUCCESS)
}
