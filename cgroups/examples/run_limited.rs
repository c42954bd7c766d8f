//! Runs a command in a fresh cgroup with a memory and a pids limit, then prints its stats
//! and how long placement took. As root:
//!
//!     cargo run -p berth-cgroups --example run_limited -- 64M 20 /bin/busybox sh -c 'echo hi'

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::time::Instant;

use berth_cgroups::{CgroupPlacement, join_current_process, oci_spec, resolve_path};

fn bytes(s: &str) -> Option<i64> {
    let (n, mult) = match s.strip_suffix(['M', 'm']) {
        Some(n) => (n, 1 << 20),
        None => (s, 1),
    };
    n.parse::<i64>().ok().map(|n| n * mult)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(memory), Some(pids), Some(cmd)) = (
        args.first().and_then(|m| bytes(m)),
        args.get(1).and_then(|p| p.parse::<i64>().ok()),
        args.get(2),
    ) else {
        eprintln!("usage: run_limited MEMORY[M] PIDS COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    match run(memory, pids, cmd, &args[3..]) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("run_limited: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    memory: i64,
    pids: i64,
    cmd: &str,
    args: &[String],
) -> Result<u8, Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let path = resolve_path(None, &format!("example-{}", std::process::id()))?;
    let cg = CgroupPlacement::create(&path)?;
    let created = t0.elapsed();
    let resources: oci_spec::runtime::LinuxResources = serde_json::from_value(serde_json::json!({
        "memory": { "limit": memory, "swap": memory },
        "pids": { "limit": pids },
    }))?;
    let result = (|| {
        cg.apply(&resources)?;
        let applied = t0.elapsed();
        let files = cg.procs_files()?;
        let mut command = Command::new(cmd);
        command.args(args);
        // SAFETY: the closure only calls join_current_process, which is async-signal-safe
        // and does not allocate (the paths were built before the fork).
        unsafe { command.pre_exec(move || join_current_process(&files)) };
        let status = command.status()?;
        let stats = cg.stats()?;
        eprintln!("created in {created:?}, limits applied by {applied:?}");
        eprintln!("{}", serde_json::to_string_pretty(&stats)?);
        Ok::<u8, Box<dyn std::error::Error>>(status.code().unwrap_or(128) as u8)
    })();
    let t1 = Instant::now();
    cg.kill_all(libc::SIGKILL)?;
    cg.remove()?;
    eprintln!("removed in {:?}", t1.elapsed());
    result
}
