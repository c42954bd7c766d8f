//! `berth create [flags] IMAGE [CMD...]`: the container flags `run` shares.

use std::path::PathBuf;
use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops::create::{CreateOptions, create};
use berth_images::ImageStore;
use berth_images::registry::{self, PullOptions, PullPolicy};
use clap::Args;

/// The flags that shape a container (docker's names).
#[derive(Debug, Args)]
pub struct ContainerFlags {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to pass the caller's value).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// User and group: name|uid[:group|gid].
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Container hostname (default: the short id).
    #[arg(long, short = 'h')]
    pub hostname: Option<String>,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Memory limit (e.g. 32m, 1g).
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 1.5).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Limit on the number of processes.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Add a Linux capability.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Security options: seccomp=unconfined or seccomp=PROFILE.json.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Override the image's entrypoint ("" clears it).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Signal to stop the container (default: the image's, else SIGTERM).
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds to wait for the stop signal before SIGKILL.
    #[arg(long)]
    pub stop_timeout: Option<u32>,
    /// Network: bridge (default), none, host, or a network name.
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// Publish a port: [IP:]HOST:CTR[/tcp|udp].
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// Bind mount or volume: SRC:DST[:ro].
    #[arg(short = 'v', long)]
    pub volume: Vec<String>,
    /// Set a label (KEY=VALUE).
    #[arg(short = 'l', long)]
    pub label: Vec<String>,
    /// json-file log options: max-size=SIZE, max-file=N.
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Set a namespaced kernel parameter (KEY=VALUE, e.g. net.ipv4.ip_forward=1).
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Pull the image first: missing (when the store lacks it), always, never.
    #[arg(long, default_value = "missing")]
    pub pull: PullPolicy,
    /// The image.
    pub image: String,
    /// The command and its arguments (replace the image's Cmd).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl ContainerFlags {
    /// The image in the store, pulled first as `--pull` says (docker's implicit pull:
    /// "Unable to find image ... locally" and the progress on stderr, since stdout is
    /// the container's).
    pub fn ensure_image(&self, paths: &StorePaths) -> anyhow::Result<()> {
        let store = ImageStore::open(paths.root())?;
        let options = PullOptions {
            to_stderr: true,
            ..PullOptions::default()
        };
        registry::ensure_image(&store, &self.image, self.pull, &options)
            .map_err(|e| anyhow::anyhow!("image {}: {e}", self.image))?;
        Ok(())
    }

    /// The options, docker's warnings about them printed on stderr (`WARNING: ...`).
    pub fn options(&self, paths: &StorePaths) -> CreateOptions {
        let opts = self.options_quietly(paths);
        for w in berth_engine::ops::create::warnings(&opts) {
            eprintln!("WARNING: {w}");
        }
        opts
    }

    fn options_quietly(&self, paths: &StorePaths) -> CreateOptions {
        CreateOptions {
            image: self.image.clone(),
            cmd: self.command.clone(),
            name: self.name.clone(),
            entrypoint: self.entrypoint.clone(),
            env: self.env.clone(),
            env_files: self.env_file.clone(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            tty: self.tty,
            open_stdin: self.interactive,
            auto_remove: self.rm,
            memory: self.memory.clone(),
            cpus: self.cpus,
            pids_limit: self.pids_limit,
            read_only: self.read_only,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            security_opt: self.security_opt.clone(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            network: self.network.clone(),
            publish: self.publish.clone(),
            volumes: self.volume.clone(),
            labels: self.label.clone(),
            // The store's runtime (--runtime) is recorded so later verbs use the same.
            runtime: Some(paths.runtime.clone()),
            log_opts: self.log_opt.clone(),
            sysctls: self.sysctl.clone(),
        }
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[arg(long, action = clap::ArgAction::HelpLong)]
    help: Option<bool>,
    #[command(flatten)]
    pub flags: ContainerFlags,
}

pub fn run(paths: &StorePaths, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    args.flags.ensure_image(paths)?;
    let record = create(paths, &args.flags.options(paths))?;
    println!("{}", record.id);
    Ok(ExitCode::SUCCESS)
}
