//! `exec`: run a new process in a running container. `--user` and `--cap` are parsed here
//! into [`ExecOptions`]; with `--process` they are ignored unparsed, as runc ignores them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use berth_runtime::container::exec::{ExecOptions, ExecUser};
use berth_runtime::oci_spec::runtime::Capability;
use berth_runtime::{Error, capabilities, container};
use clap::Args;

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

impl ExecArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        let id = self.id.clone();
        let code = self
            .options()
            // As runc, which looks the container up before it reads the process flags: a
            // missing container is the error even when a flag is bad too.
            .map_err(|e| container::status::load(root, &id).err().unwrap_or(e))
            .and_then(|opts| container::exec::exec(root, &opts))
            .with_context(|| format!("exec in container {id}"))?;
        Ok(super::exit_status(code))
    }

    fn options(self) -> Result<ExecOptions, Error> {
        if let Some(label) = &self.process_label {
            tracing::debug!("exec: ignoring --process-label {label}: berth has no SELinux support");
        }
        if let Some(profile) = &self.apparmor {
            tracing::debug!("exec: ignoring --apparmor {profile}: berth has no AppArmor support");
        }
        let from_flags = self.process.is_none();
        let user = match &self.user {
            Some(u) if from_flags => Some(parse_user(u)?),
            _ => None,
        };
        let caps = if from_flags {
            self.cap.iter().filter_map(|name| parse_cap(name)).collect()
        } else {
            Vec::new()
        };
        Ok(ExecOptions {
            id: self.id,
            process: self.process,
            args: self.args,
            tty: self.tty,
            console_socket: self.console_socket,
            detach: self.detach,
            pid_file: self.pid_file,
            cwd: self.cwd,
            env: self.env,
            user,
            additional_gids: self.additional_gids,
            caps,
            no_new_privs: self.no_new_privs,
            preserve_fds: self.preserve_fds,
            cgroups: self.cgroups,
            ignore_paused: self.ignore_paused,
        })
    }
}

/// `CAP_KILL`, `kill` or `KILL`; None, with a warning, for a name no kernel knows: as
/// runc, "ignoring unknown or unavailable capabilities", and the process runs.
fn parse_cap(name: &str) -> Option<Capability> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    let cap = capabilities::parse_name("--cap", &full).ok();
    if cap.is_none() {
        tracing::warn!("--cap {name}: unknown capability, ignored");
    }
    cap
}

/// `uid[:gid]`, numeric like runc's.
fn parse_user(s: &str) -> Result<ExecUser, Error> {
    let bad = || Error::InvalidArgument(format!("--user {s:?}: expected uid[:gid] (numbers)"));
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok(ExecUser { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_numeric_uid_with_optional_gid() {
        assert_eq!(
            parse_user("1000").ok(),
            Some(ExecUser {
                uid: 1000,
                gid: None
            })
        );
        assert_eq!(
            parse_user("1000:5").ok(),
            Some(ExecUser {
                uid: 1000,
                gid: Some(5)
            })
        );
        for bad in ["", "root", "1000:", ":5", "1:2:3", "-1"] {
            let err = parse_user(bad).expect_err(bad);
            assert!(err.to_string().contains("--user"), "{err}");
        }
    }

    #[test]
    fn caps_are_taken_with_or_without_prefix_and_unknown_ones_dropped() {
        assert_eq!(parse_cap("CAP_KILL"), Some(Capability::Kill));
        assert_eq!(parse_cap("net_admin"), Some(Capability::NetAdmin));
        assert_eq!(parse_cap("CAP_NO_SUCH_THING"), None);
    }
}
