//! cgroup v1 (and the v1 half of hybrid hosts): one directory per controller hierarchy.
//! One file per controller, each applying its slice of `linux.resources`.

mod blkio;
mod cpu;
mod cpuacct;
pub(crate) mod cpuset;
mod devices;
pub(crate) mod freezer;
mod hugetlb;
mod memory;
mod pids;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::manager::Manager;
use crate::{CgroupError, CgroupStats, StatsScope, v2};

/// A container's v1 directories (and, on hybrid hosts, its v2 directory, used for the
/// controllers that only the v2 hierarchy has, such as hugetlb here).
pub(crate) struct V1Manager<'a> {
    dirs: &'a BTreeMap<String, PathBuf>,
    v2_dir: Option<&'a Path>,
}

impl<'a> V1Manager<'a> {
    pub(crate) fn new(dirs: &'a BTreeMap<String, PathBuf>, v2_dir: Option<&'a Path>) -> Self {
        Self { dirs, v2_dir }
    }

    /// The directory of `controller`, or an Unsupported error for `field`.
    fn dir(&self, controller: &str, field: &str) -> Result<&'a Path, CgroupError> {
        self.dirs
            .get(controller)
            .map(PathBuf::as_path)
            .ok_or_else(|| {
                CgroupError::unsupported(
                    field,
                    format!("the v1 {controller} controller is not mounted on this host"),
                )
            })
    }

    /// The v2 directory when hugetlb is only available there (hybrid hosts).
    fn hugetlb_v2_dir(&self) -> Option<&'a Path> {
        if self.dirs.contains_key("hugetlb") {
            return None;
        }
        self.v2_dir
            .filter(|d| v2::controller_available_below(d, "hugetlb"))
    }
}

impl Manager for V1Manager<'_> {
    fn validate(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            memory::validate(self.dir("memory", "memory")?, m)?;
        }
        if let Some(c) = r.cpu() {
            cpu::validate(self.dirs.get("cpu").map(PathBuf::as_path), c)?;
            if c.cpus().is_some() || c.mems().is_some() {
                cpuset::validate(self.dir("cpuset", "cpu.cpus")?, c)?;
            }
        }
        if r.pids().is_some() {
            self.dir("pids", "pids")?;
        }
        if let Some(b) = r.block_io() {
            blkio::validate(self.dir("blkio", "blockIO")?, b)?;
        }
        if r.hugepage_limits().as_ref().is_some_and(|l| !l.is_empty()) {
            crate::resources::check_hugepage_sizes_exist(r)?;
            if self.hugetlb_v2_dir().is_none() {
                self.dir("hugetlb", "hugepageLimits")?;
            }
        }
        if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
            self.dir("devices", "devices")?;
        }
        if r.network().is_some() {
            return Err(CgroupError::unsupported(
                "network",
                "net_cls/net_prio limits are not implemented by berth",
            ));
        }
        if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(CgroupError::unsupported(
                "rdma",
                "rdma limits are not implemented by berth",
            ));
        }
        // As runc: the v2 files of a hybrid host's unified hierarchy do not limit the
        // container (its controllers are v1's), so a unified map would be a silent no-op.
        // Empty is "not set" (drop_unset removed it already).
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::UnifiedOnV1);
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            memory::apply(self.dir("memory", "memory")?, m)?;
        }
        if let Some(c) = r.cpu() {
            if let Some(dir) = self.dirs.get("cpu") {
                cpu::apply(dir, c)?;
            }
            if c.cpus().is_some() || c.mems().is_some() {
                cpuset::apply(self.dir("cpuset", "cpu.cpus")?, c)?;
            }
        }
        if let Some(p) = r.pids() {
            pids::apply(self.dir("pids", "pids")?, p)?;
        }
        if let Some(b) = r.block_io() {
            blkio::apply(self.dir("blkio", "blockIO")?, b)?;
        }
        if let Some(limits) = r.hugepage_limits().as_ref().filter(|l| !l.is_empty()) {
            match self.hugetlb_v2_dir() {
                Some(v2_dir) => v2::hugetlb::apply_on_hybrid(v2_dir, limits)?,
                None => hugetlb::apply(self.dir("hugetlb", "hugepageLimits")?, limits)?,
            }
        }
        if let Some(d) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            devices::apply(self.dir("devices", "devices")?, d)?;
        }
        Ok(())
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self.dirs.get("freezer") {
            Some(dir) => freezer::set(dir, frozen),
            // No v1 freezer: the v2 hierarchy freezes without any controller.
            None => match self.v2_dir {
                Some(dir) => v2::freezer::set(dir, frozen),
                None => Err(CgroupError::unsupported(
                    "freezer",
                    "no freezer on this host",
                )),
            },
        }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        match (self.dirs.get("freezer"), self.v2_dir) {
            (Some(dir), _) => freezer::is_frozen(dir),
            (None, Some(dir)) => v2::freezer::is_frozen(dir),
            (None, None) => Ok(false),
        }
    }

    fn stats(&self, s: &mut CgroupStats, scope: StatsScope) -> Result<(), CgroupError> {
        if scope.cpu {
            if let Some(dir) = self.dirs.get("cpuacct") {
                cpuacct::stats(dir, &mut s.cpu)?;
            }
            if let Some(dir) = self.dirs.get("cpu") {
                cpu::stats(dir, &mut s.cpu)?;
            }
        }
        if scope.memory
            && let Some(dir) = self.dirs.get("memory")
        {
            memory::stats(dir, &mut s.memory)?;
        }
        if scope.pids
            && let Some(dir) = self.dirs.get("pids")
        {
            pids::stats(dir, &mut s.pids)?;
        }
        if scope.io
            && let Some(dir) = self.dirs.get("blkio")
        {
            blkio::stats(dir, &mut s.io)?;
        }
        if scope.hugetlb {
            if let Some(dir) = self.dirs.get("hugetlb") {
                hugetlb::stats(dir, &mut s.hugetlb)?;
            } else if let Some(dir) = self.hugetlb_v2_dir() {
                v2::hugetlb::stats(dir, &mut s.hugetlb)?;
            }
        }
        Ok(())
    }
}
