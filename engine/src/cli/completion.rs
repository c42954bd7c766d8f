//! `berth completion bash|zsh|fish`: a shell's completion script for every verb and flag
//! (clap_complete, from the same clap model the parser uses), and the hidden
//! `berth __man DIR`: man pages (clap_mangen), `berth.1` and `berth-<verb>.1` for each
//! verb (`berth-network-create.1` for nested ones), written into DIR.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::Cli;

/// The shells berth writes completions for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    pub shell: CompletionShell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write the pages (created if missing).
    pub dir: PathBuf,
}

pub fn completion(args: &CompletionArgs) -> anyhow::Result<ExitCode> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "berth", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut cmd = Cli::command();
    cmd.build();
    write_pages(&cmd, "berth", &args.dir)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `<name>.1` for `cmd` and, below it, a page per visible subcommand.
fn write_pages(cmd: &clap::Command, name: &str, dir: &Path) -> anyhow::Result<()> {
    let mut out = Vec::new();
    // After `build`, a subcommand's display name is its full `berth-network-create`.
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_ascii_uppercase())
        .render(&mut out)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
    // clap's own `help` subcommands get no page: `berth-help-exec` would repeat `berth-exec`.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
