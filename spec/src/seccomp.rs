//! berth's default seccomp profile (`spec/seccomp/default.json`), as oci-spec's
//! [`LinuxSeccomp`]; the runtime compiles it with libseccomp, this crate does not need to.
//!
//! Same intent as Docker's default: everything returns EPERM unless allowed; allowed
//! are the syscalls ordinary programs use. Denied, among others: `mount`/`umount2`/
//! `pivot_root` and the new mount API, `unshare`/`setns` and `clone` with namespace
//! flags (no new user namespace from inside), `keyctl`/`add_key`/`request_key` (the
//! keyring is not namespaced), `bpf`, `perf_event_open`, module loading, `kexec_*`,
//! `open_by_handle_at`/`name_to_handle_at` (the "shocker" escape), `userfaultfd`,
//! `io_uring_*`, clock and swap changes, `reboot`, `acct`, `ptrace` on kernels before
//! 4.8 (where it could bypass seccomp). `clone3` returns ENOSYS so libc falls back to
//! `clone`, whose flags the filter can inspect. `personality` is allowed only for the
//! harmless personas, `socket` for every family but AF_VSOCK.
//!
//! Privileged syscalls ([`AUDITED`]) that a rule allows are allowed with
//! `SCMP_ACT_LOG` instead of `SCMP_ACT_ALLOW`, and the filter loads with
//! `SECCOMP_FILTER_FLAG_LOG`: the kernel then writes an audit record (type 1326) for
//! each such call, allowed (`log`) or refused (`errno`, by the flag), which
//! berth-exporter turns into `privileged_syscall` events. Only the container's tasks
//! pay (a few microseconds per logged call; these calls are rare); every other denied
//! syscall is logged too (the flag covers every non-allow action), which
//! `kernel.seccomp.actions_logged` can narrow host-wide.
//!
//! The JSON is resolved for a default container (no CAP_SYS_ADMIN & co.);
//! [`default_profile_for`] widens it for extra capabilities the way Docker's cap-gated
//! rules do (`--cap-add SYS_ADMIN` also allows `mount`, `unshare`, ...).

use oci_spec::runtime::{
    Arch, Capabilities, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag,
    LinuxSyscall,
};

/// The profile as shipped, for `berth-runtime spec` and the engine.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../seccomp/default.json");

/// The privileged syscalls whose every call the filter reports (SCMP_ACT_LOG where a
/// rule allows them; the default ERRNO, logged through SECCOMP_FILTER_FLAG_LOG, where
/// none does): berth-exporter's `privileged_syscall` list.
pub const AUDITED: &[&str] = &[
    "mount",
    "umount2",
    "unshare",
    "setns",
    "ptrace",
    "bpf",
    "init_module",
    "finit_module",
    "kexec_load",
    "kexec_file_load",
    "keyctl",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "capset",
    "pivot_root",
    "chroot",
    "perf_event_open",
    "open_by_handle_at",
];

/// Syscalls that could bypass seccomp through ptrace before Linux 4.8.
const PTRACE_FAMILY: &[&str] = &["ptrace", "process_vm_readv", "process_vm_writev"];

/// The default profile for this host: the shipped JSON with the architectures of the
/// host (x86_64 also runs x86 and x32 code, aarch64 arm), and the ptrace family
/// removed on kernels older than 4.8.
pub fn default_profile() -> LinuxSeccomp {
    // The JSON is compiled in and parsed by a unit test, so this cannot fail in a
    // binary that passed its tests; an empty deny-all profile would be the wrong
    // failure mode, hence the panic with a clear message.
    let mut profile: LinuxSeccomp = serde_json::from_str(DEFAULT_PROFILE_JSON)
        .unwrap_or_else(|e| panic!("spec/seccomp/default.json is not a valid LinuxSeccomp: {e}"));
    profile.set_architectures(Some(host_architectures()));
    if kernel_older_than((4, 8)) {
        let syscalls = profile.syscalls().clone().unwrap_or_default();
        let kept = syscalls
            .into_iter()
            .filter_map(|mut rule| {
                let names: Vec<String> = rule
                    .names()
                    .iter()
                    .filter(|n| !PTRACE_FAMILY.contains(&n.as_str()))
                    .cloned()
                    .collect();
                rule.set_names(names);
                (!rule.names().is_empty()).then_some(rule)
            })
            .collect();
        profile.set_syscalls(Some(kept));
    }
    audit_privileged(&mut profile);
    profile
}

/// Moves the [`AUDITED`] names of each allow rule into a rule of their own (same
/// arguments) with `SCMP_ACT_LOG`, and sets `SECCOMP_FILTER_FLAG_LOG`.
fn audit_privileged(profile: &mut LinuxSeccomp) {
    let mut rules = Vec::new();
    for rule in profile.syscalls().clone().unwrap_or_default() {
        if rule.action() != LinuxSeccompAction::ScmpActAllow {
            rules.push(rule);
            continue;
        }
        let (logged, plain): (Vec<String>, Vec<String>) = rule
            .names()
            .iter()
            .cloned()
            .partition(|n| AUDITED.contains(&n.as_str()));
        if !plain.is_empty() {
            let mut kept = rule.clone();
            kept.set_names(plain);
            rules.push(kept);
        }
        if !logged.is_empty() {
            let mut log = rule;
            log.set_names(logged);
            log.set_action(LinuxSeccompAction::ScmpActLog);
            rules.push(log);
        }
    }
    profile.set_syscalls(Some(rules));
    let mut flags = profile.flags().clone().unwrap_or_default();
    if !flags.contains(&LinuxSeccompFilterFlag::SeccompFilterFlagLog) {
        flags.push(LinuxSeccompFilterFlag::SeccompFilterFlagLog);
    }
    profile.set_flags(Some(flags));
}

/// Syscalls the default profile denies but a capability makes legitimate (Docker's
/// cap-gated rules): with the capability the kernel's own check is the guard.
const CAP_GATED: &[(Capability, &[&str])] = &[
    (Capability::DacReadSearch, &["open_by_handle_at"]),
    (
        Capability::SysAdmin,
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    (Capability::SysBoot, &["reboot"]),
    (Capability::SysChroot, &["chroot"]),
    (
        Capability::SysModule,
        &["delete_module", "init_module", "finit_module"],
    ),
    (Capability::SysPacct, &["acct"]),
    (
        Capability::SysPtrace,
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    (Capability::SysRawio, &["iopl", "ioperm"]),
    (
        Capability::SysTime,
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    (Capability::SysTtyConfig, &["vhangup"]),
    (
        Capability::SysNice,
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    (Capability::Syslog, &["syslog"]),
    (Capability::Bpf, &["bpf"]),
    (Capability::Perfmon, &["perf_event_open"]),
];

/// [`default_profile`] widened for a container whose bounding set is `caps`: each
/// granted capability also allows the syscalls it governs. With CAP_SYS_ADMIN, `clone`
/// and `clone3` are allowed outright (the namespace-flag filter and the ENOSYS for
/// clone3 exist only to stop unprivileged namespace creation).
pub fn default_profile_for(caps: &Capabilities) -> LinuxSeccomp {
    let mut profile = default_profile();
    let mut rules = profile.syscalls().clone().unwrap_or_default();
    if caps.contains(&Capability::SysAdmin) {
        rules.retain(|r| !r.names().iter().any(|n| n == "clone" || n == "clone3"));
    }
    for (cap, names) in CAP_GATED {
        if !caps.contains(cap) {
            continue;
        }
        let mut rule = LinuxSyscall::default();
        rule.set_names(names.iter().map(|n| n.to_string()).collect());
        rule.set_action(LinuxSeccompAction::ScmpActAllow);
        rules.push(rule);
    }
    profile.set_syscalls(Some(rules));
    audit_privileged(&mut profile);
    profile
}

fn host_architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// True when `uname -r` is older than `want` (major, minor); unknown counts as new.
fn kernel_older_than(want: (u32, u32)) -> bool {
    // SAFETY: utsname is plain bytes, for which all zeros is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes only into `uts`, which lives for the call.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return false;
    }
    // SAFETY: the kernel NUL-terminates `release`, which `uts` holds.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => (major, minor) < want,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Let through without condition (SCMP_ACT_LOG lets through too).
    fn allowed(profile: &LinuxSeccomp, name: &str) -> bool {
        profile.syscalls().iter().flatten().any(|r| {
            matches!(
                r.action(),
                LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
            ) && r.args().is_none()
                && r.names().iter().any(|n| n == name)
        })
    }

    #[test]
    fn shipped_profile_denies_by_default_for_the_host_architectures() {
        let profile = default_profile();
        assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(profile.architectures().clone(), Some(host_architectures()));
        assert!(allowed(&profile, "read"));
        assert!(!allowed(&profile, "mount"));
    }

    #[test]
    fn widening_allows_only_what_the_granted_capabilities_govern() {
        let caps: Capabilities = [Capability::SysAdmin].into_iter().collect();
        let wide = default_profile_for(&caps);
        assert!(allowed(&wide, "mount") && allowed(&wide, "unshare"));
        assert!(!allowed(&wide, "reboot"), "CAP_SYS_BOOT was not granted");
        // clone's namespace-flag filter and clone3's ENOSYS are gone, not shadowed.
        let narrow_clone = |p: &LinuxSeccomp| {
            p.syscalls()
                .iter()
                .flatten()
                .filter(|r| r.names().iter().any(|n| n == "clone" || n == "clone3"))
                .count()
        };
        assert!(narrow_clone(&default_profile()) > 0);
        assert_eq!(
            narrow_clone(&wide),
            1,
            "only the SYS_ADMIN allow rule names them"
        );
        assert_eq!(default_profile_for(&Capabilities::new()), default_profile());
    }

    #[test]
    fn privileged_syscalls_are_logged_where_allowed_and_the_filter_logs_denials() {
        for profile in [
            default_profile(),
            default_profile_for(&[Capability::SysAdmin].into_iter().collect()),
        ] {
            assert_eq!(
                profile.flags().clone(),
                Some(vec![LinuxSeccompFilterFlag::SeccompFilterFlagLog])
            );
            for rule in profile.syscalls().iter().flatten() {
                if rule.names().iter().any(|n| AUDITED.contains(&n.as_str())) {
                    assert_ne!(rule.action(), LinuxSeccompAction::ScmpActAllow, "{rule:?}");
                }
            }
        }
        assert!(allowed(&default_profile(), "setuid"));
    }

    #[test]
    fn this_kernel_is_not_older_than_itself() {
        assert!(!kernel_older_than((2, 6)));
        assert!(kernel_older_than((999, 0)));
    }
}
