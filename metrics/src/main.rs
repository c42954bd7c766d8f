//! berth-exporter: serves per-container metrics on /metrics (or prints one exposition
//! with `--once`); `berth-exporter advise-seccomp --container ID` asks a running one
//! for a container's seccomp profile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use berth_ebpf::{AuditOptions, ProbeOptions, Probes};
use berth_metrics::audit::Audit;
use berth_metrics::audit::log_file::LogOptions;
use berth_metrics::audit::policy::Policy;
use berth_metrics::discovery::identity::DEFAULT_LABEL_ALLOWLIST;
use berth_metrics::discovery::{StateDir, StateFormat};
use berth_metrics::seccomp_advice::{self, Mode};
use berth_metrics::{Exporter, ExporterOptions, Format, server};
use clap::{Parser, Subcommand};

/// Per-container cgroup and eBPF metrics for Prometheus.
#[derive(Debug, Parser)]
#[command(
    name = "berth-exporter",
    version,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to serve /metrics on; binding beyond localhost is your explicit choice.
    #[arg(long, env = "BERTH_EXPORTER_LISTEN", default_value = "127.0.0.1:9586")]
    listen: SocketAddr,
    /// Print one exposition (Prometheus text format) to stdout and exit.
    #[arg(long)]
    once: bool,
    /// With --once: print OpenMetrics instead of the Prometheus text format.
    #[arg(long, requires = "once")]
    openmetrics: bool,
    /// berth-runtime state roots (`<root>/<id>/state.json`).
    #[arg(
        long = "berth-root",
        env = "BERTH_EXPORTER_BERTH_ROOTS",
        value_delimiter = ',',
        default_value = "/run/berth/runtime"
    )]
    berth_roots: Vec<PathBuf>,
    /// runc state roots (containerd's `/run/containerd/runc` holds one per namespace).
    #[arg(
        long = "runc-root",
        env = "BERTH_EXPORTER_RUNC_ROOTS",
        value_delimiter = ',',
        default_value = "/run/runc,/run/containerd/runc"
    )]
    runc_roots: Vec<PathBuf>,
    /// crun state roots (`<root>/<id>/status`).
    #[arg(
        long = "crun-root",
        env = "BERTH_EXPORTER_CRUN_ROOTS",
        value_delimiter = ',',
        default_value = "/run/crun"
    )]
    crun_roots: Vec<PathBuf>,
    /// Do not label berth_container_syscalls_total by syscall (one series per container).
    #[arg(long, env = "BERTH_EXPORTER_NO_SYSCALL_LABELS")]
    no_syscall_labels: bool,
    /// Annotation exported as a `container_label_*` label (repeat; replaces the defaults).
    #[arg(long = "label", value_name = "ANNOTATION")]
    labels: Vec<String>,
    /// cgroup v2 mount point (found in /proc/self/mountinfo by default).
    #[arg(long, env = "BERTH_EXPORTER_CGROUP2_ROOT")]
    cgroup2_root: Option<PathBuf>,
    /// Parent cgroups (relative to the v2 root) whose new children are counted before
    /// they are discovered.
    #[arg(long = "watch-subtree", value_delimiter = ',', default_value = "berth")]
    watch_subtrees: Vec<PathBuf>,
    /// Whose syscalls to count: `annotated` (containers annotated
    /// berth.io/syscalls=count), `all` containers, or `off`. The sys_enter/sys_exit
    /// programs cost every syscall of the host while attached, so they are attached
    /// only while a container is counted.
    #[arg(
        long,
        env = "BERTH_EXPORTER_SYSCALLS",
        value_enum,
        default_value_t = berth_metrics::exporter::SyscallMode::Annotated
    )]
    syscalls: berth_metrics::exporter::SyscallMode,
    /// Same as --syscalls=off (the berth_container_syscall* series disappear).
    #[arg(long, env = "BERTH_EXPORTER_NO_SYSCALLS", conflicts_with = "syscalls")]
    no_syscalls: bool,
    /// Do not count failed syscalls (saves the sys_exit tracepoint: about half of the
    /// per-syscall overhead).
    #[arg(long, env = "BERTH_EXPORTER_NO_SYSCALL_ERRORS")]
    no_syscall_errors: bool,
    /// Serve cgroup metrics only; do not load the BPF programs.
    #[arg(long)]
    no_bpf: bool,
    /// Append the audit stream (JSON lines) to this file, rotated by size. The stream
    /// is also served on GET /events.
    #[arg(long, alias = "events-file", env = "BERTH_EXPORTER_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Rotate the audit log when it would grow past this many bytes.
    #[arg(long, env = "BERTH_EXPORTER_AUDIT_LOG_MAX_BYTES", default_value_t = 100 << 20)]
    audit_log_max_bytes: u64,
    /// Rotated audit logs kept (PATH.1 is the newest).
    #[arg(long, env = "BERTH_EXPORTER_AUDIT_LOG_KEEP", default_value_t = 5)]
    audit_log_keep: u32,
    /// Which audit records are on (TOML; see metrics/examples/audit-policy.toml).
    /// Without it: process_exec/exit, network_connect/listen, privileged_syscall.
    #[arg(long, env = "BERTH_EXPORTER_AUDIT_POLICY")]
    audit_policy: Option<PathBuf>,
    /// No audit stream at all (no records, no /events).
    #[arg(long, env = "BERTH_EXPORTER_NO_AUDIT", conflicts_with_all = ["audit_log", "audit_policy"])]
    no_audit: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an OCI `linux.seccomp` profile allowing the syscalls a container made
    /// since its start, as counted by the running exporter at --exporter.
    AdviseSeccomp(AdviseArgs),
}

#[derive(Debug, clap::Args)]
struct AdviseArgs {
    /// The container's id (as its runtime knows it).
    #[arg(long)]
    container: String,
    /// The running exporter (its --listen address).
    #[arg(
        long,
        env = "BERTH_EXPORTER_URL",
        default_value = "http://127.0.0.1:9586"
    )]
    exporter: String,
    /// Log syscalls outside the profile (SCMP_ACT_LOG) instead of refusing them.
    #[arg(long)]
    complain: bool,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(Command::AdviseSeccomp(advise)) = args.command {
        let mode = if advise.complain {
            Mode::Complain
        } else {
            Mode::Enforce
        };
        let profile = seccomp_advice::client::fetch(&advise.exporter, &advise.container, mode)
            .with_context(|| format!("advising a seccomp profile for {}", advise.container))?;
        print!("{profile}");
        return Ok(());
    }

    let cgroup2_root = match args.cgroup2_root {
        Some(root) => root,
        None => berth_cgroups::cgroup2_root().context("finding the cgroup v2 hierarchy")?,
    };
    let syscalls = if args.no_syscalls {
        berth_metrics::exporter::SyscallMode::Off
    } else {
        args.syscalls
    };
    // The policy is checked before anything is loaded.
    let policy = match &args.audit_policy {
        Some(path) => Policy::load(path)?,
        None => Policy::default(),
    };
    let audit_on = !args.no_audit && !args.no_bpf;
    let probes = if args.no_bpf {
        None
    } else {
        let audit = if audit_on {
            AuditOptions {
                events: policy.events,
                sensitive_prefixes: policy.sensitive_prefixes.clone(),
                privileged_tracepoints: if policy.privileged_tracepoints {
                    policy.privileged_syscalls.clone()
                } else {
                    Vec::new()
                },
            }
        } else {
            AuditOptions::default()
        };
        let options = ProbeOptions {
            cgroup2_root: cgroup2_root.clone(),
            syscalls: syscalls != berth_metrics::exporter::SyscallMode::Off,
            syscall_errors: !args.no_syscall_errors,
            audit,
        };
        Some(
            Probes::load(&options)
                .context("loading the BPF programs (root needed; --no-bpf to skip)")?,
        )
    };
    let state_dirs = args
        .berth_roots
        .into_iter()
        .map(|path| StateDir {
            path,
            format: StateFormat::Berth,
        })
        .chain(args.runc_roots.into_iter().map(|path| StateDir {
            path,
            format: StateFormat::Runc,
        }))
        .chain(args.crun_roots.into_iter().map(|path| StateDir {
            path,
            format: StateFormat::Crun,
        }))
        .collect();
    let label_allowlist = if args.labels.is_empty() {
        DEFAULT_LABEL_ALLOWLIST
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.labels
    };
    let options = ExporterOptions {
        state_dirs,
        per_syscall_labels: !args.no_syscall_labels,
        label_allowlist,
        cgroup2_root: cgroup2_root.clone(),
        watch_subtrees: args.watch_subtrees,
        syscalls,
    };
    let mut exporter = Exporter::new(options, probes);

    if args.once {
        let format = if args.openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        print!("{}", exporter.scrape(format));
        return Ok(());
    }
    let audit = match exporter.probes() {
        Some(probes) if audit_on => {
            let log = args.audit_log.map(|path| LogOptions {
                path,
                max_bytes: args.audit_log_max_bytes,
                keep: args.audit_log_keep,
            });
            Some(
                Audit::start(probes, &policy, log, &cgroup2_root)
                    .context("starting the audit stream (--no-audit to run without)")?,
            )
        }
        _ => None,
    };
    if let Some(audit) = &audit {
        exporter.set_audit_losses(Arc::clone(&audit.losses));
    }
    server::serve(&mut exporter, args.listen, audit)
        .with_context(|| format!("serving metrics on {}", args.listen))
}
