//! `berth __exec-shim --pid-file P -- RUNTIME ARGS...`: the hidden parent of a `-t`
//! exec's process (berth_engine::exec::shim). Only berth itself starts it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ExecShimArgs {
    #[arg(long)]
    pub pid_file: PathBuf,
    /// The runtime's detached exec command line (named `command`: `--runtime` is global).
    #[arg(last = true, required = true)]
    pub command: Vec<OsString>,
}

pub fn run(args: &ExecShimArgs) -> ExitCode {
    ExitCode::from(berth_engine::exec::shim::run(&args.pid_file, &args.command))
}
