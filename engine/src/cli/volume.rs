//! `berth volume create|ls|rm|inspect|prune`: docker's verbs and output over
//! berth_engine::volume.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_engine::volume::{Volume, VolumeStore};
use clap::{Args, Subcommand};

use super::inspect::inspect_all;
use super::template::{Format, row};

#[derive(Debug, Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: VolumeCommand,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (a random name when none is given).
    Create(CreateArgs),
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove volumes (refused while a container uses one).
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Show volumes as a JSON array.
    Inspect(InspectArgs),
    /// Remove unused anonymous volumes (all unused ones with --all).
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The driver; only `local`.
    #[arg(short = 'd', long, default_value = "local")]
    pub driver: String,
    /// A label, KEY=VALUE (repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only names.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// `json` (one object per line) or a template such as '{{.Name}}'.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Accepted for docker's sake: a volume in use is still refused.
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `json` (the default) or a template such as '{{.Mountpoint}}'.
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Every unused volume, not only anonymous ones.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn run(paths: &StorePaths, args: &VolumeArgs) -> anyhow::Result<ExitCode> {
    let store = VolumeStore::open(paths);
    match &args.command {
        VolumeCommand::Create(a) => {
            if a.driver != "local" {
                anyhow::bail!("volume driver {:?} is not supported (only local)", a.driver);
            }
            let mut labels = BTreeMap::new();
            for l in &a.labels {
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                labels.insert(k.to_string(), v.to_string());
            }
            let v = store
                .create(a.name.as_deref(), labels)
                .context("creating volume")?;
            println!("{}", v.name);
            Ok(ExitCode::SUCCESS)
        }
        VolumeCommand::Ls(a) => ls(&store, a),
        VolumeCommand::Rm(a) => super::each(&a.volumes, |v| store.remove(v, None)),
        VolumeCommand::Inspect(a) => {
            inspect_all(&a.volumes, a.format.as_deref(), |v| store.inspect(v))
        }
        VolumeCommand::Prune(a) => prune(&store, a),
    }
}

fn fields(v: &Volume) -> Vec<(&'static str, String)> {
    let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("Driver", v.driver.clone()),
        ("Name", v.name.clone()),
        ("Mountpoint", v.mountpoint.display().to_string()),
        ("Scope", v.scope.clone()),
        ("Labels", labels.join(",")),
        ("CreatedAt", v.created_at.to_string()),
    ]
}

/// docker's column names of the volume fields.
const HEADERS: &[(&str, &str)] = &[
    ("Driver", "DRIVER"),
    ("Name", "VOLUME NAME"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Scope", "SCOPE"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

fn ls(store: &VolumeStore, a: &LsArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(a.format.as_deref(), "table {{.Driver}}\t{{.Name}}")?;
    let vols = store.list().context("listing volumes")?;
    if a.quiet {
        vols.iter().for_each(|v| println!("{}", v.name));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<_> = vols.iter().map(|v| row(fields(v))).collect();
    format.print(&rows, HEADERS, "*formatter.volumeContext")?;
    Ok(ExitCode::SUCCESS)
}

fn prune(store: &VolumeStore, a: &PruneArgs) -> anyhow::Result<ExitCode> {
    if !a.force {
        let what = if a.all {
            "all local volumes not used by at least one container"
        } else {
            "anonymous local volumes not used by at least one container"
        };
        print!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let report = store.prune(a.all).context("pruning volumes")?;
    if !report.removed.is_empty() {
        println!("Deleted Volumes:");
        for n in &report.removed {
            println!("{n}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        berth_images::display::human_size(report.reclaimed)
    );
    Ok(ExitCode::SUCCESS)
}
