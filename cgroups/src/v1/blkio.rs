//! v1 blkio: weights (CFQ/BFQ, where the kernel has them), throttling; I/O counters.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::CgroupError;
use crate::cgroupfs;
use crate::stats::{IoEntry, IoStats, IoUnit};

/// The weight file: `blkio.weight` (CFQ) or `blkio.bfq.weight` (BFQ), whichever exists.
fn weight_file(dir: &Path, suffix: &str) -> Option<String> {
    [format!("blkio.{suffix}"), format!("blkio.bfq.{suffix}")]
        .into_iter()
        .find(|f| dir.join(f).exists())
}

pub(super) fn validate(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if b.weight().is_some() && weight_file(dir, "weight").is_none() {
        return Err(CgroupError::unsupported(
            "blockIO.weight",
            format!(
                "{} has no blkio.weight or blkio.bfq.weight (no CFQ/BFQ scheduler)",
                dir.display()
            ),
        ));
    }
    if b.leaf_weight().is_some() && !dir.join("blkio.leaf_weight").exists() {
        return Err(CgroupError::unsupported(
            "blockIO.leafWeight",
            "blkio.leaf_weight is missing",
        ));
    }
    if b.weight_device().as_ref().is_some_and(|d| !d.is_empty())
        && weight_file(dir, "weight_device").is_none()
    {
        return Err(CgroupError::unsupported(
            "blockIO.weightDevice",
            "no blkio.weight_device (no CFQ/BFQ scheduler)",
        ));
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if let (Some(w), Some(file)) = (b.weight(), weight_file(dir, "weight")) {
        cgroupfs::write(dir, &file, w.to_string())?;
    }
    if let Some(w) = b.leaf_weight() {
        cgroupfs::write(dir, "blkio.leaf_weight", w.to_string())?;
    }
    if let Some(file) = weight_file(dir, "weight_device") {
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                cgroupfs::write(dir, &file, format!("{}:{} {w}", d.major(), d.minor()))?;
            }
        }
    }
    let throttle = |file: &str, list: &Option<Vec<LinuxThrottleDevice>>| {
        for d in list.iter().flatten() {
            cgroupfs::write(
                dir,
                file,
                format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            )?;
        }
        Ok::<(), CgroupError>(())
    };
    throttle(
        "blkio.throttle.read_bps_device",
        b.throttle_read_bps_device(),
    )?;
    throttle(
        "blkio.throttle.write_bps_device",
        b.throttle_write_bps_device(),
    )?;
    throttle(
        "blkio.throttle.read_iops_device",
        b.throttle_read_iops_device(),
    )?;
    throttle(
        "blkio.throttle.write_iops_device",
        b.throttle_write_iops_device(),
    )?;
    Ok(())
}

pub(super) fn stats(dir: &Path, s: &mut IoStats) -> Result<(), CgroupError> {
    for (file, unit) in [
        ("blkio.throttle.io_service_bytes_recursive", IoUnit::Bytes),
        ("blkio.throttle.io_serviced_recursive", IoUnit::Ios),
    ] {
        if let Some(text) = cgroupfs::read_optional(dir, file)? {
            s.entries.extend(parse_blkio(&text, unit));
        }
    }
    Ok(())
}

/// Parses `8:0 Read 4096` lines (the trailing `Total N` line has no device and is skipped).
pub(crate) fn parse_blkio(text: &str, unit: IoUnit) -> Vec<IoEntry> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let (dev, op, value) = (it.next()?, it.next()?, it.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(IoEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_owned(),
                unit,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_bytes_of_this_host_parse_per_device_and_op() {
        let text =
            include_str!("../../tests/data/hybrid/blkio.throttle.io_service_bytes_recursive");
        let e = parse_blkio(text, IoUnit::Bytes);
        let lines_with_device = text.lines().filter(|l| l.contains(':')).count();
        assert_eq!(e.len(), lines_with_device);
        assert!(e.iter().any(|x| x.op == "Read" && x.value > 0), "{e:?}");
    }

    #[test]
    fn parses_service_bytes() {
        let e = parse_blkio(
            "254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\nTotal 12288\n",
            IoUnit::Bytes,
        );
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[1].major, e[1].minor, e[1].op.as_str(), e[1].value),
            (254, 0, "Write", 8192)
        );
    }
}
