//! The `berth` command line: global options, one file per verb, and the error edge
//! (`berth: <what failed>` on stderr, docker's exit codes).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use berth_engine::StorePaths;

mod serve;
// Image verbs (the work is berth_images' ImageStore); table: output shared with ps.
mod image;
mod images;
mod import;
mod load;
mod rmi;
mod table;
mod tag;

/// Global options, named as podman names them.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Run and watch containers, the way docker does, without a daemon"
)]
pub struct Cli {
    /// Store root: images, layers, containers, volumes, networks.
    #[arg(long, env = "BERTH_ROOT", global = true)]
    pub root: Option<PathBuf>,
    /// State a reboot forgets: monitor pid files, attach sockets, network namespaces.
    #[arg(long, env = "BERTH_RUNROOT", global = true)]
    pub runroot: Option<PathBuf>,
    /// The OCI runtime's state directory (its --root).
    #[arg(long, env = "BERTH_RUNTIME_ROOT", global = true)]
    pub runtime_root: Option<PathBuf>,
    /// The OCI runtime binary (berth-runtime, runc or crun).
    #[arg(long, env = "BERTH_RUNTIME", global = true)]
    pub runtime: Option<PathBuf>,
    /// Log level for berth's own diagnostics (error, warn, info, debug, trace).
    #[arg(long, env = "BERTH_LOG", default_value = "warn", global = true)]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn paths(&self) -> StorePaths {
        StorePaths::new(
            self.root.clone(),
            self.runroot.clone(),
            self.runtime_root.clone(),
            self.runtime.clone(),
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print where the store is.
    #[command(hide = true)]
    Paths,
    /// Serve the Docker Engine API (v1.41) on a unix socket, for the docker CLI and SDKs.
    Serve(serve::ServeArgs),
    /// Load images from a docker-archive or an OCI image layout.
    Load(load::LoadArgs),
    /// Import a root filesystem tarball as an image.
    Import(import::ImportArgs),
    /// List images.
    Images(images::ImagesArgs),
    /// Remove images.
    Rmi(rmi::RmiArgs),
    /// Give an image another name.
    Tag(tag::TagArgs),
    /// Manage images (inspect, ls, rm, load, import, tag).
    Image(image::ImageArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let paths = cli.paths();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Paths => {
            println!("{paths:?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve::run(paths, &args),
        Command::Load(args) => load::run(&paths, &args),
        Command::Import(args) => import::run(&paths, &args),
        Command::Images(args) => images::run(&paths, &args),
        Command::Rmi(args) => rmi::run(&paths, &args),
        Command::Tag(args) => tag::run(&paths, &args),
        Command::Image(args) => image::run(&paths, &args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::from(125)
        }
    }
}
