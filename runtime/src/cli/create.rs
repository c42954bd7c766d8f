//! `create` and `run` (create, start, wait, delete): the same bundle flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use berth_runtime::container::{self, CreateOptions};
use clap::Args;

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    #[arg(long)]
    pub no_pivot: bool,
    #[arg(long)]
    pub no_new_keyring: bool,
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    pub id: String,
}

impl CreateArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let opts = CreateOptions::from(self);
        container::create(root, &opts)
            .with_context(|| format!("creating container {}", opts.id))?;
        Ok(0)
    }
}

impl From<CreateArgs> for CreateOptions {
    fn from(a: CreateArgs) -> Self {
        CreateOptions {
            id: a.id,
            bundle: a.bundle,
            pid_file: a.pid_file,
            console_socket: a.console_socket,
            no_pivot: a.no_pivot,
            no_new_keyring: a.no_new_keyring,
            preserve_fds: a.preserve_fds,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    #[arg(short, long)]
    pub detach: bool,
    /// Do not delete the container after it exits (nor when it fails to start).
    #[arg(long)]
    pub keep: bool,
}

impl RunArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let opts = CreateOptions::from(self.create);
        let code = container::run::run(root, &opts, self.detach, self.keep)
            .with_context(|| format!("running container {}", opts.id))?;
        Ok(super::exit_status(code))
    }
}
