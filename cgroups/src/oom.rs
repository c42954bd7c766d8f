//! Waiting for the OOM killer: what the runtime's `events` reports as an `oom` event.
//!
//! v1 (and hybrid, where memory is a v1 controller): an eventfd registered for
//! `memory.oom_control` through `cgroup.event_control`. v2: inotify on `memory.events`,
//! whose `oom_kill` counter is compared before and after each change.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::{CgroupError, CgroupPlacement, cgroupfs};

/// How often [`OomWatcher::wait`] checks that the cgroup still exists.
const GONE_CHECK: Duration = Duration::from_secs(1);

/// What [`OomWatcher::wait`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomEvent {
    /// The OOM killer acted this many times (v1: OOM situations; v2: processes killed).
    Oom(u64),
    /// Nothing happened within the timeout.
    Timeout,
    /// The cgroup was removed: no more events will come.
    Gone,
}

/// Notifies when the OOM killer acts in a container's memory cgroup.
pub struct OomWatcher {
    source: Source,
}

enum Source {
    V1 {
        eventfd: EventFd,
        /// Kept open: the registration lives as long as this file.
        _oom_control: File,
        dir: PathBuf,
    },
    V2 {
        inotify: Inotify,
        dir: PathBuf,
        kills: u64,
    },
}

impl OomWatcher {
    /// Starts watching the memory cgroup of `placement`.
    pub fn new(placement: &CgroupPlacement) -> Result<Self, CgroupError> {
        if let Some(dir) = placement.v1_dirs.get("memory") {
            return Self::v1(dir);
        }
        match &placement.v2_dir {
            Some(dir) if dir.join("memory.events").exists() => Self::v2(dir),
            _ => Err(CgroupError::unsupported(
                "memory",
                "no memory controller to watch for OOM events",
            )),
        }
    }

    fn v1(dir: &Path) -> Result<Self, CgroupError> {
        let control_path = dir.join("memory.oom_control");
        let oom_control =
            File::open(&control_path).map_err(|e| CgroupError::io("opening", &control_path, e))?;
        let eventfd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| CgroupError::io("creating an eventfd for", dir, e.into()))?;
        cgroupfs::write(
            dir,
            "cgroup.event_control",
            format!(
                "{} {}",
                eventfd.as_fd().as_raw_fd(),
                oom_control.as_raw_fd()
            ),
        )?;
        Ok(Self {
            source: Source::V1 {
                eventfd,
                _oom_control: oom_control,
                dir: dir.to_path_buf(),
            },
        })
    }

    fn v2(dir: &Path) -> Result<Self, CgroupError> {
        let events = dir.join("memory.events");
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| CgroupError::io("creating an inotify instance for", dir, e.into()))?;
        inotify
            .add_watch(&events, AddWatchFlags::IN_MODIFY)
            .map_err(|e| CgroupError::io("watching", &events, e.into()))?;
        let kills = oom_kills(dir)?;
        Ok(Self {
            source: Source::V2 {
                inotify,
                dir: dir.to_path_buf(),
                kills,
            },
        })
    }

    /// The file descriptor that becomes readable when something happened, for callers that
    /// multiplex (poll/epoll); then call [`OomWatcher::wait`] with a zero timeout.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.source {
            Source::V1 { eventfd, .. } => eventfd.as_fd(),
            Source::V2 { inotify, .. } => inotify.as_fd(),
        }
    }

    /// Waits up to `timeout` (`None`: for ever) for the OOM killer.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<OomEvent, CgroupError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            // v2 sends nothing when the cgroup is removed: look at least once a second.
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let slice = remaining.map_or(GONE_CHECK, |r| r.min(GONE_CHECK));
            let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) if !self.dir().exists() => return Ok(OomEvent::Gone),
                Ok(0) if remaining.is_some_and(|r| r <= slice) => return Ok(OomEvent::Timeout),
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    return Err(CgroupError::io(
                        "waiting for OOM events of",
                        self.dir(),
                        e.into(),
                    ));
                }
            }
            match &mut self.source {
                Source::V1 { eventfd, dir, .. } => {
                    let count = match eventfd.read() {
                        Ok(n) => n,
                        Err(nix::errno::Errno::EAGAIN) => continue,
                        Err(e) => {
                            return Err(CgroupError::io(
                                "reading the OOM eventfd of",
                                &*dir,
                                e.into(),
                            ));
                        }
                    };
                    // The eventfd also fires when the cgroup is removed.
                    if !dir.join("memory.oom_control").exists() {
                        return Ok(OomEvent::Gone);
                    }
                    return Ok(OomEvent::Oom(count));
                }
                Source::V2 {
                    inotify,
                    dir,
                    kills,
                } => {
                    let events = match inotify.read_events() {
                        Ok(ev) => ev,
                        Err(nix::errno::Errno::EAGAIN) => continue,
                        Err(e) => {
                            return Err(CgroupError::io(
                                "reading inotify events of",
                                &*dir,
                                e.into(),
                            ));
                        }
                    };
                    if events
                        .iter()
                        .any(|e| e.mask.contains(AddWatchFlags::IN_IGNORED))
                        || !dir.exists()
                    {
                        return Ok(OomEvent::Gone);
                    }
                    let now = oom_kills(dir)?;
                    if now > *kills {
                        let new = now - *kills;
                        *kills = now;
                        return Ok(OomEvent::Oom(new));
                    }
                    // Another counter of memory.events changed (high, max): keep waiting.
                }
            }
        }
    }

    fn dir(&self) -> &Path {
        match &self.source {
            Source::V1 { dir, .. } | Source::V2 { dir, .. } => dir,
        }
    }
}

fn oom_kills(dir: &Path) -> Result<u64, CgroupError> {
    let events = cgroupfs::read_flat_keyed(dir, "memory.events")?;
    Ok(events.get("oom_kill").copied().unwrap_or(0))
}
