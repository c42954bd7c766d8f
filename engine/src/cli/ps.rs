//! `berth ps [-a] [-l] [-q] [-n N] [--no-trunc] [--format json|TEMPLATE]`: docker's
//! table (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES), ids only, one
//! JSON object per line, or a Go-template-like `{{.Field}}` line per container.

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::container::id;
use berth_engine::ops::display;
use berth_engine::ops::list::{ContainerSummary, ListOptions, list};
use clap::Args;
use serde_json::{Value, json};

use super::table::{print_table, render};

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
    ]
}

pub fn run(paths: &StorePaths, args: &PsArgs) -> anyhow::Result<ExitCode> {
    let opts = ListOptions {
        all: args.all,
        last: args.last,
        latest: args.latest,
    };
    let rows = list(paths, opts)?;
    if args.quiet {
        for c in &rows {
            let f = fields(c, args.no_trunc);
            println!("{}", f[0].1);
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format.as_deref() {
        Some("json") | Some("{{json .}}") => {
            for c in &rows {
                let obj: serde_json::Map<String, Value> = fields(c, args.no_trunc)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                println!("{}", Value::Object(obj));
            }
        }
        Some(t) if !t.starts_with("table") => {
            for c in &rows {
                println!("{}", render(t, &fields(c, args.no_trunc)));
            }
        }
        other => {
            let headers = [
                ("ID", "CONTAINER ID"),
                ("Image", "IMAGE"),
                ("Command", "COMMAND"),
                ("RunningFor", "CREATED"),
                ("Status", "STATUS"),
                ("Ports", "PORTS"),
                ("Names", "NAMES"),
            ];
            let chosen: Vec<(&str, &str)> = match other.and_then(|t| t.strip_prefix("table")) {
                Some(t) if !t.trim().is_empty() => headers
                    .iter()
                    .copied()
                    .filter(|(k, _)| t.contains(&format!(".{k}")))
                    .collect(),
                _ => headers.to_vec(),
            };
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|c| {
                    let f = fields(c, args.no_trunc);
                    chosen
                        .iter()
                        .map(|(k, _)| {
                            f.iter()
                                .find(|(n, _)| n == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect();
            print_table(
                &chosen
                    .iter()
                    .map(|(_, h)| h.to_string())
                    .collect::<Vec<_>>(),
                &table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
