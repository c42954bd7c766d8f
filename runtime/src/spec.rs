//! `spec`: the default config.json, as `runc spec` writes it, plus berth's default
//! seccomp profile.
//!
//! The profile is in by default (`--no-seccomp` leaves it out): a config written by
//! `spec` is what people run by hand, and it should be as safe as what Docker, Podman and
//! containerd's CRI give a container without asking. `runc spec` writes none, but nothing
//! depends on that: callers that generate their own config (containerd, podman,
//! runtime-tools) never use `spec`.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Error, Result, io_err};
use crate::seccomp;

/// What runc's default spec masks: the runtime-spec defaults, plus
/// `/sys/devices/virtual/powercap` (RAPL energy counters leak what other tenants compute,
/// CVE-2020-8694 "Platypus"; runc masks it since 1.2).
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/powercap",
];

/// runc's default read-only paths.
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

pub fn default_spec(rootless: bool, with_seccomp: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version("1.2.0".to_string());
    spec.set_hostname(Some("berth".to_string()));
    if let Some(p) = spec.process_mut() {
        // As `runc spec`: an interactive shell.
        p.set_terminal(Some(true));
        // No inheritable or ambient capabilities (oci-spec's default has them): with
        // them an unprivileged user in the container gains capabilities by executing a
        // program with file capabilities (CVE-2022-29162; runc's default dropped them).
        if let Some(mut caps) = p.capabilities().clone() {
            caps.set_inheritable(None);
            caps.set_ambient(None);
            p.set_capabilities(Some(caps));
        }
    }
    if let Some(linux) = spec.linux_mut() {
        linux.set_masked_paths(Some(
            DEFAULT_MASKED_PATHS.iter().map(|p| p.to_string()).collect(),
        ));
        linux.set_readonly_paths(Some(
            DEFAULT_READONLY_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        ));
        if with_seccomp {
            linux.set_seccomp(Some(seccomp::default_profile()));
        }
    }
    spec
}

/// Write `config.json` into `bundle`; refuses to overwrite one, as runc does.
pub fn write(bundle: &Path, spec: &Spec) -> Result<()> {
    let path = bundle.join("config.json");
    let data = serde_json::to_vec_pretty(spec)
        .map_err(|e| Error::InvalidArgument(format!("serializing spec: {e}")))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                Error::InvalidArgument(format!("{} exists; remove it first", path.display()))
            } else {
                io_err("creating", &path)(e)
            }
        })?;
    f.write_all(&data).map_err(io_err("writing", &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_masks_what_runc_masks_and_has_the_default_profile() {
        let spec = default_spec(false, true);
        let linux = spec.linux().as_ref().expect("linux");
        let masked = linux.masked_paths().clone().unwrap_or_default();
        for p in [
            "/proc/kcore",
            "/proc/keys",
            "/proc/timer_list",
            "/sys/firmware",
            "/sys/devices/virtual/powercap",
        ] {
            assert!(masked.iter().any(|m| m == p), "{p} not masked");
        }
        assert!(
            linux
                .readonly_paths()
                .clone()
                .unwrap_or_default()
                .iter()
                .any(|p| p == "/proc/sys")
        );
        let seccomp = linux.seccomp().as_ref().expect("default profile");
        assert_eq!(seccomp, &seccomp::default_profile());
        assert!(crate::seccomp::compile(seccomp).is_ok());
        let caps = spec
            .process()
            .as_ref()
            .and_then(|p| p.capabilities().clone())
            .expect("caps");
        assert!(
            caps.inheritable().is_none() && caps.ambient().is_none(),
            "CVE-2022-29162"
        );
    }

    #[test]
    fn no_seccomp_leaves_the_profile_out() {
        let spec = default_spec(false, false);
        assert!(spec.linux().as_ref().expect("linux").seccomp().is_none());
    }
}
