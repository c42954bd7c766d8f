//! `events`: a container's statistics and OOM events as JSON lines.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use berth_runtime::container;
use clap::Args;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Time between stats events (Go-style duration: 5s, 500ms).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Print the stats once and exit.
    #[arg(long)]
    pub stats: bool,
    pub id: String,
}

impl EventsArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id;
        let mut out = std::io::stdout().lock();
        container::events::events(root, &id, self.stats, self.interval, &mut out)
            .with_context(|| format!("events of container {id}"))?;
        Ok(0)
    }
}
