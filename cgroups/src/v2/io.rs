//! v2 io: io.weight / io.bfq.weight and io.max; counters from io.stat.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::CgroupError;
use crate::cgroupfs;
use crate::stats::{IoEntry, IoStats, IoUnit};

/// blkio weight (10..=1000) to io.weight (1..=10000), as runc converts; BFQ's 1..=9,
/// below the old CFQ range, become the smallest io.weight.
fn blkio_to_io_weight(w: u16) -> u64 {
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

/// `io.bfq.weight` takes the blkio range as is; `io.weight` needs the conversion.
fn weight_file(dir: &Path) -> Option<(&'static str, bool)> {
    if dir.join("io.bfq.weight").exists() {
        Some(("io.bfq.weight", false))
    } else if dir.join("io.weight").exists() {
        Some(("io.weight", true))
    } else {
        None
    }
}

pub(super) fn validate(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let wants_weight =
        b.weight().is_some() || b.weight_device().as_ref().is_some_and(|d| !d.is_empty());
    if wants_weight && weight_file(dir).is_none() {
        return Err(CgroupError::unsupported(
            "blockIO.weight",
            format!("{} has neither io.weight nor io.bfq.weight", dir.display()),
        ));
    }
    // runc's fs2 ignores leaf weights: cgroup v2 has none. A warning, not a refusal, so a
    // spec written for v1 still runs here (the weight itself is applied).
    if b.leaf_weight().is_some() {
        tracing::warn!(
            "linux.resources.blockIO.leafWeight is ignored: cgroup v2 has no leaf weight"
        );
    }
    Ok(())
}

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if let Some((file, convert)) = weight_file(dir) {
        let value = |w: u16| {
            if convert {
                blkio_to_io_weight(w)
            } else {
                u64::from(w)
            }
        };
        if let Some(w) = b.weight() {
            let line = if convert {
                format!("default {}", value(w))
            } else {
                value(w).to_string()
            };
            cgroupfs::write(dir, file, line)?;
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                cgroupfs::write(
                    dir,
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), value(w)),
                )?;
            }
        }
    }
    let throttle = |key: &str, list: &Option<Vec<LinuxThrottleDevice>>| {
        for d in list.iter().flatten() {
            let rate = if d.rate() == 0 {
                "max".to_owned()
            } else {
                d.rate().to_string()
            };
            cgroupfs::write(
                dir,
                "io.max",
                format!("{}:{} {key}={rate}", d.major(), d.minor()),
            )?;
        }
        Ok::<(), CgroupError>(())
    };
    throttle("rbps", b.throttle_read_bps_device())?;
    throttle("wbps", b.throttle_write_bps_device())?;
    throttle("riops", b.throttle_read_iops_device())?;
    throttle("wiops", b.throttle_write_iops_device())?;
    Ok(())
}

pub(super) fn stats(dir: &Path, s: &mut IoStats) -> Result<(), CgroupError> {
    if let Some(text) = cgroupfs::read_optional(dir, "io.stat")? {
        s.entries.extend(parse_io_stat(&text));
    }
    Ok(())
}

/// Parses `254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` lines.
pub(crate) fn parse_io_stat(text: &str) -> Vec<IoEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (op, unit) = match k {
                "rbytes" => ("Read", IoUnit::Bytes),
                "wbytes" => ("Write", IoUnit::Bytes),
                "dbytes" => ("Discard", IoUnit::Bytes),
                "rios" => ("Read", IoUnit::Ios),
                "wios" => ("Write", IoUnit::Ios),
                "dios" => ("Discard", IoUnit::Ios),
                _ => continue,
            };
            out.push(IoEntry {
                major,
                minor,
                op: op.to_owned(),
                unit,
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_stat_lines_become_entries() {
        let e = parse_io_stat(include_str!("../../tests/data/v2/io.stat"));
        assert_eq!(e.len(), 6, "{e:?}");
        assert!(
            e.iter()
                .any(|x| x.op == "Read" && x.unit == IoUnit::Bytes && x.value >= 1 << 20)
        );
        assert!(
            e.iter()
                .any(|x| x.op == "Write" && x.unit == IoUnit::Ios && x.value >= 4)
        );
    }

    #[test]
    fn blkio_weights_convert() {
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }
}
