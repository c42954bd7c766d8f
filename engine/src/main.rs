//! `berth`: docker's everyday commands, daemonless. A thin edge over berth-engine:
//! parsing lives in `cli/`, one file per verb; the work is the library's.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
