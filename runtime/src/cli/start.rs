//! `start`: let a created container's init exec its process.

use std::path::Path;

use anyhow::{Context, Result};
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct StartArgs {
    pub id: String,
}

impl StartArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        container::start(root, &id).with_context(|| format!("starting container {id}"))?;
        Ok(0)
    }
}
