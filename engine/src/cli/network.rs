//! `berth network create|ls|rm|inspect`: docker's verbs and output over
//! berth_engine::network.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_engine::network::{CreateOptions, Network, NetworkStore, inspect::inspect};
use clap::{Args, Subcommand};
use ipnet::Ipv4Net;

use super::table::{print_table, render};

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
    ]
}

fn ls(store: &NetworkStore, a: &LsArgs) -> anyhow::Result<ExitCode> {
    let nets = store.list().context("listing networks")?;
    match (a.quiet, a.format.as_deref()) {
        (true, _) => nets
            .iter()
            .for_each(|n| println!("{}", short(&n.id, a.no_trunc))),
        (false, Some("json")) => {
            for n in &nets {
                let obj: serde_json::Map<String, serde_json::Value> = fields(n, a.no_trunc)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into()))
                    .collect();
                println!("{}", serde_json::Value::Object(obj));
            }
        }
        (false, Some(t)) => nets
            .iter()
            .for_each(|n| println!("{}", render(t, &fields(n, a.no_trunc)))),
        (false, None) => {
            let header = ["NETWORK ID", "NAME", "DRIVER", "SCOPE"].map(String::from);
            let rows: Vec<Vec<String>> = nets
                .iter()
                .map(|n| {
                    vec![
                        short(&n.id, a.no_trunc).to_string(),
                        n.name.clone(),
                        n.driver.clone(),
                        "local".to_string(),
                    ]
                })
                .collect();
            print_table(&header, &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The top-level fields of the network and volume documents a `--format` template can name.
const KEYS: [&str; 13] = [
    "Name",
    "Id",
    "Created",
    "CreatedAt",
    "Scope",
    "Driver",
    "Mountpoint",
    "Labels",
    "Options",
    "Containers",
    "IPAM",
    "EnableIPv6",
    "Internal",
];

/// `inspect` of each name: the documents found printed as one array (or template
/// lines), `berth: <error>` for each name not found; exit 1 if any was not.
pub fn inspect_all<T: serde::Serialize, E: std::fmt::Display>(
    names: &[String],
    format: Option<&str>,
    mut find: impl FnMut(&str) -> Result<T, E>,
) -> anyhow::Result<ExitCode> {
    let mut docs = Vec::new();
    let mut failed = false;
    for n in names {
        match find(n) {
            Ok(doc) => docs.push(doc),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    print_documents(&docs, format)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// docker's inspect output: a JSON array (indented), or a template per document filled
/// from its top-level fields (strings as they are, others as JSON).
fn print_documents<T: serde::Serialize>(docs: &[T], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(docs)?),
        Some(t) => {
            for d in docs {
                let d = serde_json::to_value(d)?;
                let fields: Vec<(&'static str, String)> = KEYS
                    .iter()
                    .filter_map(|k| {
                        let v = d.get(*k)?;
                        Some((*k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    })
                    .collect();
                println!("{}", render(t, &fields));
            }
        }
    }
    Ok(())
}
