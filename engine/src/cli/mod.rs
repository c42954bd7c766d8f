//! The `berth` command line: global options, one file per verb, and the error edge
//! (`berth: <what failed>` on stderr, docker's exit codes).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use berth_engine::StorePaths;

mod serve;
// Network and volume verbs (the work is berth_engine::network and ::volume).
mod network;
mod volume;
// Container verbs (engine-core): one file each; the work is berth_engine::ops.
mod create;
mod inspect;
mod kill;
mod logs;
mod monitor;
mod ps;
mod rm;
mod run;
mod start;
mod stop;
mod wait;
// Terminal and exec verbs: attach sessions, exec, and the other container verbs.
mod attach;
mod completion;
mod container;
mod exec;
mod exec_shim;
mod port;
mod rename;
mod restart;
mod stats;
mod top;
// Registry verbs (the work is berth_images::registry).
mod login;
mod logout;
mod pull;
mod push;
// Image verbs (the work is berth_images' ImageStore); table: output shared with ps.
mod image;
mod images;
mod import;
mod load;
mod rmi;
mod table;
mod tag;
mod template;
// The edge: argument errors and exit codes as docker's.
mod exit;

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
    /// Create and start a container.
    Run(run::RunArgs),
    /// Create a container (start it with `berth start`).
    Create(create::CreateArgs),
    /// Start created or stopped containers.
    Start(start::StartArgs),
    /// List containers.
    #[command(visible_alias = "list")]
    Ps(ps::PsArgs),
    /// Print a container's output.
    Logs(logs::LogsArgs),
    /// Stop running containers: the stop signal, then SIGKILL after a grace period.
    Stop(stop::StopArgs),
    /// Send a signal to running containers.
    Kill(kill::KillArgs),
    /// Remove containers.
    Rm(rm::RmArgs),
    /// Wait for containers to stop and print their exit codes.
    Wait(wait::WaitArgs),
    /// Show a container's record and state as JSON.
    Inspect(inspect::InspectArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Hold a `-t` exec's process (started by berth itself).
    #[command(name = "__exec-shim", hide = true)]
    ExecShim(exec_shim::ExecShimArgs),
    /// Restart containers (stop, then start; the id stays).
    Restart(restart::RestartArgs),
    /// Rename a container.
    Rename(rename::RenameArgs),
    /// Show a container's processes.
    Top(top::TopArgs),
    /// Show containers' resource usage.
    Stats(stats::StatsArgs),
    /// List a container's published ports.
    Port(port::PortArgs),
    /// Manage containers (prune).
    Container(container::ContainerArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completion(completion::CompletionArgs),
    /// Write man pages (berth.1, berth-<verb>.1) into a directory.
    #[command(name = "__man", hide = true)]
    Man(completion::ManArgs),
    /// Attach to a running container's output (and input; ctrl-p ctrl-q detaches).
    Attach(attach::AttachArgs),
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
    /// Manage networks.
    Network(network::NetworkArgs),
    /// Manage volumes.
    Volume(volume::VolumeArgs),
    /// Run a container's monitor (started by berth itself).
    #[command(name = "__monitor", hide = true)]
    Monitor(monitor::MonitorArgs),
    /// Download an image from a registry.
    Pull(pull::PullArgs),
    /// Upload an image to a registry.
    Push(push::PushArgs),
    /// Log in to a registry (credentials checked, then stored 0600).
    Login(login::LoginArgs),
    /// Log out from a registry.
    Logout(logout::LogoutArgs),
}

pub fn main() -> ExitCode {
    let cli = match exit::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // netlink-packet-route warns on every link dump that this kernel sends newer
    // attributes than it knows (IFLA_INET6_CONF): noise for a user, kept for debugging.
    let directives = match cli.log_level.as_str() {
        "debug" | "trace" => cli.log_level.clone(),
        level => format!("{level},netlink_packet_route=error"),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person: `berth serve > serve.log` gets plain lines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Verbs that only print end quietly when their reader goes away (`berth ps | head`)
    // as Unix tools do, instead of panicking in println!; the verbs that talk to
    // containers or registries over sockets and pipes keep SIGPIPE ignored and handle
    // EPIPE themselves.
    if !matches!(
        cli.command,
        Command::Serve(_)
            | Command::Monitor(_)
            | Command::Run(_)
            | Command::Start(_)
            | Command::Attach(_)
            | Command::Exec(_)
            | Command::ExecShim(_)
            | Command::Pull(_)
            | Command::Push(_)
            | Command::Login(_)
            | Command::Logout(_)
    ) {
        // SAFETY: single-threaded here; restoring the default disposition of one signal.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let paths = cli.paths();
    // Short-lived commands and monitors do not wait out the kernel's RCU tails of veth
    // and nftables teardown (network detach ~40 ms -> ~3 ms); the long-running API server
    // would only collect zombies from it.
    if !matches!(cli.command, Command::Serve(_)) {
        berth_engine::network::set_kernel_waits_in_children(true);
    }
    let verb = exit::Verb::of(&cli.command);
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Paths => {
            println!("{paths:?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve::run(paths, &args),
        Command::Run(args) => run::run(&paths, &args),
        Command::Create(args) => create::run(&paths, &args),
        Command::Start(args) => start::run(&paths, &args),
        Command::Ps(args) => ps::run(&paths, &args),
        Command::Logs(args) => logs::run(&paths, &args),
        Command::Stop(args) => stop::run(&paths, &args),
        Command::Kill(args) => kill::run(&paths, &args),
        Command::Rm(args) => rm::run(&paths, &args),
        Command::Wait(args) => wait::run(&paths, &args),
        Command::Inspect(args) => inspect::run(&paths, &args),
        Command::Attach(args) => attach::run(&paths, &args),
        Command::Exec(args) => exec::run(&paths, &args),
        Command::ExecShim(args) => Ok(exec_shim::run(&args)),
        Command::Restart(args) => restart::run(&paths, &args),
        Command::Rename(args) => rename::run(&paths, &args),
        Command::Top(args) => top::run(&paths, &args),
        Command::Stats(args) => stats::run(&paths, &args),
        Command::Port(args) => port::run(&paths, &args),
        Command::Container(args) => container::run(&paths, &args),
        Command::Completion(args) => completion::completion(&args),
        Command::Man(args) => completion::man(&args),
        Command::Load(args) => load::run(&paths, &args),
        Command::Import(args) => import::run(&paths, &args),
        Command::Images(args) => images::run(&paths, &args),
        Command::Rmi(args) => rmi::run(&paths, &args),
        Command::Tag(args) => tag::run(&paths, &args),
        Command::Image(args) => image::run(&paths, &args),
        Command::Network(args) => network::run(&paths, &args),
        Command::Volume(args) => volume::run(&paths, &args),
        Command::Monitor(args) => Ok(monitor::run(&paths, &args)),
        Command::Pull(args) => pull::run(&paths, &args),
        Command::Push(args) => push::run(&paths, &args),
        Command::Login(args) => login::run(&args),
        Command::Logout(args) => logout::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {}", error_text(&e));
            ExitCode::from(exit::for_error(verb, &e))
        }
    }
}

/// Runs `verb` on each object (container, network, volume), printing each name as given
/// on success (docker's output for stop, kill, rm) and `berth: <error>` otherwise; exit 1
/// if any failed.
fn each<E: std::fmt::Display>(
    containers: &[String],
    verb: impl FnMut(&str) -> Result<(), E>,
) -> anyhow::Result<ExitCode> {
    Ok(each_printing(containers, verb, |c, ()| println!("{c}")))
}

/// Runs `verb` on every item (docker's multi-argument verbs): `print` shows what it
/// returned, a failure is printed as `berth: <error>` and the others still run; exit 1
/// when any failed.
fn each_printing<T, E: std::fmt::Display>(
    items: &[String],
    mut verb: impl FnMut(&str) -> Result<T, E>,
    mut print: impl FnMut(&str, T),
) -> ExitCode {
    let mut failed = false;
    for item in items {
        match verb(item) {
            Ok(done) => print(item, done),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The error and its causes joined by `: `, each cause only when the text before does not
/// already hold it (thiserror messages often include their source, which `{:#}` would
/// print a second time).
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
