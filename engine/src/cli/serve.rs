//! `berth serve`: the Docker Engine API on a unix socket (engine/src/serve/).

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::serve::{self, ServeOptions};

/// `berth serve [-H unix:///run/berth/berth.sock]...`
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where to listen: unix:///PATH (default unix:///run/berth/berth.sock) or
    /// tcp://HOST:PORT (no TLS: a warning is printed). May be given more than once.
    #[arg(short = 'H', long = "host")]
    pub host: Vec<String>,
}

pub fn run(paths: StorePaths, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    serve::run(
        paths,
        &ServeOptions {
            hosts: args.host.clone(),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
