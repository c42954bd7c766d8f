//! `berth container prune [-f]` (the other `container` subcommands are the top-level
//! verbs).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use berth_images::display::human_size;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ContainerArgs {
    #[command(subcommand)]
    pub command: ContainerCommand,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn run(paths: &StorePaths, args: &ContainerArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ContainerCommand::Prune(p) => prune(paths, p),
    }
}

fn prune(paths: &StorePaths, args: &PruneArgs) -> anyhow::Result<ExitCode> {
    if !args.force && !confirm()? {
        return Ok(ExitCode::SUCCESS);
    }
    let report = ops::prune::prune(paths)?;
    if !report.deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &report.deleted {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(report.reclaimed));
    Ok(ExitCode::SUCCESS)
}

/// docker's question; anything but y/Y (or no terminal answer at all) is no.
fn confirm() -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    eprint!(
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    );
    std::io::stderr().flush()?;
    if !stdin.is_terminal() {
        eprintln!();
    }
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}
