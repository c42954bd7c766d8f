//! berth's default seccomp profile (`runtime/seccomp/default.json`).
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
//! The JSON is resolved for a default container (no CAP_SYS_ADMIN & co.); a caller
//! granting extra capabilities should widen it the way Docker's cap-gated rules do.

use oci_spec::runtime::{Arch, LinuxSeccomp};

/// The profile as shipped, for `berth-runtime spec` and the engine.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../../seccomp/default.json");

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
        .unwrap_or_else(|e| panic!("runtime/seccomp/default.json is not a valid LinuxSeccomp: {e}"));
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
    let Ok(uts) = nix::sys::utsname::uname() else {
        return false;
    };
    let release = uts.release().to_string_lossy();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => (major, minor) < want,
        _ => false,
    }
}
