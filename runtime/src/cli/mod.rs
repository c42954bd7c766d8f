//! The binary's command line, flag for flag what containerd's runc shim and podman pass
//! to runc: one file per verb with its clap arguments and the one function that turns
//! them into the library verb's typed options, calls it and prints its answer. Flag
//! values are parsed here, once, with errors that name the flag; the library never sees
//! a flag string (youki's liboci-cli, nerdctl's `cmd/`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use berth_runtime::logging::LogFormat;
use clap::{Parser, Subcommand};

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod spec;
mod start;
mod state;
mod update;

#[derive(Debug, Parser)]
#[command(
    name = "berth-runtime",
    version,
    disable_version_flag = true,
    about = "A runc-compatible OCI container runtime"
)]
pub struct Cli {
    /// Print the version, commit, OCI spec and libseccomp versions (runc's -v).
    #[arg(short = 'v', long, action = clap::ArgAction::Version)]
    pub version: (),
    /// Directory for container state.
    #[arg(
        long,
        global = true,
        env = "BERTH_RUNTIME_ROOT",
        default_value = "/run/berth/runtime"
    )]
    pub root: PathBuf,
    /// Log file (default: stderr).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Log debug messages too.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (not supported: berth writes cgroupfs directly).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility; berth has no criu support.
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`: logrus's two formats, as runc names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(f: LogFormatArg) -> Self {
        match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built only when it is the one invoked: building all of
// them at every start cost ~200 KiB of RSS (`--version`; 64 KiB of heap for `create`).
#[command(defer = true)]
pub enum Command {
    /// Write a default config.json.
    Spec(spec::SpecArgs),
    /// Create a container; it waits for `start`.
    Create(create::CreateArgs),
    /// Start a created container.
    Start(start::StartArgs),
    /// Print a container's OCI state as JSON.
    State(state::StateArgs),
    /// Send a signal to a container's init (or all its processes).
    Kill(kill::KillArgs),
    /// Remove a container and everything it holds.
    Delete(delete::DeleteArgs),
    /// Create and start a container.
    Run(create::RunArgs),
    /// List containers.
    #[command(alias = "ls")]
    List(list::ListArgs),
    /// Run a new process inside a running container.
    Exec(exec::ExecArgs),
    /// List the processes of a container.
    Ps(ps::PsArgs),
    /// Freeze every process of a container.
    Pause(pause::PauseArgs),
    /// Thaw a paused container.
    Resume(pause::ResumeArgs),
    /// Change the resource limits of a running container.
    Update(update::UpdateArgs),
    /// Print a container's statistics and OOM events as JSON lines.
    Events(events::EventsArgs),
    /// Print the features this runtime supports (OCI features JSON).
    Features,
}

impl Command {
    /// Runs the verb with state under `root`; the runtime's exit status (a container's or
    /// an exec'd process's for `run` and `exec`, else 0).
    pub fn run(self, root: &Path) -> Result<u8> {
        match self {
            Command::Spec(a) => a.run(),
            Command::Create(a) => a.run(root),
            Command::Start(a) => a.run(root),
            Command::State(a) => a.run(root),
            Command::Kill(a) => a.run(root),
            Command::Delete(a) => a.run(root),
            Command::Run(a) => a.run(root),
            Command::List(a) => a.run(root),
            Command::Exec(a) => a.run(root),
            Command::Ps(a) => a.run(root),
            Command::Pause(a) => a.run(root),
            Command::Resume(a) => a.run(root),
            Command::Update(a) => a.run(root),
            Command::Events(a) => a.run(root),
            Command::Features => features::run(),
        }
    }
}

/// A process's exit status as the runtime's own (`run`, `exec`); one outside 0..=255
/// (none a kernel gives) becomes 255.
fn exit_status(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(255)
}
