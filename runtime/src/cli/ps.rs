//! `ps`: the processes of a container, as `ps` prints them or as a JSON list of pids.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct PsArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: PsFormat,
    pub id: String,
    /// Options for ps (default: -ef); table format only.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PsFormat {
    Table,
    Json,
}

impl PsArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        let pids = container::ps::pids(root, &id)
            .with_context(|| format!("listing processes of container {id}"))?;
        let mut out = std::io::stdout().lock();
        match self.format {
            PsFormat::Json => writeln!(out, "{}", serde_json::to_string(&pids)?)?,
            PsFormat::Table => write!(out, "{}", container::ps::table(&pids, &self.ps_args)?)?,
        }
        Ok(0)
    }
}
