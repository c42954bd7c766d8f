//! `pause` and `resume`: freeze and thaw every process of a container.

use std::path::Path;

use anyhow::{Context, Result};
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct PauseArgs {
    pub id: String,
}

impl PauseArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        container::pause::pause(root, &id).with_context(|| format!("pausing container {id}"))?;
        Ok(0)
    }
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    pub id: String,
}

impl ResumeArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        container::pause::resume(root, &id).with_context(|| format!("resuming container {id}"))?;
        Ok(0)
    }
}
