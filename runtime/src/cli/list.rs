//! `list` (`ls`): the containers under `--root`, as runc's table or JSON, or their ids.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(short, long, default_value = "table")]
    pub format: ListFormat,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

impl ListArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let all = container::list::list(root)?;
        let mut out = std::io::stdout().lock();
        if self.quiet {
            for s in &all {
                writeln!(out, "{}", s.id)?;
            }
        } else {
            match self.format {
                ListFormat::Json => container::list::write_json(&mut out, root, &all)?,
                ListFormat::Table => container::list::write_table(&mut out, root, &all)?,
            }
        }
        Ok(0)
    }
}
