//! `berth stats [--no-stream] [--format json|TEMPLATE] [CONTAINER...]`: docker's columns
//! (CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS), read
//! from the cgroups each second; `--no-stream` prints one table (CPU % over a short
//! interval, as docker's first reading is).

use std::process::ExitCode;
use std::time::Duration;

use berth_engine::StorePaths;
use berth_engine::container::id::short;
use berth_engine::ops;
use berth_engine::ops::list::ListOptions;
use berth_engine::ops::stats::{StatsSample, cpu_percent, sample};
use berth_images::display::human_size;
use clap::Args;

use super::template::{Format, row};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one reading and exit.
    #[arg(long)]
    pub no_stream: bool,
    /// Stopped containers too.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// `json` (one object per container and line) or a Go-style template (`{{.Name}}`).
    #[arg(long)]
    pub format: Option<String>,
    /// Containers (default: all running).
    pub containers: Vec<String>,
}

/// The interval between two readings (and for CPU % with --no-stream).
const INTERVAL: Duration = Duration::from_millis(1000);

pub fn run(paths: &StorePaths, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(args.format.as_deref(), DEFAULT_TABLE)?;
    let targets: Vec<String> = if args.containers.is_empty() {
        let opts = ListOptions {
            all: args.all,
            ..Default::default()
        };
        ops::list::list(paths, opts)?
            .into_iter()
            .map(|c| c.record.id)
            .collect()
    } else {
        args.containers.clone()
    };
    let read = |targets: &[String]| -> anyhow::Result<Vec<StatsSample>> {
        targets
            .iter()
            .map(|c| sample(paths, c).map_err(anyhow::Error::from))
            .collect()
    };
    let mut prev = read(&targets)?;
    loop {
        std::thread::sleep(if args.no_stream {
            Duration::from_millis(500)
        } else {
            INTERVAL
        });
        let cur = read(&targets)?;
        if !args.no_stream && args.format.is_none() {
            // docker's screen: clear and home.
            print!("\x1b[2J\x1b[H");
        }
        print(&prev, &cur, &format)?;
        if args.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
        prev = cur;
    }
}

/// docker's stats table.
const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// docker's column names of the stats fields.
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

fn print(prev: &[StatsSample], cur: &[StatsSample], format: &Format) -> anyhow::Result<()> {
    let rows: Vec<_> = prev
        .iter()
        .zip(cur)
        .map(|(p, c)| row(fields(p, c)))
        .collect();
    format.print(&rows, HEADERS, "formatter.containerStatsContext")?;
    Ok(())
}

/// docker's stats fields (`docker stats --format json` names them so).
fn fields(prev: &StatsSample, cur: &StatsSample) -> Vec<(&'static str, String)> {
    let pair = |a: u64, b: u64| format!("{} / {}", human_size(a), human_size(b));
    vec![
        ("BlockIO", pair(cur.block_read, cur.block_write)),
        ("CPUPerc", format!("{:.2}%", cpu_percent(prev, cur))),
        ("Container", short(&cur.id).to_string()),
        ("ID", short(&cur.id).to_string()),
        ("MemPerc", format!("{:.2}%", cur.memory_percent())),
        ("MemUsage", mem_pair(cur.memory_usage, cur.memory_limit)),
        ("Name", cur.name.clone()),
        ("NetIO", pair(cur.net_rx, cur.net_tx)),
        ("PIDs", cur.pids.to_string()),
    ]
}

/// docker prints memory in binary units (`1.2MiB / 7.7GiB`).
fn mem_pair(used: u64, limit: u64) -> String {
    format!("{} / {}", binary_size(used), binary_size(limit))
}

fn binary_size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    // Go's %.4g, as docker's go-units prints it: 4 significant digits, no trailing zeros.
    let decimals = match v {
        v if v >= 1000.0 => 0,
        v if v >= 100.0 => 1,
        v if v >= 10.0 => 2,
        _ => 3,
    };
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::binary_size;

    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(binary_size(432 * 1024), "432KiB");
        assert_eq!(binary_size(25_275_000_000), "23.54GiB");
        assert_eq!(binary_size(512), "512B");
        assert_eq!(binary_size(1024 * 1024), "1MiB");
    }
}
