//! [`StateWatch`]: inotify on the runtimes' state roots and their container
//! directories, so that discovery runs as soon as a container is created (its state
//! file written) instead of at the next periodic refresh: a container opted in to
//! syscall counting gets its slot before `start` runs its process when `start` comes
//! later than the exporter's reaction (a few milliseconds).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

/// Watches state roots for new or rewritten state files.
pub struct StateWatch {
    inotify: Inotify,
    /// Watch descriptors of the roots, with their paths.
    roots: Vec<(nix::sys::inotify::WatchDescriptor, PathBuf)>,
}

const ROOT_EVENTS: AddWatchFlags = AddWatchFlags::IN_CREATE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_ONLYDIR);
const DIR_EVENTS: AddWatchFlags = AddWatchFlags::IN_CLOSE_WRITE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_CREATE);

impl StateWatch {
    /// Watches each of `roots` that exists (and the directories in it); `None` when
    /// inotify is unavailable (discovery then stays periodic).
    pub fn new(roots: &[PathBuf]) -> Option<Self> {
        let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("inotify unavailable, discovery stays periodic: {e}");
                return None;
            }
        };
        let mut watch = Self {
            inotify,
            roots: Vec::new(),
        };
        for root in roots {
            let Ok(wd) = watch.inotify.add_watch(root, ROOT_EVENTS) else {
                continue;
            };
            watch.roots.push((wd, root.clone()));
            if let Ok(entries) = std::fs::read_dir(root) {
                for entry in entries.flatten() {
                    watch.watch_dir(&entry.path());
                }
            }
        }
        Some(watch)
    }

    fn watch_dir(&self, dir: &Path) {
        if dir.is_dir() {
            // A directory gone meanwhile is no container to watch.
            let _ = self.inotify.add_watch(dir, DIR_EVENTS);
        }
    }

    /// Whether anything changed since the last call (never blocks); starts watching
    /// container directories created meanwhile.
    pub fn changed(&mut self) -> bool {
        let mut changed = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) if !events.is_empty() => {
                    changed = true;
                    for event in events {
                        let Some((_, root)) = self.roots.iter().find(|(wd, _)| *wd == event.wd)
                        else {
                            continue;
                        };
                        if let Some(name) = &event.name {
                            let dir = root.join(OsStr::from_bytes(name.as_bytes()));
                            self.watch_dir(&dir);
                        }
                    }
                }
                Ok(_) | Err(Errno::EAGAIN) => return changed,
                Err(e) => {
                    tracing::debug!("reading inotify events: {e}");
                    return changed;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_container_dir_and_its_state_file_are_noticed() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut watch = StateWatch::new(&[root.path().to_path_buf()]).expect("inotify");
        assert!(!watch.changed());
        let dir = root.path().join("c1");
        std::fs::create_dir(&dir).expect("mkdir");
        assert!(watch.changed());
        std::fs::write(dir.join("state.json.tmp"), "{}").expect("write");
        std::fs::rename(dir.join("state.json.tmp"), dir.join("state.json")).expect("rename");
        assert!(watch.changed());
        assert!(!watch.changed());
    }
}
