//! berth-runtime: parse, validate, do, report.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use berth_runtime::cli::{Cli, Command, CreateArgs, ExecArgs, ListFormat, PsFormat, UpdateArgs};
use berth_runtime::container::{self, CreateOptions};
use berth_runtime::{logging, signal, spec};
use clap::Parser;

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
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("berth-runtime: opening log: {e}");
        return ExitCode::from(failed);
    }
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

fn create_options(a: CreateArgs) -> CreateOptions {
    CreateOptions {
        id: a.id,
        bundle: a.bundle,
        pid_file: a.pid_file,
        console_socket: a.console_socket,
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
    }
}

fn exec_options(a: ExecArgs) -> container::exec::ExecOptions {
    if let Some(label) = &a.process_label {
        tracing::debug!("exec: ignoring --process-label {label}: berth has no SELinux support");
    }
    if let Some(profile) = &a.apparmor {
        tracing::debug!("exec: ignoring --apparmor {profile}: berth has no AppArmor support");
    }
    container::exec::ExecOptions {
        id: a.id,
        process: a.process,
        args: a.args,
        tty: a.tty,
        console_socket: a.console_socket,
        detach: a.detach,
        pid_file: a.pid_file,
        cwd: a.cwd,
        env: a.env,
        user: a.user,
        additional_gids: a.additional_gids,
        caps: a.cap,
        no_new_privs: a.no_new_privs,
        preserve_fds: a.preserve_fds,
        cgroups: a.cgroups,
        ignore_paused: a.ignore_paused,
    }
}

fn update_options(a: UpdateArgs) -> Result<container::update::UpdateOptions> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema and --mem-bw-schema need Intel RDT, which berth does not support");
    }
    Ok(container::update::UpdateOptions {
        resources: a.resources,
        blkio_weight: a.blkio_weight,
        cpu_period: a.cpu_period,
        cpu_quota: a.cpu_quota,
        cpu_burst: a.cpu_burst,
        cpu_share: a.cpu_share,
        cpu_rt_period: a.cpu_rt_period,
        cpu_rt_runtime: a.cpu_rt_runtime,
        cpu_idle: a.cpu_idle,
        cpuset_cpus: a.cpuset_cpus,
        cpuset_mems: a.cpuset_mems,
        kernel_memory: a.kernel_memory,
        kernel_memory_tcp: a.kernel_memory_tcp,
        memory: a.memory,
        memory_reservation: a.memory_reservation,
        memory_swap: a.memory_swap,
        pids_limit: a.pids_limit,
    })
}

fn dispatch(cli: Cli) -> Result<u8> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: berth manages cgroupfs directly; omit the flag");
    }
    let root = cli.root.as_path();
    match cli.command {
        Command::Spec(a) => {
            let profile = if a.hardened {
                spec::Profile::Hardened {
                    seccomp: !a.no_seccomp,
                }
            } else {
                spec::Profile::Runc
            };
            spec::write(&a.bundle, &spec::default_config(a.rootless, profile)?)?;
        }
        Command::Create(a) => {
            let id = a.id.clone();
            container::create(root, &create_options(a))
                .with_context(|| format!("creating container {id}"))?;
        }
        Command::Start { id } => {
            container::start(root, &id).with_context(|| format!("starting container {id}"))?;
        }
        Command::State { id } => {
            let s = container::status::load(root, &id)?;
            // As runc prints it: an empty owner (its `list` fills it in), no final newline.
            print!("{}", serde_json::to_string_pretty(&s.runc_output(""))?);
        }
        Command::Kill { all, id, signal } => {
            let sig = signal::parse(&signal)?;
            container::kill(root, &id, sig, all)?;
        }
        Command::Delete { force, id } => {
            container::delete(root, &id, force)
                .with_context(|| format!("deleting container {id}"))?;
        }
        Command::Run(a) => {
            let id = a.create.id.clone();
            let code = container::run::run(root, &create_options(a.create), a.detach, a.keep)
                .with_context(|| format!("running container {id}"))?;
            return Ok(u8::try_from(code).unwrap_or(255));
        }
        Command::Exec(a) => {
            let id = a.id.clone();
            let code = container::exec::exec(root, &exec_options(a))
                .with_context(|| format!("exec in container {id}"))?;
            return Ok(u8::try_from(code).unwrap_or(255));
        }
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            let pids = container::ps::pids(root, &id)
                .with_context(|| format!("listing processes of container {id}"))?;
            let mut out = std::io::stdout().lock();
            match format {
                PsFormat::Json => writeln!(out, "{}", serde_json::to_string(&pids)?)?,
                PsFormat::Table => write!(out, "{}", container::ps::table(&pids, &ps_args)?)?,
            }
        }
        Command::Pause { id } => {
            container::pause::pause(root, &id)
                .with_context(|| format!("pausing container {id}"))?;
        }
        Command::Resume { id } => {
            container::pause::resume(root, &id)
                .with_context(|| format!("resuming container {id}"))?;
        }
        Command::Update(a) => {
            let id = a.id.clone();
            container::update::update(root, &id, &update_options(a)?)
                .with_context(|| format!("updating container {id}"))?;
        }
        Command::Events {
            interval,
            stats,
            id,
        } => {
            container::events::events(root, &id, stats, interval, &mut std::io::stdout().lock())
                .with_context(|| format!("events of container {id}"))?;
        }
        Command::Features => {
            // Indented like runc's output.
            let mut out = std::io::stdout().lock();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(&container::features::features(), &mut ser)?;
            writeln!(out)?;
        }
        Command::List { format, quiet } => {
            let all = container::list::list(root)?;
            let mut out = std::io::stdout().lock();
            if quiet {
                for s in &all {
                    writeln!(out, "{}", s.id)?;
                }
            } else {
                match format {
                    ListFormat::Json => container::list::write_json(&mut out, root, &all)?,
                    ListFormat::Table => container::list::write_table(&mut out, root, &all)?,
                }
            }
        }
    }
    Ok(0)
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
