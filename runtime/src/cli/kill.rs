//! `kill`: send a signal (a name or number, SIGTERM by default) to a container.

use std::path::Path;

use anyhow::Result;
use berth_runtime::{container, signal};
use clap::Args;

#[derive(Debug, Args)]
pub struct KillArgs {
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

impl KillArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let sig = signal::parse(&self.signal)?;
        container::kill(root, &self.id, sig, self.all)?;
        Ok(0)
    }
}
