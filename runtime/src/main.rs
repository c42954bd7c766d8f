//! berth-runtime: parse, validate, do, report.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use berth_runtime::cli::{Cli, Command, CreateArgs, ListFormat};
use berth_runtime::container::{self, CreateOptions};
use berth_runtime::state::StateOutput;
use berth_runtime::{logging, signal, spec};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("berth-runtime: opening log: {e}");
        return ExitCode::FAILURE;
    }
    let logs_to_file = cli.log.is_some();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let msg = format!("{e:#}");
            // With --log the shim reads the file; people at a terminal read stderr.
            if logs_to_file {
                tracing::error!("{msg}");
            }
            eprintln!("berth-runtime: {msg}");
            ExitCode::FAILURE
        }
    }
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

fn dispatch(cli: Cli) -> Result<u8> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: berth manages cgroupfs directly; omit the flag");
    }
    let root = cli.root.as_path();
    match cli.command {
        Command::Spec(a) => {
            spec::write(&a.bundle, &spec::default_spec(a.rootless))?;
        }
        Command::Create(a) => {
            let id = a.id.clone();
            container::create(root, &create_options(a)).with_context(|| format!("creating container {id}"))?;
        }
        Command::Start { id } => {
            container::start(root, &id).with_context(|| format!("starting container {id}"))?;
        }
        Command::State { id } => {
            let s = container::status::load(root, &id)?;
            let out = StateOutput { oci: s.oci(), rootfs: &s.rootfs, created: &s.created, owner: "root" };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Kill { all, id, signal } => {
            let sig = signal::parse(&signal)?;
            container::kill(root, &id, sig, all)?;
        }
        Command::Delete { force, id } => {
            container::delete(root, &id, force).with_context(|| format!("deleting container {id}"))?;
        }
        Command::Run(a) => {
            let id = a.create.id.clone();
            let code = container::run::run(root, &create_options(a.create), a.detach)
                .with_context(|| format!("running container {id}"))?;
            return Ok(u8::try_from(code).unwrap_or(255));
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
                    ListFormat::Json => {
                        let items: Vec<_> = all
                            .iter()
                            .map(|s| StateOutput { oci: s.oci(), rootfs: &s.rootfs, created: &s.created, owner: "root" })
                            .collect();
                        writeln!(out, "{}", serde_json::to_string(&items)?)?;
                    }
                    ListFormat::Table => {
                        writeln!(out, "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED")?;
                        for s in &all {
                            writeln!(
                                out,
                                "{:<20} {:<8} {:<10} {:<40} {:<32} root",
                                s.id,
                                s.pid,
                                s.status,
                                s.bundle.display(),
                                s.created
                            )?;
                        }
                    }
                }
            }
        }
    }
    Ok(0)
}
