//! The command line, flag for flag what containerd's runc shim and podman pass to runc.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

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
    pub log_format: LogFormat,
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

#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built only when it is the one invoked: building all of
// them at every start cost ~200 KiB of RSS (`--version`; 64 KiB of heap for `create`).
#[command(defer = true)]
pub enum Command {
    /// Write a default config.json.
    Spec(SpecArgs),
    /// Create a container; it waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Print a container's OCI state as JSON.
    State { id: String },
    /// Send a signal to a container's init (or all its processes).
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Remove a container and everything it holds.
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container.
    Run(RunArgs),
    /// List containers.
    #[command(alias = "ls")]
    List {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        /// Print only the ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// List the processes of a container.
    Ps {
        #[arg(short, long, value_enum, default_value = "table")]
        format: PsFormat,
        id: String,
        /// Options for ps (default: -ef); table format only.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze every process of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change the resource limits of a running container.
    Update(UpdateArgs),
    /// Print a container's statistics and OOM events as JSON lines.
    Events {
        /// Time between stats events (Go-style duration: 5s, 500ms).
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// Print the stats once and exit.
        #[arg(long)]
        stats: bool,
        id: String,
    },
    /// Print the features this runtime supports (OCI features JSON).
    Features,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PsFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// Write a default config.json: without flags what `runc spec` writes, with --hardened
/// berth's hardening on top.
#[derive(Debug, Args)]
pub struct SpecArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged caller, as `runc spec --rootless`.
    #[arg(long)]
    pub rootless: bool,
    /// Add berth's hardening to runc's default: the default seccomp profile, a cgroup
    /// namespace, /sys/devices/virtual/powercap masked, no ambient capabilities, hostname
    /// "berth" (see SECURITY.md).
    #[arg(long)]
    pub hardened: bool,
    /// With --hardened: leave the default seccomp profile out (runc's default has none).
    #[arg(long)]
    pub no_seccomp: bool,
}

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

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A process.json to run (the other process flags are then ignored).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-TTY: its master goes to --console-socket, or without one (and
    /// without --detach) the caller's own terminal is connected to it, as with runc.
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not wait for the process to exit.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (NAME=value); repeatable.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid] to run as.
    #[arg(short, long)]
    pub user: Option<String>,
    /// An additional group id; repeatable.
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Add a capability (e.g. CAP_NET_ADMIN); repeatable.
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass this many fds after stdio (3, 4, ...) to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// Accepted for runc compatibility; berth has no SELinux support.
    #[arg(long)]
    pub process_label: Option<String>,
    /// Accepted for runc compatibility; berth has no AppArmor support.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Run the process in an existing sub-cgroup of the container's: `PATH` on every
    /// hierarchy, or `CONTROLLER[,CONTROLLER]:PATH` per v1 controller (repeatable).
    #[arg(long = "cgroup", value_name = "[CONTROLLER:]PATH")]
    pub cgroups: Vec<String>,
    /// Allow exec in a paused container: the process starts when it is resumed.
    #[arg(long)]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// runc's `update` flags. Values are taken as strings and checked by the runtime, so that
/// an error names the flag; `-1` (unlimited) is accepted as a value.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A resources JSON file (linux.resources), or '-' for stdin; other flags are then ignored.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Block IO weight, 10 to 1000.
    #[arg(long, allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// CPU CFS period in µs.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS quota in µs per period (-1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU CFS burst in µs.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_burst: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long, alias = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_share: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// 1: SCHED_IDLE for the cgroup, 0: default.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_idle: Option<String>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Obsolete; ignored with a warning, as in runc.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (bytes, or with a unit: 64m, 1g; -1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap (-1: unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Intel RDT is not supported: refused.
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT is not supported: refused.
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}
