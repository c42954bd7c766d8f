//! `delete`: remove a container (`--force`: a running one too).

use std::path::Path;

use anyhow::{Context, Result};
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

impl DeleteArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        container::delete(root, &id, self.force)
            .with_context(|| format!("deleting container {id}"))?;
        Ok(0)
    }
}
