//! The cgroup v2 device filter: `linux.resources.devices` compiled into an eBPF program
//! of type BPF_PROG_TYPE_CGROUP_DEVICE and attached to the container's cgroup, as runc
//! and crun do (v2 has no devices.allow/deny files).
//!
//! - `program.rs`: the rules to BPF instructions (pure, unit-tested);
//! - `bpf.rs`: the bpf(2) calls: load, attach, query, detach.

mod bpf;
mod program;

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::CgroupError;

pub use program::Insn;

/// A compiled device filter, ready to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFilter {
    insns: Vec<Insn>,
}

impl DeviceFilter {
    /// Compiles the rules (later rules win, as in the v1 lists; the default before any
    /// `a *:* rwm` rule is to allow, as an empty v1 list does). Invalid rules are refused.
    pub fn compile(rules: &[LinuxDeviceCgroup]) -> Result<Self, CgroupError> {
        Ok(Self {
            insns: program::compile(rules)?,
        })
    }

    /// The program's instructions.
    pub fn instructions(&self) -> &[Insn] {
        &self.insns
    }

    /// Loads the program and attaches it to the cgroup `dir` (BPF_F_ALLOW_MULTI), then
    /// detaches the device programs that were attached before, so an update replaces the
    /// old filter without a window where none applies.
    pub fn attach(&self, dir: &Path) -> Result<(), CgroupError> {
        let cgroup = bpf::open_cgroup(dir)?;
        let old = bpf::query_device_programs(&cgroup, dir)?;
        let prog = bpf::load_device_program(&self.insns, dir)?;
        bpf::attach_device_program(&cgroup, &prog, dir)?;
        for id in old {
            bpf::detach_device_program_by_id(&cgroup, id, dir)?;
        }
        tracing::debug!(cgroup = %dir.display(), insns = self.insns.len(), "device filter attached");
        Ok(())
    }
}

/// The ids of the device programs attached to the cgroup `dir` (for tests and `features`).
pub fn attached_program_ids(dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let cgroup = bpf::open_cgroup(dir)?;
    bpf::query_device_programs(&cgroup, dir)
}
