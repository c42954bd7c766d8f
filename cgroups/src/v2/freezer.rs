//! v2 freezer: cgroup.freeze, done when cgroup.events says `frozen`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::CgroupError;
use crate::cgroupfs;

pub(crate) fn set(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    cgroupfs::write(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut delay = Duration::from_micros(100);
    while is_frozen(dir)? != frozen {
        if Instant::now() >= deadline {
            if frozen {
                cgroupfs::write(dir, "cgroup.freeze", "0")?;
            }
            return Err(CgroupError::io(
                "waiting for cgroup.events to report frozen",
                dir.join("cgroup.events"),
                std::io::Error::new(std::io::ErrorKind::TimedOut, "not done after 5 s"),
            ));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
    Ok(())
}

pub(crate) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    let events = cgroupfs::read_flat_keyed(dir, "cgroup.events")?;
    Ok(events.get("frozen").copied() == Some(1))
}

/// Why a process placed in `dir` would not run: `Some(..)` when `cgroup.freeze` is 1 or
/// `cgroup.events` says `frozen 1` (frozen through an ancestor), `None` otherwise and in
/// the root, which cannot be frozen.
pub(crate) fn frozen_reason(dir: &Path) -> Result<Option<String>, CgroupError> {
    let Some(freeze) = cgroupfs::read_optional(dir, "cgroup.freeze")? else {
        return Ok(None);
    };
    if freeze.trim() == "1" {
        return Ok(Some("(cgroup.freeze is 1)".to_owned()));
    }
    if is_frozen(dir)? {
        return Ok(Some(
            "(cgroup.events says frozen 1: an ancestor is frozen)".to_owned(),
        ));
    }
    Ok(None)
}
