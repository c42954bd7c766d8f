//! The audit policy: which record types are on, and their settings, from a TOML file
//! (`--audit-policy`; `metrics/examples/audit-policy.toml` documents every key).
//!
//! A file that does not parse, has a key this version does not know, names an unknown
//! syscall or a relative or too long path prefix is refused with its line and the
//! reason, before anything is loaded.

use std::ops::Range;
use std::path::{Path, PathBuf};

use berth_ebpf::files::{MAX_PREFIX_LEN, MAX_PREFIXES};
use berth_ebpf::syscall_names::SYSCALL_NAMES;
use berth_ebpf::{EventType, EventTypes};
use serde::Deserialize;
use toml::Spanned;

/// The privileged syscalls reported by default: the ones berth's default seccomp profile
/// logs (one list, so the exporter reports what the profile audits).
pub use berth_spec::seccomp::AUDITED as DEFAULT_PRIVILEGED;

/// The path prefixes of `sensitive_open` by default.
pub const DEFAULT_PREFIXES: &[&str] = &["/etc/", "/root/.ssh/", "/usr/bin/", "/usr/sbin/"];

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The record types on.
    pub events: EventTypes,
    /// privileged_syscall: the syscalls reported.
    pub privileged_syscalls: Vec<String>,
    /// privileged_syscall: also attach per-syscall tracepoints (containers of other
    /// runtimes; costs every syscall of the host).
    pub privileged_tracepoints: bool,
    /// sensitive_open: absolute path prefixes.
    pub sensitive_prefixes: Vec<String>,
}

impl Default for Policy {
    /// What runs without `--audit-policy`: every type that costs nothing outside
    /// containers (process_exec/exit, network_connect/listen, privileged_syscall from
    /// seccomp audit records); sensitive_open and the tracepoints off.
    fn default() -> Self {
        Self {
            events: [
                EventType::ProcessExec,
                EventType::ProcessExit,
                EventType::NetworkConnect,
                EventType::NetworkListen,
                EventType::PrivilegedSyscall,
            ]
            .into_iter()
            .collect(),
            privileged_syscalls: DEFAULT_PRIVILEGED.iter().map(|s| s.to_string()).collect(),
            privileged_tracepoints: false,
            sensitive_prefixes: DEFAULT_PREFIXES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("reading the audit policy {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading failed with.
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error("audit policy {path}, line {line}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the fault.
        line: usize,
        /// What is wrong there.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    events: Option<Spanned<EventsTable>>,
    #[serde(default)]
    privileged_syscall: Option<PrivilegedTable>,
    #[serde(default)]
    sensitive_open: Option<SensitiveTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsTable {
    process_exec: Option<bool>,
    process_exit: Option<bool>,
    network_connect: Option<bool>,
    network_listen: Option<bool>,
    privileged_syscall: Option<bool>,
    sensitive_open: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivilegedTable {
    syscalls: Option<Vec<Spanned<String>>>,
    tracepoints: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveTable {
    prefixes: Option<Vec<Spanned<String>>>,
}

impl Policy {
    /// Reads and checks the policy at `path`.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, reason)| PolicyError::Invalid {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// Checks the policy text; on error, the 1-based line and the reason.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s));
            (line, e.message().to_string())
        })?;
        let mut policy = Policy::default();
        if let Some(events) = &file.events {
            let table = events.get_ref();
            let mut on = EventTypes::NONE;
            for (t, value) in [
                (EventType::ProcessExec, table.process_exec),
                (EventType::ProcessExit, table.process_exit),
                (EventType::NetworkConnect, table.network_connect),
                (EventType::NetworkListen, table.network_listen),
                (EventType::PrivilegedSyscall, table.privileged_syscall),
                (EventType::SensitiveOpen, table.sensitive_open),
            ] {
                if value.unwrap_or_else(|| policy.events.contains(t)) {
                    on.insert(t);
                }
            }
            policy.events = on;
        }
        if let Some(table) = file.privileged_syscall {
            if let Some(names) = table.syscalls {
                policy.privileged_syscalls = checked_syscalls(text, names)?;
            }
            policy.privileged_tracepoints = table.tracepoints.unwrap_or(false);
        }
        if let Some(prefixes) = file.sensitive_open.and_then(|t| t.prefixes) {
            policy.sensitive_prefixes = checked_prefixes(text, prefixes)?;
        }
        Ok(policy)
    }
}

fn checked_syscalls(
    text: &str,
    names: Vec<Spanned<String>>,
) -> Result<Vec<String>, (usize, String)> {
    let mut out = Vec::new();
    for name in names {
        let span = name.span();
        let name = name.into_inner();
        if !SYSCALL_NAMES.contains(&name.as_str()) || name.is_empty() {
            return Err((
                line_of(text, span),
                format!("unknown syscall {name:?} (not an x86_64 syscall name)"),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn checked_prefixes(
    text: &str,
    prefixes: Vec<Spanned<String>>,
) -> Result<Vec<String>, (usize, String)> {
    if prefixes.len() > MAX_PREFIXES {
        let line = prefixes
            .get(MAX_PREFIXES)
            .map_or(1, |p| line_of(text, p.span()));
        return Err((line, format!("at most {MAX_PREFIXES} path prefixes")));
    }
    let mut out = Vec::new();
    for prefix in prefixes {
        let line = line_of(text, prefix.span());
        let prefix = prefix.into_inner();
        if !prefix.starts_with('/') {
            return Err((line, format!("path prefix {prefix:?} is not absolute")));
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return Err((
                line,
                format!("path prefix {prefix:?} is longer than {MAX_PREFIX_LEN} bytes"),
            ));
        }
        out.push(prefix);
    }
    Ok(out)
}

/// The 1-based line where `span` starts in `text`.
fn line_of(text: &str, span: Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_policy_is_valid() {
        let text = include_str!("../../examples/audit-policy.toml");
        let policy = Policy::parse(text).expect("the example parses");
        assert!(policy.events.contains(EventType::SensitiveOpen));
        assert!(policy.sensitive_prefixes.contains(&"/etc/".to_string()));
        assert!(policy.privileged_syscalls.contains(&"unshare".to_string()));
    }

    #[test]
    fn an_empty_policy_is_the_default() {
        assert_eq!(
            Policy::parse("").expect("empty is valid"),
            Policy::default()
        );
    }

    #[test]
    fn faults_are_refused_with_their_line() {
        for (text, line, reason) in [
            (
                "[events]\nprocess_exec = true\nprocess_exce = true\n",
                3,
                "unknown field",
            ),
            ("[events]\nprocess_exec = \"yes\"\n", 2, "invalid type"),
            (
                "[privileged_syscall]\nsyscalls = [\n  \"mount\",\n  \"mountt\",\n]\n",
                4,
                "unknown syscall \"mountt\"",
            ),
            (
                "[sensitive_open]\nprefixes = [\"etc/\"]\n",
                2,
                "not absolute",
            ),
            ("[events\n", 1, ""),
            ("[nope]\n", 1, "unknown field"),
        ] {
            let (got_line, got_reason) = Policy::parse(text).expect_err(text);
            assert_eq!(got_line, line, "{text:?}: {got_reason}");
            assert!(got_reason.contains(reason), "{text:?}: {got_reason}");
        }
    }
}
