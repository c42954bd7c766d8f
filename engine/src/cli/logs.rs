//! `berth logs [--tail N] [-f] [-t] [--since WHEN] CONTAINER`: stdout entries to stdout,
//! stderr entries to stderr, as docker prints them.

use std::io::Write;
use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops::logs::{LogsOptions, logs, parse_since};
use clap::Args;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container stops.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines ("all" for every line).
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Prefix each line with its time (RFC 3339, nanoseconds).
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Only output since a time (RFC 3339, Unix seconds) or a duration ago (10m).
    #[arg(long)]
    pub since: Option<String>,
    pub container: String,
}

pub fn run(paths: &StorePaths, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| anyhow::anyhow!("invalid --tail {n:?}: give a number or \"all\""))?,
        ),
    };
    let opts = LogsOptions {
        follow: args.follow,
        tail,
        since: args.since.as_deref().map(parse_since).transpose()?,
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    logs(paths, &args.container, &opts, &mut |e| {
        let w: &mut dyn Write = if e.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        if args.timestamps {
            write!(w, "{} ", e.time)?;
        }
        w.write_all(e.log.as_bytes())?;
        w.flush()
    })?;
    Ok(ExitCode::SUCCESS)
}
