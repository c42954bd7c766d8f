//! `update`: change the resource limits of a running container, with runc's flags or a
//! `linux.resources`-shaped JSON file (`-r file`, `-r -` for stdin).
//!
//! Only the given values change. The whole request is validated before anything is
//! written ([`berth_cgroups::CgroupPlacement::apply`] validates completely first), so a bad
//! value changes nothing. The bundle's config.json is not rewritten: the cgroup is the
//! record of the limits in force.

use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use crate::error::{Error, Result, io_err};
use crate::state::{LiveStatus, StateDir, Status};

/// What `update` changes, typed (the binary parses runc's flags into it): a resources
/// file, or the values below; None leaves a value as it is. Sizes are bytes, CPU times µs;
/// `-1` is unlimited where runc takes it.
#[derive(Debug, Default, Clone)]
pub struct UpdateOptions {
    /// A resources JSON file, or `-` for stdin; the other fields are then ignored.
    pub resources: Option<PathBuf>,
    /// Block IO weight, 10 to 1000 (0: not given).
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_burst: Option<u64>,
    pub cpu_share: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    /// 1: SCHED_IDLE for the cgroup, 0: default.
    pub cpu_idle: Option<i64>,
    /// A cpu list (`0-2,4`); empty leaves it as it is.
    pub cpuset_cpus: Option<String>,
    /// A memory node list; empty leaves it as it is.
    pub cpuset_mems: Option<String>,
    /// Obsolete: ignored with a warning, as in runc.
    pub kernel_memory: Option<i64>,
    pub kernel_memory_tcp: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// Memory plus swap.
    pub memory_swap: Option<i64>,
    pub pids_limit: Option<i64>,
}

pub fn update(root: &Path, id: &str, opts: &UpdateOptions) -> Result<()> {
    let resources = match &opts.resources {
        Some(path) => read_resources(path)?,
        None => resources_from_flags(opts),
    };
    let dir = StateDir::open(root, id)?;
    let _lock = dir.lock_exclusive()?;
    let mut state = dir.load()?;
    state.refresh_status(&dir);
    match state.status {
        // A paused container is updated as runc updates it: the limit files take writes
        // while frozen (reclaim is done by the writer; a v1 limit below what cannot be
        // reclaimed is refused with EBUSY, v2's OOM kill reaches frozen tasks), and the
        // container stays paused.
        Status::Running | Status::Created | Status::Paused => {}
        status => {
            return Err(Error::Container {
                id: id.to_string(),
                msg: format!("cannot update a container that is {status}"),
            });
        }
    }
    tracing::debug!("updating resources of {id}: {resources:?}");
    state.cgroup.apply(&resources)?;
    Ok(())
}

fn read_resources(path: &Path) -> Result<LinuxResources> {
    let mut data = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(io_err("reading resources from", "stdin"))?;
    } else {
        data = std::fs::read(path).map_err(io_err("reading resources", path))?;
    }
    let mut r: LinuxResources = serde_json::from_slice(&data).map_err(|e| {
        Error::InvalidArgument(format!("parsing resources {}: {e}", path.display()))
    })?;
    drop_kernel_memory(&mut r);
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        // As runc: device rules are fixed at create. Replacing them here would also drop
        // the defaults create adds (/dev/null, ptys, tun).
        tracing::warn!("update: ignoring devices; device rules are set at create");
        r.set_devices(None);
    }
    Ok(r)
}

fn resources_from_flags(o: &UpdateOptions) -> LinuxResources {
    let mut r = LinuxResources::default();
    let mut mem = LinuxMemory::default();
    mem.set_limit(o.memory);
    mem.set_reservation(o.memory_reservation);
    mem.set_swap(o.memory_swap);
    mem.set_kernel(o.kernel_memory);
    mem.set_kernel_tcp(o.kernel_memory_tcp);
    if mem != LinuxMemory::default() {
        r.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    cpu.set_shares(o.cpu_share);
    cpu.set_period(o.cpu_period);
    cpu.set_quota(o.cpu_quota);
    cpu.set_burst(o.cpu_burst);
    cpu.set_realtime_period(o.cpu_rt_period);
    cpu.set_realtime_runtime(o.cpu_rt_runtime);
    cpu.set_idle(o.cpu_idle);
    cpu.set_cpus(o.cpuset_cpus.clone().filter(|s| !s.is_empty()));
    cpu.set_mems(o.cpuset_mems.clone().filter(|s| !s.is_empty()));
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }

    if let Some(limit) = o.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        r.set_pids(Some(pids));
    }
    // 0 means "not given", here as in a resources file: the cgroups crate drops it.
    if let Some(w) = o.blkio_weight {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    drop_kernel_memory(&mut r);
    r
}

/// Kernel memory limits are gone from the kernel (5.16+) and from runc: warn and ignore.
fn drop_kernel_memory(r: &mut LinuxResources) {
    if let Some(m) = *r.memory()
        && (m.kernel().is_some() || m.kernel_tcp().is_some())
    {
        tracing::warn!("kernel memory settings are ignored");
        let mut m = m;
        m.set_kernel(None);
        m.set_kernel_tcp(None);
        r.set_memory(Some(m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_flags_become_resources() {
        let o = UpdateOptions {
            memory: Some(64 << 20),
            pids_limit: Some(10),
            kernel_memory: Some(1 << 20),
            ..Default::default()
        };
        let r = resources_from_flags(&o);
        assert_eq!(r.memory().as_ref().and_then(|m| m.limit()), Some(64 << 20));
        assert_eq!(r.memory().as_ref().and_then(|m| m.swap()), None);
        assert_eq!(
            r.memory().as_ref().and_then(|m| m.kernel()),
            None,
            "obsolete"
        );
        assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(10));
        assert!(r.cpu().is_none());
        assert!(r.block_io().is_none());
    }
}
