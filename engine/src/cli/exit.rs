//! docker's exit codes at the command's edge, in one place:
//! - a flag berth does not know or cannot parse (`run --nosuchflag`, `--cpus abc`): 125,
//!   as docker's flag errors; a missing argument or an unknown verb: 1 (docker 28 here:
//!   `docker run` and `docker nosuchcmd` exit 1); `--help` and `--version`: 0;
//! - a verb that fails: 1 (docker's CLI for any error from the daemon: no such
//!   container, image, network ...), except `run` and `create`, whose own failures are
//!   125; a command the runtime cannot run (126) or cannot find (127) keeps its code.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

use super::{Cli, Command};

/// Which exit-code rule a verb follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `run` and `create`: their own failures are 125.
    RunOrCreate,
    /// Every other verb: a failure is 1.
    Other,
}

impl Verb {
    pub fn of(command: &Command) -> Verb {
        match command {
            Command::Run(_) | Command::Create(_) => Verb::RunOrCreate,
            _ => Verb::Other,
        }
    }
}

/// The exit code of a verb that failed with `e`.
pub fn for_error(verb: Verb, e: &anyhow::Error) -> u8 {
    let engine_code = e
        .downcast_ref::<berth_engine::EngineError>()
        .map(berth_engine::EngineError::exit_code);
    match (engine_code, verb) {
        (Some(code @ (126 | 127)), _) => code,
        (_, Verb::RunOrCreate) => 125,
        (_, Verb::Other) => 1,
    }
}

/// The exit code docker gives a command line it cannot parse.
pub fn for_parse_error(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        ErrorKind::MissingRequiredArgument | ErrorKind::InvalidSubcommand => 1,
        _ => 125,
    }
}

/// Parses the command line; on an error (or help, version) prints clap's text and
/// returns the exit code.
pub fn parse() -> Result<Cli, ExitCode> {
    let result = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    result.map_err(|e| {
        let code = for_parse_error(e.kind());
        // clap's usage line of a missing argument names the options that were given,
        // global ones included (`Usage: berth run --root <ROOT> <IMAGE>` when
        // BERTH_ROOT is set): parse again with each verb's own usage, as docker prints it.
        let e = if e.kind() == ErrorKind::MissingRequiredArgument {
            with_verb_usage(Cli::command(), "berth")
                .try_get_matches()
                .err()
                .unwrap_or(e)
        } else {
            e
        };
        // stdout for help and version, stderr for errors (clap's choice).
        let _ = e.print();
        ExitCode::from(code)
    })
}

/// `cmd` with every subcommand's usage fixed to its own arguments (no global option).
fn with_verb_usage(cmd: clap::Command, bin: &str) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        let bin_name = format!("{bin} {name}");
        cmd.mut_subcommand(&name, |sub| {
            let usage = sub.clone().bin_name(&bin_name).render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ").to_string();
            with_verb_usage(sub, &bin_name).override_usage(usage)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_get_dockers_codes() {
        let code = |args: &[&str]| {
            let e = Cli::command()
                .try_get_matches_from(args)
                .expect_err("an error");
            for_parse_error(e.kind())
        };
        assert_eq!(code(&["berth", "run", "--nosuchflag", "busybox"]), 125);
        assert_eq!(code(&["berth", "run", "--cpus", "abc", "busybox"]), 125);
        assert_eq!(code(&["berth", "ps", "--nosuch"]), 125);
        assert_eq!(code(&["berth", "run"]), 1);
        assert_eq!(code(&["berth", "nosuchcmd"]), 1);
        assert_eq!(code(&["berth", "--help"]), 0);
        assert_eq!(code(&["berth", "--version"]), 0);
    }

    #[test]
    fn a_verbs_usage_names_no_global_option() {
        let e = with_verb_usage(Cli::command(), "berth")
            .try_get_matches_from(["berth", "--root", "/x", "run"])
            .expect_err("no image");
        let text = e.render().to_string();
        assert!(
            text.contains("Usage: berth run [OPTIONS] <IMAGE> [COMMAND]..."),
            "{text}"
        );
        assert!(!text.contains("--root"), "{text}");
    }

    #[test]
    fn failures_are_1_except_run_and_creates_own() {
        let no_such = anyhow::Error::new(berth_engine::EngineError::NoSuchContainer("x".into()));
        assert_eq!(for_error(Verb::Other, &no_such), 1);
        assert_eq!(for_error(Verb::RunOrCreate, &no_such), 125);
        let not_found = anyhow::Error::new(berth_engine::EngineError::Monitor(
            "exec: \"nosuch\": executable file not found in $PATH".into(),
        ));
        assert_eq!(for_error(Verb::Other, &not_found), 127);
        assert_eq!(for_error(Verb::RunOrCreate, &not_found), 127);
    }
}
