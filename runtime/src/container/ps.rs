//! `ps`: the processes of a container's cgroup, as pids (JSON) or as `ps` prints them.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::state::StateDir;

/// Host pids of every process in the container's cgroup (and its sub-cgroups), sorted.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_shared()?;
    let state = dir.load()?;
    Ok(state.cgroup.processes()?)
}

/// runc's table: run the host's `ps` (default `-ef`), keep its header and the lines whose
/// PID column is one of `pids`. Without a `ps` binary: a PID/CMD table from /proc.
pub fn table(pids: &[i32], ps_args: &[String]) -> Result<String> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let output = match Command::new("ps").args(&args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(proc_table(pids)),
        Err(e) => {
            return Err(Error::Io {
                op: "running",
                path: "ps".into(),
                source: e,
            });
        }
    };
    if !output.status.success() {
        return Err(Error::InvalidArgument(format!(
            "ps {}: {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    filter_ps_output(&String::from_utf8_lossy(&output.stdout), pids)
}

/// The header and the lines of `ps` output whose PID field is in `pids`.
fn filter_ps_output(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_index = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| {
            Error::InvalidArgument(format!("couldn't find PID field in ps output: {header:?}"))
        })?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let pid = line
            .split_whitespace()
            .nth(pid_index)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// PID and command line from /proc, for hosts without procps.
fn proc_table(pids: &[i32]) -> String {
    let mut out = format!("{:>8} CMD\n", "PID");
    for pid in pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        out.push_str(&format!("{pid:>8} {cmd}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS_EF: &str = "UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 Nov27 ?        00:00:05 /sbin/init
root        4242       1  0 17:40 ?        00:00:00 sleep 1000
root       14242    4242  0 17:40 ?        00:00:00 sh -c 4242
";

    #[test]
    fn keeps_header_and_lines_of_the_container_pids() {
        let out = filter_ps_output(PS_EF, &[4242]).expect("filter");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].starts_with("UID"));
        assert!(lines[1].contains("sleep 1000"));
    }

    #[test]
    fn output_without_a_pid_column_is_an_error() {
        let err = filter_ps_output("USER COMMAND\nroot init\n", &[1]).expect_err("no PID column");
        assert!(err.to_string().contains("PID"), "{err}");
    }
}
