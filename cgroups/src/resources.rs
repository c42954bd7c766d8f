//! Checks on `linux.resources` that hold whatever the cgroup version: ranges and syntax.
//! Version-specific checks (is the controller there, is the CPU online) are in v1/ and v2/.
//! The "not set" zeros are gone by now ([`crate::unset_values`]): every value here is one
//! the user asked for.

use oci_spec::runtime::LinuxResources;

use crate::CgroupError;

/// The kernel's cpu.shares range (v1); v2 weights are converted from it.
pub(crate) const SHARES_MIN: u64 = 2;
pub(crate) const SHARES_MAX: u64 = 262_144;
/// CFS period range in microseconds (kernel: 1 ms to 1 s).
pub(crate) const PERIOD_MIN_US: u64 = 1_000;
pub(crate) const PERIOD_MAX_US: u64 = 1_000_000;
/// The smallest CFS quota in microseconds.
pub(crate) const QUOTA_MIN_US: i64 = 1_000;
/// blkio weight range: BFQ's `blkio.bfq.weight`/`io.bfq.weight` (the only v1 weight since
/// CFQ left the kernel in 5.0); runc leaves the range to the kernel the same way.
const BLKIO_WEIGHT_MIN: u16 = 1;
const BLKIO_WEIGHT_MAX: u16 = 1000;

/// Range and syntax checks on every field berth knows. Changes nothing.
pub(crate) fn validate(r: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(m) = r.memory() {
        for (field, v) in [
            ("memory.limit", m.limit()),
            ("memory.reservation", m.reservation()),
            ("memory.swap", m.swap()),
            ("memory.kernel", m.kernel()),
            ("memory.kernelTCP", m.kernel_tcp()),
        ] {
            if let Some(v) = v
                && v < -1
            {
                return Err(CgroupError::invalid(
                    field,
                    format!("{v} is negative (use -1 for unlimited)"),
                ));
            }
        }
        if let (Some(limit), Some(swap)) = (m.limit(), m.swap())
            && limit > 0
            && swap > 0
            && swap < limit
        {
            return Err(CgroupError::invalid(
                "memory.swap",
                format!("{swap} is below memory.limit {limit} (swap counts memory + swap)"),
            ));
        }
        if let Some(s) = m.swappiness()
            && s > 100
        {
            return Err(CgroupError::invalid(
                "memory.swappiness",
                format!("{s} is above 100"),
            ));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares()
            && !(SHARES_MIN..=SHARES_MAX).contains(&s)
        {
            return Err(CgroupError::invalid(
                "cpu.shares",
                format!("{s} is outside {SHARES_MIN}..={SHARES_MAX}"),
            ));
        }
        if let Some(p) = c.period()
            && !(PERIOD_MIN_US..=PERIOD_MAX_US).contains(&p)
        {
            return Err(CgroupError::invalid(
                "cpu.period",
                format!("{p} µs is outside {PERIOD_MIN_US}..={PERIOD_MAX_US}"),
            ));
        }
        // Any negative quota is unlimited (the kernel's rule, which runc passes on).
        if let Some(q) = c.quota()
            && q > 0
            && q < QUOTA_MIN_US
        {
            return Err(CgroupError::invalid(
                "cpu.quota",
                format!("{q} µs: use -1 for unlimited or at least {QUOTA_MIN_US}"),
            ));
        }
        if let Some(rt) = c.realtime_runtime() {
            if rt < -1 {
                return Err(CgroupError::invalid(
                    "cpu.realtimeRuntime",
                    format!("{rt} is negative"),
                ));
            }
            if let Some(p) = c.realtime_period()
                && rt > 0
                && rt as u64 > p
            {
                return Err(CgroupError::invalid(
                    "cpu.realtimeRuntime",
                    format!("{rt} µs exceeds realtimePeriod {p} µs"),
                ));
            }
        }
        if let Some(idle) = c.idle()
            && idle != 0
            && idle != 1
        {
            return Err(CgroupError::invalid(
                "cpu.idle",
                format!("{idle}: must be 0 or 1"),
            ));
        }
        if let Some(cpus) = c.cpus() {
            parse_cpu_list(cpus).map_err(|e| CgroupError::invalid("cpu.cpus", e))?;
        }
        if let Some(mems) = c.mems() {
            parse_cpu_list(mems).map_err(|e| CgroupError::invalid("cpu.mems", e))?;
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight() {
            check_blkio_weight("blockIO.weight", w)?;
        }
        if let Some(w) = b.leaf_weight() {
            check_blkio_weight("blockIO.leafWeight", w)?;
        }
        for d in b.weight_device().iter().flatten() {
            check_device_number("blockIO.weightDevice", d.major(), d.minor())?;
            if let Some(w) = d.weight() {
                check_blkio_weight("blockIO.weightDevice.weight", w)?;
            }
        }
        for (field, list) in [
            (
                "blockIO.throttleReadBpsDevice",
                b.throttle_read_bps_device(),
            ),
            (
                "blockIO.throttleWriteBpsDevice",
                b.throttle_write_bps_device(),
            ),
            (
                "blockIO.throttleReadIOPSDevice",
                b.throttle_read_iops_device(),
            ),
            (
                "blockIO.throttleWriteIOPSDevice",
                b.throttle_write_iops_device(),
            ),
        ] {
            for d in list.iter().flatten() {
                check_device_number(field, d.major(), d.minor())?;
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        hugepage_size_bytes(h.page_size())
            .map_err(|e| CgroupError::invalid("hugepageLimits.pageSize", e))?;
        if h.limit() < 0 {
            return Err(CgroupError::invalid(
                "hugepageLimits.limit",
                format!("{} is negative", h.limit()),
            ));
        }
    }
    if let Some(devices) = r.devices() {
        crate::device_rules::DeviceRules::from_spec(devices)?;
    }
    Ok(())
}

fn check_blkio_weight(field: &str, w: u16) -> Result<(), CgroupError> {
    if (BLKIO_WEIGHT_MIN..=BLKIO_WEIGHT_MAX).contains(&w) {
        Ok(())
    } else {
        Err(CgroupError::invalid(
            field,
            format!("{w} is outside {BLKIO_WEIGHT_MIN}..={BLKIO_WEIGHT_MAX}"),
        ))
    }
}

fn check_device_number(field: &str, major: i64, minor: i64) -> Result<(), CgroupError> {
    if major < 0 || minor < 0 || major > i64::from(u32::MAX) || minor > i64::from(u32::MAX) {
        return Err(CgroupError::invalid(
            field,
            format!("device {major}:{minor} is out of range"),
        ));
    }
    Ok(())
}

/// Parses a cpu or memory-node list such as `0-2,4`; the numbers in ascending order.
pub(crate) fn parse_cpu_list(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    let s = s.trim();
    if s.is_empty() {
        return Ok(out);
    }
    for part in s.split(',') {
        let number = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?}: {t:?} is not a number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b || b - a > 65_536 {
                    return Err(format!("{s:?}: bad range {part:?}"));
                }
                out.extend(a..=b);
            }
            None => out.push(number(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `2MB` -> 2 MiB, `1GB` -> 1 GiB, `64KB` -> 64 KiB (the kernel's hugetlb file names).
pub(crate) fn hugepage_size_bytes(s: &str) -> Result<u64, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not like 2MB or 1GB"))?;
    let mult = match unit {
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return Err(format!("{s:?} is not like 2MB or 1GB")),
    };
    Ok(n * mult)
}

/// The huge page sizes this kernel supports, in the kernel's file-name form (`2MB`).
pub(crate) fn host_hugepage_sizes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut sizes: Vec<(u64, String)> = dir
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let label = if kb >= 1 << 20 {
                format!("{}GB", kb >> 20)
            } else if kb >= 1 << 10 {
                format!("{}MB", kb >> 10)
            } else {
                format!("{kb}KB")
            };
            Some((kb, label))
        })
        .collect();
    sizes.sort();
    sizes.into_iter().map(|(_, l)| l).collect()
}

/// Fails unless the host has huge pages of every size named in `r`.
pub(crate) fn check_hugepage_sizes_exist(r: &LinuxResources) -> Result<(), CgroupError> {
    let Some(limits) = r.hugepage_limits() else {
        return Ok(());
    };
    let host = host_hugepage_sizes();
    for h in limits {
        if !host.iter().any(|s| s == h.page_size()) {
            return Err(CgroupError::invalid(
                "hugepageLimits.pageSize",
                format!(
                    "{:?} is not a huge page size of this host ({})",
                    h.page_size(),
                    host.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `linux.resources` from JSON, for tests.
    pub(crate) fn res(json: &str) -> LinuxResources {
        match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0-2,4"), Ok(vec![0, 1, 2, 4]));
        assert_eq!(parse_cpu_list(""), Ok(vec![]));
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn hugepage_sizes_parse() {
        assert_eq!(hugepage_size_bytes("2MB"), Ok(2 << 20));
        assert_eq!(hugepage_size_bytes("1GB"), Ok(1 << 30));
        assert!(hugepage_size_bytes("2M").is_err());
    }

    #[test]
    fn refuses_negative_and_absurd_values() {
        for bad in [
            r#"{"memory":{"limit":-2}}"#,
            r#"{"memory":{"limit":1048576,"swap":4096}}"#,
            r#"{"cpu":{"shares":1}}"#,
            r#"{"cpu":{"shares":10000000}}"#,
            r#"{"cpu":{"period":10}}"#,
            r#"{"cpu":{"quota":5}}"#,
            r#"{"cpu":{"cpus":"1-0"}}"#,
            r#"{"blockIO":{"weight":5000}}"#,
            r#"{"devices":[{"allow":true,"type":"c","access":""}]}"#,
            r#"{"devices":[{"allow":true,"type":"c","major":1,"access":"x"}]}"#,
            r#"{"hugepageLimits":[{"pageSize":"3XB","limit":1}]}"#,
        ] {
            assert!(validate(&res(bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn accepts_ordinary_values() {
        let ok = r#"{"memory":{"limit":33554432,"swap":33554432,"reservation":-1},
            "cpu":{"shares":1024,"quota":20000,"period":100000,"cpus":"0","mems":"0"},
            "pids":{"limit":10},"blockIO":{"weight":500},
            "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}"#;
        assert!(validate(&res(ok)).is_ok());
    }

    #[test]
    fn accepts_what_runc_passes_to_the_kernel() {
        // runc 1.1 runs these on this host: any negative pids limit or quota is unlimited,
        // and BFQ (the only blkio weight left) takes weights from 1.
        for ok in [
            r#"{"pids":{"limit":-5}}"#,
            r#"{"cpu":{"quota":-5}}"#,
            r#"{"blockIO":{"weight":5}}"#,
        ] {
            assert!(validate(&res(ok)).is_ok(), "{ok} refused");
        }
    }
}
