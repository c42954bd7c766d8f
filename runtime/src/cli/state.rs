//! `state`: a container's OCI state as JSON.

use std::path::Path;

use anyhow::Result;
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct StateArgs {
    pub id: String,
}

impl StateArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let s = container::status::load(root, &self.id)?;
        // As runc prints it: an empty owner (its `list` fills it in), no final newline.
        print!("{}", serde_json::to_string_pretty(&s.runc_output(""))?);
        Ok(0)
    }
}
