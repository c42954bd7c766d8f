//! v1 freezer: `freezer.state` FROZEN / THAWED, waiting out FREEZING.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::CgroupError;
use crate::cgroupfs;

pub(super) fn set(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut delay = Duration::from_micros(100);
    loop {
        // Writing FROZEN again nudges tasks that were forking while the cgroup froze.
        cgroupfs::write(dir, "freezer.state", want)?;
        let state = cgroupfs::read(dir, "freezer.state")?;
        if state.trim() == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if frozen {
                // Do not leave it half frozen.
                cgroupfs::write(dir, "freezer.state", "THAWED")?;
            }
            return Err(CgroupError::io(
                "waiting for freezer state",
                dir.join("freezer.state"),
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("still {} after 5 s", state.trim()),
                ),
            ));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

pub(super) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(cgroupfs::read(dir, "freezer.state")?.trim() == "FROZEN")
}

/// Why a process placed in `dir` would not run: `Some("freezer.state is FROZEN")` (or
/// FREEZING) when the cgroup or an ancestor is (being) frozen, `None` when thawed or when
/// the kernel has no freezer file here.
pub(crate) fn frozen_reason(dir: &Path) -> Result<Option<String>, CgroupError> {
    let Some(state) = cgroupfs::read_optional(dir, "freezer.state")? else {
        return Ok(None);
    };
    let state = state.trim();
    if state == "THAWED" {
        return Ok(None);
    }
    // self_freezing 0 with a FROZEN state: the freeze comes from an ancestor.
    let inherited =
        cgroupfs::read_optional(dir, "freezer.self_freezing")?.is_some_and(|s| s.trim() == "0");
    Ok(Some(if inherited {
        format!("(freezer.state is {state}: an ancestor is frozen)")
    } else {
        format!("(freezer.state is {state})")
    }))
}
