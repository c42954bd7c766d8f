//! `spec`: write a default config.json (the `berth-spec` crate makes it).

use std::path::PathBuf;

use anyhow::Result;
use berth_runtime::spec::{self, Profile};
use clap::Args;

/// Write a default config.json: without flags what `runc spec` writes, with --hardened
/// berth's hardening on top.
#[derive(Debug, Args)]
pub struct SpecArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged caller, as `runc spec --rootless`.
    #[arg(long)]
    pub rootless: bool,
    /// Add berth's hardening to runc's default: the default seccomp profile, a cgroup
    /// namespace, /sys/devices/virtual/powercap masked, no ambient capabilities, hostname
    /// "berth" (see SECURITY.md).
    #[arg(long)]
    pub hardened: bool,
    /// With --hardened: leave the default seccomp profile out (runc's default has none).
    #[arg(long)]
    pub no_seccomp: bool,
}

impl SpecArgs {
    pub fn run(self) -> Result<u8> {
        let profile = if self.hardened {
            Profile::Hardened {
                seccomp: !self.no_seccomp,
            }
        } else {
            Profile::Runc
        };
        spec::write(&self.bundle, &spec::default_config(self.rootless, profile)?)?;
        Ok(0)
    }
}
