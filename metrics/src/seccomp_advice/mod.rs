//! Seccomp advice: an OCI `linux.seccomp` profile allowing exactly the syscalls a
//! container was seen to make, from the exporter's BPF syscall counts.
//!
//! - [`advise`]: the advice for one container of a running [`Exporter`] (what
//!   `GET /seccomp-profile?container=ID` serves);
//! - [`profile`]: syscall numbers to the profile, no kernel;
//! - [`client`]: `berth-exporter advise-seccomp` asking a running exporter over HTTP
//!   (the counts live in the serving process's BPF maps, nowhere else).
//!
//! The counts are per cgroup v2 id, and a container's begin when the exporter
//! discovers it (within a second of `create`, with its `berth.io/syscalls=count`
//! annotation): for a complete profile, create the container, wait until the exporter
//! lists it, then start it. Its runtime's init runs on in the container between loading
//! the filter and `execve`, and those syscalls may come before counting began: the
//! profile always allows [`RUNTIME_INIT_SYSCALLS`] as well. A container created before
//! the exporter began counting (a restarted exporter) gets no advice: it would miss
//! syscalls.

pub mod client;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::exporter::{Exporter, SyscallMode};

/// What the runtimes' inits call after loading the filter (loaded last with
/// `noNewPrivileges`), which a container's own counts may miss (they begin at its
/// discovery). Seen on this kernel with `SCMP_ACT_LOG` profiles allowing none of them:
/// - berth-runtime: tell the runtime it is ready (`sendto`), wait for it (`recvfrom`),
///   open and write the exec fifo (`openat`, `fcntl`, `write`, `close`), clear the
///   signal mask (`rt_sigprocmask`), `execve`; `exit_group` when that fails;
/// - runc 1.1: `fstatfs` (is /proc/self/fd procfs), `getdents64` (closing fds),
///   `epoll_ctl`, `getpid`, and the Go runtime's other threads, which share the filter
///   and may run at any moment (`futex`, `rt_sigreturn` seen; `nanosleep`,
///   `sched_yield`, `tgkill` for preemption, `epoll_pwait`, `mmap`, `madvise`);
/// - crun 1.8 does not run on this host's hybrid cgroups: none seen.
///
/// The round-trip tests in tests/tests/seccomp_advice.rs check they suffice.
pub const RUNTIME_INIT_SYSCALLS: &[&str] = &[
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit_group",
    "fcntl",
    "fstatfs",
    "futex",
    "getdents64",
    "getpid",
    "madvise",
    "mmap",
    "nanosleep",
    "openat",
    "recvfrom",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sendto",
    "tgkill",
    "write",
];

/// What the profile does with syscalls it does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `SCMP_ACT_ERRNO` with `EPERM`: refused.
    #[default]
    Enforce,
    /// `SCMP_ACT_LOG`: allowed, and logged by the kernel's audit (`type=1326`), so
    /// only syscalls outside the profile show up.
    Complain,
}

/// An OCI `linux.seccomp` object (runtime-spec `config-linux.md`), as berth-runtime,
/// runc and crun read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    /// `SCMP_ACT_ERRNO` ([`Mode::Enforce`]) or `SCMP_ACT_LOG` ([`Mode::Complain`]).
    pub default_action: &'static str,
    /// The errno of `SCMP_ACT_ERRNO` (1, `EPERM`); absent with `SCMP_ACT_LOG`, which
    /// takes none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// This host's architectures, as runc's default profile lists them.
    pub architectures: Vec<&'static str>,
    /// One rule allowing the observed syscalls.
    pub syscalls: Vec<SyscallRule>,
}

/// One `linux.seccomp.syscalls` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyscallRule {
    /// Syscall names, sorted.
    pub names: Vec<&'static str>,
    /// Always `SCMP_ACT_ALLOW`.
    pub action: &'static str,
}

/// A profile, and the syscall numbers seen that have no name on this architecture
/// (left out of the profile: a name is the only way to list one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// The profile.
    pub profile: SeccompProfile,
    /// Numbers left out, ascending.
    pub unnamed: Vec<u32>,
}

/// Why no advice could be given.
#[derive(Debug, thiserror::Error)]
pub enum AdviceError {
    /// No container with that id in any state directory.
    #[error("no container {id} in the exporter's state directories")]
    UnknownContainer {
        /// The id asked for.
        id: String,
    },
    /// Several runtimes have a container with that id.
    #[error("container id {id} is ambiguous: the runtimes {runtimes} each have one")]
    Ambiguous {
        /// The id asked for.
        id: String,
        /// The runtimes, comma-separated.
        runtimes: String,
    },
    /// The container has no cgroup v2 directory, which BPF counts are keyed by.
    #[error("container {id} has no cgroup v2 directory: its syscalls cannot be counted")]
    NoCgroupV2 {
        /// The container.
        id: String,
    },
    /// The exporter runs without BPF programs (`--no-bpf`).
    #[error("the exporter runs without BPF (--no-bpf): no syscalls are counted")]
    NoBpf,
    /// The container was not counted from its first syscall.
    #[error(
        "container {id} was not counted from its start ({reason}): a profile would miss \
         syscalls; run it again while the exporter runs"
    )]
    NotFromStart {
        /// The container.
        id: String,
        /// Why not.
        reason: String,
    },
    /// The exporter counts no syscalls (`--syscalls=off`).
    #[error("the exporter counts no syscalls (--syscalls=off or --no-syscalls)")]
    SyscallsOff,
    /// The container did not opt in to syscall counting.
    #[error(
        "container {id} is not counted: set its annotation berth.io/syscalls=count (the \
         exporter counts annotated containers only, unless run with --syscalls=all)"
    )]
    NotOptedIn {
        /// The container.
        id: String,
    },
    /// Nothing was counted for the container.
    #[error(
        "no syscalls were counted for container {id} yet: start it after the exporter lists \
         it (create, wait for it in /metrics, start)"
    )]
    NotCounted {
        /// The container.
        id: String,
    },
    /// The BPF syscall map could not be read.
    #[error("reading the BPF syscall counts: {0}")]
    Bpf(#[from] berth_ebpf::Error),
    /// Syscall names are known for x86_64 only (berth-ebpf's table).
    #[error("seccomp advice is available on x86_64 only, not on {0}")]
    UnsupportedArchitecture(&'static str),
}

impl AdviceError {
    /// The HTTP status `GET /seccomp-profile` answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownContainer { .. } => 404,
            Self::Ambiguous { .. }
            | Self::NoCgroupV2 { .. }
            | Self::NotFromStart { .. }
            | Self::NotOptedIn { .. }
            | Self::NotCounted { .. } => 409,
            Self::NoBpf | Self::SyscallsOff => 503,
            Self::Bpf(_) => 500,
            Self::UnsupportedArchitecture(_) => 501,
        }
    }
}

/// The advice for container `id` of `exporter` (rediscovered first): its counted
/// syscalls as a profile. Errors when the container is unknown, not counted, or not
/// counted from its start (below no watched subtree, or created before counting began).
pub fn advise(exporter: &mut Exporter, id: &str, mode: Mode) -> Result<Advice, AdviceError> {
    exporter.refresh();
    let matching: Vec<_> = exporter.containers().filter(|c| c.id == id).collect();
    let container = match matching.as_slice() {
        [] => {
            return Err(AdviceError::UnknownContainer { id: id.to_string() });
        }
        [one] => *one,
        many => {
            let runtimes: Vec<&str> = many.iter().map(|c| c.runtime).collect();
            return Err(AdviceError::Ambiguous {
                id: id.to_string(),
                runtimes: runtimes.join(","),
            });
        }
    };
    let cgroup_id = container
        .cgroup_id()
        .ok_or_else(|| AdviceError::NoCgroupV2 { id: id.to_string() })?;
    let probes = exporter.probes().ok_or(AdviceError::NoBpf)?;
    match exporter.options().syscalls {
        SyscallMode::Off => return Err(AdviceError::SyscallsOff),
        SyscallMode::Annotated if !container.count_syscalls => {
            return Err(AdviceError::NotOptedIn { id: id.to_string() });
        }
        SyscallMode::Annotated | SyscallMode::All => {}
    }
    match (container.created, exporter.counting_since()) {
        (Some(created), Some(since)) if created >= since => {}
        (Some(created), Some(since)) => {
            return Err(AdviceError::NotFromStart {
                id: id.to_string(),
                reason: format!(
                    "created at {}, before the exporter began counting at {}",
                    epoch_text(created),
                    epoch_text(since)
                ),
            });
        }
        (None, _) => {
            return Err(AdviceError::NotFromStart {
                id: id.to_string(),
                reason: "its state records no creation time".to_string(),
            });
        }
        (_, None) => {
            return Err(AdviceError::NotFromStart {
                id: id.to_string(),
                reason: "the exporter is not counting yet".to_string(),
            });
        }
    }
    let mut stats = probes.syscall_stats()?;
    let counted = stats.remove(&cgroup_id).unwrap_or_default();
    // The exec counter runs from the container's first instruction (its cgroup is below
    // a watched subtree from creation); the syscall slot only from discovery. Fewer
    // execve calls counted than execs seen: the slot came after the container started.
    let execve_calls: u64 = [libc::SYS_execve, libc::SYS_execveat]
        .iter()
        .filter_map(|nr| counted.by_number.get(&u32::try_from(*nr).ok()?))
        .sum();
    let execs_seen = probes
        .process_counts()?
        .get(&cgroup_id)
        .map_or(0, |c| c.execs);
    if execve_calls < execs_seen {
        return Err(AdviceError::NotFromStart {
            id: id.to_string(),
            reason: format!(
                "{execs_seen} execs in its cgroup, only {execve_calls} execve calls counted: \
                 counting began after it started"
            ),
        });
    }
    let numbers: Vec<u32> = counted.by_number.into_keys().collect();
    if numbers.is_empty() {
        return Err(AdviceError::NotCounted { id: id.to_string() });
    }
    let advice = profile(numbers, mode)?;
    if !advice.unnamed.is_empty() {
        tracing::warn!(container = id, unnamed = ?advice.unnamed,
            "syscall numbers without a name are left out of the advised profile");
    }
    Ok(advice)
}

/// The profile allowing the syscalls numbered `numbers` (x86_64 numbers, as the BPF
/// programs count them) and [`RUNTIME_INIT_SYSCALLS`], and treating the others as
/// `mode` says.
pub fn profile(numbers: impl IntoIterator<Item = u32>, mode: Mode) -> Result<Advice, AdviceError> {
    let architectures = host_architectures()
        .ok_or(AdviceError::UnsupportedArchitecture(std::env::consts::ARCH))?
        .to_vec();
    let mut names = RUNTIME_INIT_SYSCALLS.to_vec();
    let mut unnamed = Vec::new();
    for nr in numbers {
        match berth_ebpf::syscall_names::syscall_name(nr) {
            Some(name) => names.push(name),
            None => unnamed.push(nr),
        }
    }
    names.sort_unstable();
    names.dedup();
    unnamed.sort_unstable();
    unnamed.dedup();
    let (default_action, default_errno_ret) = match mode {
        Mode::Enforce => ("SCMP_ACT_ERRNO", Some(libc::EPERM as u32)),
        Mode::Complain => ("SCMP_ACT_LOG", None),
    };
    Ok(Advice {
        profile: SeccompProfile {
            default_action,
            default_errno_ret,
            architectures,
            syscalls: vec![SyscallRule {
                names,
                action: "SCMP_ACT_ALLOW",
            }],
        },
        unnamed,
    })
}

/// The `architectures` of a profile for this host, as runc's default profiles list
/// them (the native one and those it can also run); None where the BPF programs'
/// syscall numbers are not named (everywhere but x86_64).
pub fn host_architectures() -> Option<&'static [&'static str]> {
    match std::env::consts::ARCH {
        "x86_64" => Some(&["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        _ => None,
    }
}

/// `secs` since the epoch, for messages (RFC 3339 would need the clock's zone rules;
/// the epoch value is exact and unambiguous).
fn epoch_text(secs: f64) -> String {
    format!("{secs:.3} s since the epoch")
}

/// Now, seconds since the Unix epoch (0 before it).
pub(crate) fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_allows_the_named_syscalls_sorted_and_refuses_the_rest_with_eperm() {
        // 0 read, 16 ioctl (twice), 59 execve (also the runtimes'), 100000 unnamed.
        let advice = profile([59, 0, 16, 16, 100_000], Mode::Enforce).expect("x86_64 host");
        let mut names: Vec<&str> = RUNTIME_INIT_SYSCALLS.to_vec();
        names.extend(["ioctl", "read"]);
        names.sort_unstable();
        let json = serde_json::to_value(&advice.profile).expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
            })
        );
        assert_eq!(advice.unnamed, vec![100_000]);
    }

    #[test]
    fn complain_mode_logs_the_rest_and_takes_no_errno() {
        let advice = profile([0], Mode::Complain).expect("x86_64 host");
        let json = serde_json::to_value(&advice.profile).expect("JSON");
        assert_eq!(json["defaultAction"], "SCMP_ACT_LOG");
        assert!(json.get("defaultErrnoRet").is_none(), "{json}");
    }

    #[test]
    fn runtime_init_syscalls_are_real_x86_64_names() {
        // Runtimes skip unknown names silently: a typo here would allow nothing.
        let known: Vec<&str> = (0..1024)
            .filter_map(berth_ebpf::syscall_names::syscall_name)
            .collect();
        for name in RUNTIME_INIT_SYSCALLS {
            assert!(known.contains(name), "{name} is no x86_64 syscall");
        }
    }
}
