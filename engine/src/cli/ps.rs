//! `berth ps [-a] [-l] [-q] [-n N] [--no-trunc] [--format json|TEMPLATE]`: docker's
//! table (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES), ids only, one
//! JSON object per line, or a Go-template-like `{{.Field}}` line per container.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::container::id;
use berth_engine::network::NetworkMode;
use berth_engine::ops::display;
use berth_engine::ops::list::{ContainerSummary, ListOptions, list};
use berth_engine::volume::{VolumeSource, VolumeSpec};
use clap::Args;
use serde_json::{Value, json};

use super::template::{Format, row};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// All containers (default: running ones).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The latest created container (any state).
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// The N latest created containers (any state).
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Only ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Do not truncate ids and commands.
    #[arg(long)]
    pub no_trunc: bool,
    /// `json` (one object per line) or a template such as '{{.ID}} {{.Names}}'
    /// (`table ...` prints a header).
    #[arg(long)]
    pub format: Option<String>,
}

/// docker's fields of one row.
fn fields(c: &ContainerSummary, no_trunc: bool) -> Vec<(&'static str, String)> {
    let r = &c.record;
    let args = r.process.args();
    let mut command = args.join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = format!("{}…", command.chars().take(19).collect::<String>());
    }
    let ports = r
        .network_attachment
        .as_ref()
        .and_then(|a| a.get("ports"))
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let ip = p
                        .get("host_ip")
                        .and_then(Value::as_str)
                        .unwrap_or("0.0.0.0");
                    let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
                    format!(
                        "{ip}:{}->{}/{}",
                        p.get("host_port").unwrap_or(&json!(0)),
                        p.get("container_port").unwrap_or(&json!(0)),
                        p.get("protocol").and_then(Value::as_str).unwrap_or("tcp")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|_| c.state.is_running())
        .unwrap_or_default();
    let labels: Vec<String> = r
        .process
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let labels = labels.join(",");
    // docker: a volume's name or a bind's host path, each cut to 15 characters unless
    // --no-trunc; LocalVolumes counts the volumes.
    let mut mounts = Vec::new();
    let mut local_volumes = 0;
    for spec in r
        .host
        .volumes
        .iter()
        .filter_map(|v| VolumeSpec::parse(v).ok())
    {
        let name = match spec.source {
            VolumeSource::Bind(p) => p.display().to_string(),
            VolumeSource::Named(n) => {
                local_volumes += 1;
                n
            }
            VolumeSource::Anonymous => {
                local_volumes += 1;
                continue;
            }
        };
        mounts.push(if no_trunc { name } else { ellipsis(&name, 15) });
    }
    let networks = NetworkMode::parse(&r.host.network)
        .map(|m| m.to_string())
        .unwrap_or_else(|_| r.host.network.clone());
    vec![
        (
            "ID",
            if no_trunc {
                r.id.clone()
            } else {
                id::short(&r.id).to_string()
            },
        ),
        ("Image", r.image.clone()),
        ("Command", format!("\"{command}\"")),
        ("CreatedAt", r.created.to_string()),
        ("RunningFor", display::ago(&r.created)),
        ("Status", display::status_text(&c.state)),
        ("State", c.state.status.as_str().to_string()),
        ("Ports", ports),
        ("Names", r.name.clone()),
        ("Labels", labels),
        ("Mounts", mounts.join(",")),
        ("Networks", networks),
        // docker without --size: no figure.
        ("Size", "0B".to_string()),
        ("LocalVolumes", local_volumes.to_string()),
    ]
}

/// docker's Ellipsis: at most `max` characters, the last one `…` when cut.
fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// docker's `ps` table.
const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// docker's column names of ps's fields.
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("Size", "SIZE"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

pub fn run(paths: &StorePaths, args: &PsArgs) -> anyhow::Result<ExitCode> {
    let opts = ListOptions {
        all: args.all,
        last: args.last,
        latest: args.latest,
    };
    // A bad template fails before the store is read.
    let format = Format::parse(args.format.as_deref(), DEFAULT_TABLE)?;
    let rows = list(paths, opts)?;
    if args.quiet {
        for c in &rows {
            let f = fields(c, args.no_trunc);
            println!("{}", f[0].1);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Value> = rows.iter().map(|c| row(fields(c, args.no_trunc))).collect();
    format.print(&rows, HEADERS, "*formatter.ContainerContext")?;
    Ok(ExitCode::SUCCESS)
}
