//! berth-runtime: parse, validate, do, report. The command line and its parsing live in
//! [`cli`] (one file per verb), the verbs in the `berth_runtime` library.

use std::process::ExitCode;

use anyhow::{Result, bail};
use berth_runtime::{container, logging};
use clap::Parser;

use crate::cli::{Cli, Command};

mod cli;

/// runc's exit status for its own failures in `exec`: 255, which a command cannot mistake
/// for its exit status 1 (a process exiting 255 is the only overlap, as with runc).
const EXEC_FAILED: u8 = 255;
/// runc's exit status for the failures of every other verb, `run` included (runc 1.1).
const VERB_FAILED: u8 = 1;
/// runc's exit status for an unknown command (urfave/cli's "No help topic").
const UNKNOWN_COMMAND: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e)),
    };
    let failed = match cli.command {
        Command::Exec(_) => EXEC_FAILED,
        _ => VERB_FAILED,
    };
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format.into(), cli.debug) {
        eprintln!("berth-runtime: opening log: {e}");
        return ExitCode::from(failed);
    }
    // Each invocation, as the client made it: a failing lane (dockerd, containerd, podman)
    // then reads what was asked in the runtime's own log (with --debug).
    tracing::debug!(argv = ?std::env::args_os().collect::<Vec<_>>(), "invoked");
    let logs_to_file = cli.log.is_some();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let msg = error_message(&e);
            // With --log the shim reads the file; people at a terminal read stderr.
            if logs_to_file {
                tracing::error!("{msg}");
            }
            eprintln!("berth-runtime: {msg}");
            ExitCode::from(failed)
        }
    }
}

/// `e` and its causes, each said once: most errors here already end with their cause
/// (`opening bundle B: No such file ...`) and also return it from `source()`, which
/// `{:#}` would print a second time.
fn error_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.ends_with(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

/// Print clap's message and pick runc's status: 0 for --help and --version, 3 for an
/// unknown command, 1 for any other bad flag or argument (clap's own choice is 2).
fn usage_error(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    if e.kind() == ErrorKind::DisplayVersion {
        print!("{}", version_text());
        return 0;
    }
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        ErrorKind::InvalidSubcommand => UNKNOWN_COMMAND,
        _ => VERB_FAILED,
    }
}

/// `-v`/`--version`, laid out as runc's (which has a `go:` line where berth has none).
fn version_text() -> String {
    format!(
        "berth-runtime version {}\ncommit: {}\nspec: {}\nlibseccomp: {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("BERTH_RUNTIME_COMMIT"),
        container::create::OCI_VERSION,
        berth_runtime::seccomp::library_version()
            .as_deref()
            .unwrap_or("unknown"),
    )
}

fn dispatch(cli: Cli) -> Result<u8> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: berth manages cgroupfs directly; omit the flag");
    }
    cli.command.run(&cli.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        let e = anyhow::Error::from(berth_runtime::error::Error::Io {
            op: "opening bundle",
            path: "/b".into(),
            source: io,
        })
        .context("running container c");
        assert_eq!(
            error_message(&e),
            format!("running container c: opening bundle /b: {text}")
        );
        // A cause its wrapper does not word is still said.
        let e = anyhow::Error::from(std::io::Error::other("disk on fire")).context("saving state");
        assert_eq!(error_message(&e), "saving state: disk on fire");
    }
}
