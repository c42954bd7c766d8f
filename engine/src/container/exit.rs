//! What the monitor records about a container's run, each file written by rename:
//! - `<runroot>/containers/<id>/monitor.json` ([`MonitorRecord`]): who is watching it;
//! - `<root>/containers/<id>/start.json` ([`StartRecord`]): that and when it started;
//! - `<root>/containers/<id>/exit.json` ([`ExitRecord`]): how it ended.
//!
//! They are facts, not a status word: [`crate::container::status`] derives the status
//! from them and from the processes they name.

use berth_state::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Result, io_err};

/// The monitor process of a container, identified beyond its pid (pids are reused): its
/// start time in clock ticks since boot (`/proc/<pid>/stat` field 22) and the boot id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MonitorRecord {
    pub pid: u32,
    pub start_time: u64,
    pub boot_id: String,
}

/// The container's process started (after the runtime's `start` returned).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartRecord {
    pub started_at: Timestamp,
    /// The container's init pid on the host.
    pub pid: u32,
    pub boot_id: String,
}

/// How the container ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExitRecord {
    /// The process's exit status, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// The cgroup's OOM killer killed a process of the container.
    pub oom_killed: bool,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    /// Why it ended abnormally (the monitor's own failure), empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`): a record made under another boot
/// describes processes that no longer exist.
pub fn boot_id() -> Result<String> {
    let path = "/proc/sys/kernel/random/boot_id";
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(io_err("reading", path))
}

/// The start time of `pid` in clock ticks since boot, None when it does not exist.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after it
    // start past the last ')'. starttime is field 22, the 20th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl MonitorRecord {
    /// The record for the calling process.
    pub fn current() -> Result<Self> {
        let pid = std::process::id();
        Ok(Self {
            pid,
            start_time: process_start_time(pid).unwrap_or(0),
            boot_id: boot_id()?,
        })
    }

    /// True while the process it names is the same, living monitor (not a zombie).
    pub fn is_alive(&self, boot: &str) -> bool {
        if self.boot_id != boot || process_start_time(self.pid) != Some(self.start_time) {
            return false;
        }
        // A zombie (state Z) has exited: its parent has not reaped it yet.
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .ok()
            .and_then(|s| {
                let rest = &s[s.rfind(')')? + 1..];
                rest.split_whitespace()
                    .next()
                    .map(|st| st != "Z" && st != "X")
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_process_is_alive_and_a_changed_start_time_is_not() {
        let me = MonitorRecord::current().expect("record");
        let boot = boot_id().expect("boot id");
        assert!(me.is_alive(&boot));
        let mut other = me.clone();
        other.start_time += 1;
        assert!(!other.is_alive(&boot));
        assert!(!me.is_alive("another-boot"));
    }
}
