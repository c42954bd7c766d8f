//! `berth network create|ls|rm|inspect`: docker's verbs and output over
//! berth_engine::network.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_engine::network::{CreateOptions, Network, NetworkStore, inspect::inspect};
use clap::{Args, Subcommand};
use ipnet::Ipv4Net;

use super::inspect::inspect_all;
use super::template::{Format, row};

#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a bridge network. Creating `berth0` before its first use configures the
    /// default network (e.g. its --subnet).
    Create(CreateArgs),
    /// List networks.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove networks.
    #[command(visible_alias = "remove")]
    Rm(NamesArgs),
    /// Show networks as a JSON array.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The driver; only `bridge`.
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// The IPv4 subnet (CIDR); one clear of the host's routes is picked when not given.
    #[arg(long)]
    pub subnet: Option<Ipv4Net>,
    /// The gateway (the host's address on the bridge); the subnet's first address by default.
    #[arg(long)]
    pub gateway: Option<Ipv4Addr>,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Full ids.
    #[arg(long)]
    pub no_trunc: bool,
    /// `json` (one object per line) or a template such as '{{.Name}}'.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `json` (the default) or a template such as '{{.Name}}'.
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

pub fn run(paths: &StorePaths, args: &NetworkArgs) -> anyhow::Result<ExitCode> {
    let store = NetworkStore::open(paths);
    match &args.command {
        NetworkCommand::Create(a) => {
            if a.driver != "bridge" {
                anyhow::bail!(
                    "network driver {:?} is not supported (only bridge)",
                    a.driver
                );
            }
            let opts = CreateOptions {
                subnet: a.subnet,
                gateway: a.gateway,
            };
            let net = store
                .create(&a.name, &opts)
                .with_context(|| format!("creating network {}", a.name))?;
            println!("{}", net.id);
            Ok(ExitCode::SUCCESS)
        }
        NetworkCommand::Ls(a) => ls(&store, a),
        NetworkCommand::Rm(a) => super::each(&a.networks, |n| store.remove(n).map(|_| ())),
        NetworkCommand::Inspect(a) => inspect_all(&a.networks, a.format.as_deref(), |n| {
            store.get(n).and_then(|net| inspect(&store, &net))
        }),
    }
}

fn short(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        id.get(..12).unwrap_or(id)
    }
}

fn fields(n: &Network, no_trunc: bool) -> Vec<(&'static str, String)> {
    vec![
        ("ID", short(&n.id, no_trunc).to_string()),
        ("Name", n.name.clone()),
        ("Driver", n.driver.clone()),
        ("Scope", "local".to_string()),
        ("IPv6", "false".to_string()),
        ("Internal", "false".to_string()),
        ("CreatedAt", n.created.to_string()),
        ("Labels", String::new()),
    ]
}

/// docker's column names of the network fields.
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("CreatedAt", "CREATED AT"),
    ("Labels", "LABELS"),
];

fn ls(store: &NetworkStore, a: &LsArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
    )?;
    let nets = store.list().context("listing networks")?;
    if a.quiet {
        nets.iter()
            .for_each(|n| println!("{}", short(&n.id, a.no_trunc)));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<_> = nets.iter().map(|n| row(fields(n, a.no_trunc))).collect();
    format.print(&rows, HEADERS, "*formatter.networkContext")?;
    Ok(ExitCode::SUCCESS)
}
