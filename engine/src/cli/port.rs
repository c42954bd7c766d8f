//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, docker's lines
//! (`80/tcp -> 0.0.0.0:8080`; with a port given, only the host side).

use std::process::ExitCode;

use berth_engine::StorePaths;
use berth_engine::ops;
use clap::Args;

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: String,
    /// Only this container port (`80` or `80/tcp`).
    pub port: Option<String>,
}

pub fn run(paths: &StorePaths, args: &PortArgs) -> anyhow::Result<ExitCode> {
    let ports = ops::port::ports(paths, &args.container)?;
    let Some(want) = &args.port else {
        for p in &ports {
            println!("{} -> {}", p.container, p.host);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let want = if want.contains('/') {
        want.clone()
    } else {
        format!("{want}/tcp")
    };
    let found: Vec<_> = ports.iter().filter(|p| p.container == want).collect();
    if found.is_empty() {
        anyhow::bail!("no public port '{want}' published for {}", args.container);
    }
    for p in found {
        println!("{}", p.host);
    }
    Ok(ExitCode::SUCCESS)
}
