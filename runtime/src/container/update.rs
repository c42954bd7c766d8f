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

/// runc's `update` flags, as the strings given (parsed here so errors name the flag).
#[derive(Debug, Default, Clone)]
pub struct UpdateOptions {
    /// A resources JSON file, or `-` for stdin; the other flags are then ignored.
    pub resources: Option<PathBuf>,
    pub blkio_weight: Option<String>,
    pub cpu_period: Option<String>,
    pub cpu_quota: Option<String>,
    pub cpu_burst: Option<String>,
    pub cpu_share: Option<String>,
    pub cpu_rt_period: Option<String>,
    pub cpu_rt_runtime: Option<String>,
    pub cpu_idle: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub pids_limit: Option<String>,
}

pub fn update(root: &Path, id: &str, opts: &UpdateOptions) -> Result<()> {
    let resources = match &opts.resources {
        Some(path) => read_resources(path)?,
        None => resources_from_flags(opts)?,
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

fn resources_from_flags(o: &UpdateOptions) -> Result<LinuxResources> {
    let mut r = LinuxResources::default();
    let mut mem = LinuxMemory::default();
    mem.set_limit(
        o.memory
            .as_deref()
            .map(|v| parse_bytes("--memory", v))
            .transpose()?,
    );
    mem.set_reservation(
        o.memory_reservation
            .as_deref()
            .map(|v| parse_bytes("--memory-reservation", v))
            .transpose()?,
    );
    mem.set_swap(
        o.memory_swap
            .as_deref()
            .map(|v| parse_bytes("--memory-swap", v))
            .transpose()?,
    );
    mem.set_kernel(
        o.kernel_memory
            .as_deref()
            .map(|v| parse_bytes("--kernel-memory", v))
            .transpose()?,
    );
    mem.set_kernel_tcp(
        o.kernel_memory_tcp
            .as_deref()
            .map(|v| parse_bytes("--kernel-memory-tcp", v))
            .transpose()?,
    );
    if mem != LinuxMemory::default() {
        r.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    cpu.set_shares(
        o.cpu_share
            .as_deref()
            .map(|v| parse_num::<u64>("--cpu-share", v))
            .transpose()?,
    );
    cpu.set_period(
        o.cpu_period
            .as_deref()
            .map(|v| parse_num::<u64>("--cpu-period", v))
            .transpose()?,
    );
    cpu.set_quota(
        o.cpu_quota
            .as_deref()
            .map(|v| parse_num::<i64>("--cpu-quota", v))
            .transpose()?,
    );
    cpu.set_burst(
        o.cpu_burst
            .as_deref()
            .map(|v| parse_num::<u64>("--cpu-burst", v))
            .transpose()?,
    );
    cpu.set_realtime_period(
        o.cpu_rt_period
            .as_deref()
            .map(|v| parse_num::<u64>("--cpu-rt-period", v))
            .transpose()?,
    );
    cpu.set_realtime_runtime(
        o.cpu_rt_runtime
            .as_deref()
            .map(|v| parse_num::<i64>("--cpu-rt-runtime", v))
            .transpose()?,
    );
    cpu.set_idle(
        o.cpu_idle
            .as_deref()
            .map(|v| parse_num::<i64>("--cpu-idle", v))
            .transpose()?,
    );
    cpu.set_cpus(o.cpuset_cpus.clone().filter(|s| !s.is_empty()));
    cpu.set_mems(o.cpuset_mems.clone().filter(|s| !s.is_empty()));
    if cpu != LinuxCpu::default() {
        r.set_cpu(Some(cpu));
    }

    if let Some(v) = &o.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(parse_num::<i64>("--pids-limit", v)?);
        r.set_pids(Some(pids));
    }
    // 0 means "not given", here as in a resources file: the cgroups crate drops it.
    if let Some(w) = o
        .blkio_weight
        .as_deref()
        .map(|v| parse_num::<u16>("--blkio-weight", v))
        .transpose()?
    {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    drop_kernel_memory(&mut r);
    Ok(r)
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

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    v.trim()
        .parse()
        .map_err(|e| Error::InvalidArgument(format!("invalid value for {flag}: {v:?}: {e}")))
}

/// A size like docker's `RAMInBytes` (runc's parser): a number, optionally fractional,
/// with an optional binary unit k, m, g, t, p (and an optional `i`/`b`); `-1` is unlimited.
fn parse_bytes(flag: &str, v: &str) -> Result<i64> {
    let bad = |why: &str| Error::InvalidArgument(format!("invalid value for {flag}: {v:?}: {why}"));
    let s = v.trim();
    if s == "-1" {
        return Ok(-1);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(bad(
            "expected a size such as 64m, 1g or 1048576 (or -1 for unlimited)",
        ));
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return Err(bad("unknown unit (use k, m, g, t or p)")),
    };
    let value: f64 = num.parse().map_err(|_| bad("not a number"))?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("--memory", "1048576").ok(), Some(1 << 20));
        assert_eq!(parse_bytes("--memory", "32m").ok(), Some(32 << 20));
        assert_eq!(parse_bytes("--memory", "32MiB").ok(), Some(32 << 20));
        assert_eq!(parse_bytes("--memory", "1.5g").ok(), Some(3 << 29));
        assert_eq!(parse_bytes("--memory", "2 kb").ok(), Some(2048));
        assert_eq!(parse_bytes("--memory", "-1").ok(), Some(-1));
    }

    #[test]
    fn bad_sizes_name_the_flag() {
        for bad in ["-5", "", "12x", "m", "99999999999p", "1..2"] {
            let err = parse_bytes("--memory", bad).expect_err(bad);
            assert!(err.to_string().contains("--memory"), "{err}");
        }
    }

    #[test]
    fn only_given_flags_become_resources() {
        let o = UpdateOptions {
            memory: Some("64m".into()),
            pids_limit: Some("10".into()),
            ..Default::default()
        };
        let r = resources_from_flags(&o).expect("resources");
        assert_eq!(r.memory().as_ref().and_then(|m| m.limit()), Some(64 << 20));
        assert_eq!(r.memory().as_ref().and_then(|m| m.swap()), None);
        assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(10));
        assert!(r.cpu().is_none());
        assert!(r.block_io().is_none());
    }

    #[test]
    fn negative_shares_are_refused_before_anything_happens() {
        let o = UpdateOptions {
            cpu_share: Some("-1".into()),
            ..Default::default()
        };
        let err = resources_from_flags(&o).expect_err("negative shares");
        assert!(err.to_string().contains("--cpu-share"), "{err}");
    }
}
