//! `berth exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...`: a process
//! in a running container ([`berth_engine::exec`]); berth exits with its code (126 when
//! it cannot be executed, 127 when it is not found, as docker).

use std::os::fd::AsFd;
use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::exec::{self, ExecConfig, StartOptions};
use berth_engine::terminal::{self, RawMode};
use clap::Args;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Run the command in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep stdin open and pass it to the command.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to pass the caller's value).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// User and group: name|uid[:group|gid].
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    pub container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &ExecArgs) -> anyhow::Result<ExitCode> {
    let console_size = if args.tty {
        terminal::window_size(std::io::stdin().as_fd())
    } else {
        None
    };
    let config = ExecConfig {
        cmd: args.command.clone(),
        env: caller_env(&args.env),
        working_dir: args.workdir.clone(),
        user: args.user.clone(),
        tty: args.tty,
        attach_stdin: args.interactive && !args.detach,
        attach_stdout: !args.detach,
        attach_stderr: !args.detach,
        console_size,
    };
    let id = exec::create(paths, &args.container, &config)?;
    if args.detach {
        exec::start(paths, &id, StartOptions { detach: true })?;
        return Ok(ExitCode::SUCCESS);
    }
    // Raw only when our keys go to the process (`-it`).
    let raw = if args.tty && args.interactive {
        RawMode::stdin()?
    } else {
        None
    };
    let exec_id = id.clone();
    super::attach::terminal_signals(args.tty, raw.as_ref(), move || {
        if let Some(size) = terminal::window_size(std::io::stdin().as_fd())
            && let Err(e) = exec::resize(&exec_id, size)
        {
            tracing::debug!("resizing exec {exec_id}: {e}");
        }
    })?;
    let process = exec::start(paths, &id, StartOptions::default())?;
    let input = args.interactive.then(std::io::stdin);
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let code = process.run_plain(input, &mut out, &mut err);
    drop(raw);
    let code = code?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// `-e KEY` takes the caller's value of KEY (dropped when the caller has none), as
/// docker's CLI does; `-e KEY=VALUE` is kept as given.
fn caller_env(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter_map(|kv| {
            if kv.contains('=') {
                Some(kv.clone())
            } else {
                std::env::var(kv).ok().map(|v| format!("{kv}={v}"))
            }
        })
        .collect()
}
