//! `top`: the container's processes with `ps -ef`'s columns, as docker prints them
//! (UID PID PPID C STIME TTY TIME CMD). The pids come from the runtime
//! (`<runtime> ps --format json ID`); each is read from the host's /proc.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::container::{status, store};
use crate::error::{EngineError, Result};
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;

/// docker's `top` titles.
pub const TITLES: [&str; 8] = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];

/// The Docker API's `ContainerTopOKBody`: titles and one row of cells per process.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// The processes of running container `query` in `ps -ef`'s columns: [`top_with`]
/// without ps options.
pub fn top(paths: &StorePaths, query: &str) -> Result<Top> {
    top_with(paths, query, &[])
}

/// The processes of running container `query`: with no `ps_args`, `ps -ef`'s columns
/// read from /proc; with some (docker's `top CONTAINER [ps OPTIONS]`, the API's
/// `ps_args`), the host's `ps` with them, its rows kept for the container's pids (docker's
/// way: the output needs a PID column). Errors: no such container, not running
/// ([`EngineError::Conflict`]), the runtime's or ps's failure
/// ([`EngineError::InvalidArgument`] for options ps refuses or without PID).
pub fn top_with(paths: &StorePaths, query: &str, ps_args: &[String]) -> Result<Top> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    if !status::derive(paths, &record)?.is_running() {
        return Err(EngineError::Conflict(format!(
            "container {id} is not running"
        )));
    }
    let runtime = OciRuntime::for_container(paths, &record);
    let out = runtime
        .command()
        .args(["ps", "--format", "json", &id])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| runtime_error(&runtime, &id, format!("starting the runtime: {e}")))?;
    if !out.status.success() {
        return Err(runtime_error(
            &runtime,
            &id,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let mut pids: Vec<u32> = serde_json::from_slice(&out.stdout).map_err(|e| {
        runtime_error(
            &runtime,
            &id,
            format!("its ps printed no JSON list of pids: {e}"),
        )
    })?;
    pids.sort_unstable();
    if !ps_args.is_empty() {
        return host_ps(ps_args, &pids);
    }
    let clock = Clock::now();
    Ok(Top {
        titles: TITLES.iter().map(|t| t.to_string()).collect(),
        // A process that ended since the runtime listed it is left out.
        processes: pids.iter().filter_map(|p| row(*p, &clock)).collect(),
    })
}

fn runtime_error(runtime: &OciRuntime, id: &str, message: String) -> EngineError {
    EngineError::Runtime {
        verb: "ps",
        id: id.to_string(),
        runtime: runtime.bin.display().to_string(),
        message,
    }
}

/// The host's `ps ARGS`, only the rows of `pids` (found in its PID column).
fn host_ps(args: &[String], pids: &[u32]) -> Result<Top> {
    let out = std::process::Command::new("ps")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| EngineError::InvalidArgument(format!("running ps {args:?}: {e}")))?;
    if !out.status.success() {
        return Err(EngineError::InvalidArgument(format!(
            "ps {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_at = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::InvalidArgument(format!("ps {args:?} prints no PID column")))?;
    let mut processes = Vec::new();
    for line in lines {
        // The last column (a command) may hold spaces: split into as many cells as titles.
        let mut cells: Vec<String> = Vec::with_capacity(titles.len());
        let mut rest = line.trim_start();
        while cells.len() + 1 < titles.len() {
            let (cell, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            cells.push(cell.to_string());
            rest = tail.trim_start();
        }
        cells.push(rest.to_string());
        if cells
            .get(pid_at)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            processes.push(cells);
        }
    }
    Ok(Top { titles, processes })
}

/// What turns /proc's clock ticks into times.
struct Clock {
    ticks: u64,
    boot_time: u64,
    now: u64,
}

impl Clock {
    fn now() -> Self {
        // SAFETY: sysconf has no memory effects.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let boot_time = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            ticks: u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100),
            boot_time,
            now,
        }
    }
}

/// One `ps -ef` row of host pid `pid`; None when it is gone.
fn row(pid: u32, clock: &Clock) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The comm field is in parentheses and may hold spaces and parentheses itself.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map_or("", |(_, c)| c);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, tty_nr 7, utime 14, stime 15,
    // starttime 22.
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let ppid = field(4);
    let tty = tty_name(field(7));
    let cpu_ticks = field(14) + field(15);
    let start = clock.boot_time + field(22) / clock.ticks;
    let elapsed = clock.now.saturating_sub(start).max(1);
    let c = (cpu_ticks / clock.ticks) * 100 / elapsed;
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_default();
    let user = uid
        .parse::<u32>()
        .ok()
        .and_then(|u| nix::unistd::User::from_uid(u.into()).ok().flatten())
        .map_or(uid, |u| u.name);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let cmd = if args.is_empty() {
        format!("[{comm}]")
    } else {
        args.join(" ")
    };
    let secs = cpu_ticks / clock.ticks;
    Some(vec![
        user,
        pid.to_string(),
        ppid.to_string(),
        c.to_string(),
        stime(start, clock.now),
        tty,
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
        cmd,
    ])
}

/// `ps`'s TTY: `?` for none, `pts/N` for a pty.
fn tty_name(tty_nr: u64) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 => format!("tty{minor}"),
        _ => format!("{major}:{minor}"),
    }
}

/// `ps`'s STIME: `HH:MM` for a process started today (local time), else `MonDD`.
fn stime(start: u64, now: u64) -> String {
    let (Some(s), Some(n)) = (local(start), local(now)) else {
        return "?".into();
    };
    if (s.tm_year, s.tm_yday) == (n.tm_year, n.tm_yday) {
        format!("{:02}:{:02}", s.tm_hour, s.tm_min)
    } else {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!("{}{:02}", MONTHS[s.tm_mon.clamp(0, 11) as usize], s.tm_mday)
    }
}

fn local(t: u64) -> Option<libc::tm> {
    let t = libc::time_t::try_from(t).ok()?;
    // SAFETY: localtime_r writes the tm we own; tm is plain data (all-zero is valid).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    (!r.is_null()).then_some(tm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_row_has_ps_columns() {
        let r = row(std::process::id(), &Clock::now()).expect("our /proc entry");
        assert_eq!(r.len(), TITLES.len());
        assert_eq!(r[1], std::process::id().to_string());
        assert!(r[6].len() == 8 && r[6].as_bytes()[2] == b':', "{r:?}");
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
    }
}
