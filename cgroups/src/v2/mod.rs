//! cgroup v2: one directory holds every controller. One file per controller, each
//! applying its slice of `linux.resources`; the device filter (eBPF) under `devices/`.

mod cpu;
mod cpuset;
pub mod devices;
pub(crate) mod freezer;
pub(crate) mod hugetlb;
mod io;
mod memory;
pub(crate) mod pids;
pub(crate) mod unified;

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use crate::manager::Manager;
use crate::{CgroupError, CgroupStats, StatsScope, cgroupfs};

/// A container's v2 directory on a pure v2 host.
pub(crate) struct V2Manager<'a> {
    dir: &'a Path,
}

impl<'a> V2Manager<'a> {
    pub(crate) fn new(dir: &'a Path) -> Self {
        Self { dir }
    }

    /// Fails with Unsupported for `field` unless `controller` is enabled in the directory.
    fn require(&self, controller: &str, field: &str) -> Result<(), CgroupError> {
        if has_controller(self.dir, controller)? {
            Ok(())
        } else {
            Err(CgroupError::unsupported(
                field,
                format!(
                    "the {controller} controller is not enabled in {}",
                    self.dir.display()
                ),
            ))
        }
    }
}

impl Manager for V2Manager<'_> {
    fn validate(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            self.require("memory", "memory")?;
            memory::validate(self.dir, m)?;
        }
        if let Some(c) = r.cpu() {
            if cpu::wants_cpu_controller(c) {
                self.require("cpu", "cpu")?;
                cpu::validate(self.dir, c)?;
            }
            if c.cpus().as_ref().is_some_and(|v| !v.is_empty())
                || c.mems().as_ref().is_some_and(|v| !v.is_empty())
            {
                self.require("cpuset", "cpu.cpus")?;
                cpuset::validate(self.dir, c)?;
            }
        }
        if r.pids().is_some() {
            self.require("pids", "pids")?;
        }
        if let Some(b) = r.block_io() {
            self.require("io", "blockIO")?;
            io::validate(self.dir, b)?;
        }
        if r.hugepage_limits().as_ref().is_some_and(|l| !l.is_empty()) {
            self.require("hugetlb", "hugepageLimits")?;
            crate::resources::check_hugepage_sizes_exist(r)?;
        }
        if let Some(d) = r.devices() {
            devices::DeviceFilter::compile(d)?;
        }
        if r.network().is_some() {
            return Err(CgroupError::unsupported(
                "network",
                "cgroup v2 has no net_cls/net_prio (use a BPF program instead)",
            ));
        }
        if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(CgroupError::unsupported(
                "rdma",
                "rdma limits are not implemented by berth",
            ));
        }
        if let Some(u) = r.unified() {
            unified::validate(self.dir, u)?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            memory::apply(self.dir, m)?;
        }
        if let Some(c) = r.cpu() {
            cpu::apply(self.dir, c)?;
            cpuset::apply(self.dir, c)?;
        }
        if let Some(p) = r.pids() {
            pids::apply(self.dir, p)?;
        }
        if let Some(b) = r.block_io() {
            io::apply(self.dir, b)?;
        }
        if let Some(l) = r.hugepage_limits() {
            hugetlb::apply(self.dir, l)?;
        }
        if let Some(d) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            devices::DeviceFilter::compile(d)?.attach(self.dir)?;
        }
        if let Some(u) = r.unified() {
            unified::apply(self.dir, u)?;
        }
        Ok(())
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        freezer::set(self.dir, frozen)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        freezer::is_frozen(self.dir)
    }

    fn stats(&self, s: &mut CgroupStats, scope: StatsScope) -> Result<(), CgroupError> {
        if scope.cpu {
            cpu::stats(self.dir, &mut s.cpu)?;
        }
        let enabled = controllers(self.dir)?;
        let has = |c: &str| enabled.iter().any(|e| e == c);
        if scope.memory && has("memory") {
            memory::stats(self.dir, &mut s.memory)?;
        }
        if scope.pids && has("pids") {
            pids::stats(self.dir, &mut s.pids)?;
        }
        if scope.io && has("io") {
            io::stats(self.dir, &mut s.io)?;
        }
        if scope.hugetlb && has("hugetlb") {
            hugetlb::stats(self.dir, &mut s.hugetlb)?;
        }
        Ok(())
    }
}

/// The controllers listed in `dir/cgroup.controllers`.
pub(crate) fn controllers(dir: &Path) -> Result<Vec<String>, CgroupError> {
    Ok(cgroupfs::read(dir, "cgroup.controllers")?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

fn has_controller(dir: &Path, controller: &str) -> Result<bool, CgroupError> {
    Ok(controllers(dir)?.iter().any(|c| c == controller))
}

/// Whether `controller` exists in the v2 hierarchy that holds `dir` (enabled there or not).
pub(crate) fn controller_available_below(dir: &Path, controller: &str) -> bool {
    let root = crate::layout::hierarchies()
        .ok()
        .and_then(|h| h.v2_root.clone());
    match root {
        Some(root) if dir.starts_with(&root) => {
            controllers(&root).is_ok_and(|c| c.iter().any(|x| x == controller))
        }
        _ => false,
    }
}

/// Enables, in `root` and every directory down to the parent of `root/rel`, each
/// controller the directory has (or only `only`, when given), so `root/rel` gets them.
/// A controller that cannot be enabled (a parent with processes of its own, say) is
/// skipped with a warning: limits on it are then refused with a clear error at apply.
pub(crate) fn enable_controllers_down_to(
    root: &Path,
    rel: &Path,
    only: Option<&str>,
) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    let mut components = rel.components().peekable();
    while let Some(component) = components.next() {
        let available = controllers(&dir)?;
        let enabled = cgroupfs::read(&dir, "cgroup.subtree_control")?;
        let enabled: Vec<&str> = enabled.split_whitespace().collect();
        for c in available
            .iter()
            .filter(|c| only.is_none_or(|o| o == c.as_str()))
        {
            if enabled.contains(&c.as_str()) {
                continue;
            }
            if let Err(e) = cgroupfs::write(&dir, "cgroup.subtree_control", format!("+{c}")) {
                tracing::warn!(error = %e, controller = %c, "cannot enable cgroup controller");
            }
        }
        dir.push(component);
        if components.peek().is_none() {
            break;
        }
    }
    Ok(())
}
