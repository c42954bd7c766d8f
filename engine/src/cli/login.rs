//! `berth login [-u USER] [-p PASS | --password-stdin] [SERVER]`: checks the
//! credentials with the registry, then stores them (0600) in berth's auth file.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use berth_images::registry::{self, Credentials};

/// `berth login`
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// User name (asked for on a terminal when missing).
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (visible in `ps`: prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry (`host[:port]`); Docker Hub when omitted.
    pub server: Option<String>,
}

pub fn run(args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let server = registry::login::normalize(args.server.as_deref().unwrap_or(""));
    let username = match &args.username {
        Some(u) => u.clone(),
        None => prompt("Username: ", true)?,
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p.clone(),
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password: ", false)?,
    };
    if username.is_empty() || password.is_empty() {
        anyhow::bail!("login to {server}: a user name and a password are required");
    }
    match registry::login(&server, &Credentials { username, password }) {
        Ok(()) => {
            println!("Login Succeeded");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("berth: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Asks on the terminal; the password without echo.
fn prompt(label: &str, echo: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "{}required (not a terminal: give -u and --password-stdin)",
            label.to_lowercase().replace(": ", " ")
        );
    }
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let saved = if echo {
        None
    } else {
        let saved = nix::sys::termios::tcgetattr(&stdin).context("reading terminal settings")?;
        let mut quiet = saved.clone();
        quiet
            .local_flags
            .remove(nix::sys::termios::LocalFlags::ECHO);
        nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &quiet)
            .context("turning terminal echo off")?;
        Some(saved)
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &saved);
        eprintln!();
    }
    read.context("reading from the terminal")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
