//! Facts about host processes read from /proc: enough to tell a live init from a
//! recycled pid or a zombie.

use std::fs;

/// Field 3 (state) and field 22 (starttime) of `/proc/<pid>/stat`.
fn stat_fields(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3, so field 22 is the 20th from here (index 19).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Start time of `pid` in clock ticks since boot, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid).map(|(_, t)| t)
}

/// Whether `pid` has exited but not been reaped (or is dead).
pub fn is_zombie(pid: i32) -> bool {
    matches!(stat_fields(pid), Some(('Z' | 'X', _)) | None)
}

/// Whether `pid` is alive (not a zombie) and started at `start_time`: the same process,
/// not a recycled pid. One read of /proc.
pub fn is_live_process(pid: i32, start_time: u64) -> bool {
    matches!(stat_fields(pid), Some((state, t)) if t == start_time && !matches!(state, 'Z' | 'X'))
}

/// A process that holds a lock through one of its fds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: i32,
    /// Its command name (`/proc/<pid>/comm`), for the log.
    pub comm: String,
}

/// Processes other than this one with an fd on the file at `path` that carries a lock:
/// `/proc/<pid>/fd/<n>` is that file and `/proc/<pid>/fdinfo/<n>` lists a `lock:`.
/// `/proc/locks` cannot tell: it names the process that took a `flock`, and an fd
/// inherited across fork keeps the lock after that process is gone.
pub fn lock_holders(path: &std::path::Path) -> Vec<LockHolder> {
    use std::os::unix::fs::MetadataExt;
    let Ok(target) = fs::metadata(path) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Processes come and go while we look: whatever vanished holds nothing.
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::metadata(fd.path())
                .is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
                && fs::read_to_string(entry.path().join("fdinfo").join(fd.file_name()))
                    .is_ok_and(|info| info.lines().any(|l| l.starts_with("lock:")))
        });
        if holds {
            let comm = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push(LockHolder {
                pid,
                comm: comm.trim_end().to_string(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_start_time_and_is_alive() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some_and(|t| t > 0));
        assert!(!is_zombie(me));
    }

    /// `sleep 30` with `fd` as its fd 3, kept across execve.
    fn sleeper_with_fd_3(fd: std::os::fd::RawFd) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        // SAFETY: dup2 and fcntl are async-signal-safe and touch only the child's fd table.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 onto the same number keeps close-on-exec: clear it either way.
                if libc::dup2(fd, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        cmd.spawn().expect("spawning sleep")
    }

    #[test]
    fn a_child_holding_an_inherited_flock_is_found_and_one_with_a_plain_fd_is_not() {
        use nix::fcntl::{Flock, FlockArg};
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lock");
        let lock = Flock::lock(
            fs::File::create(&path).expect("lock file"),
            FlockArg::LockExclusive,
        )
        .expect("flock");
        let plain = fs::File::open(&path).expect("second open");
        let mut holder = sleeper_with_fd_3(lock.as_raw_fd());
        let mut bystander = sleeper_with_fd_3(plain.as_raw_fd());
        // The children exec only after we return from spawn; their fd tables are ready.
        let found = lock_holders(&path);
        for c in [&mut holder, &mut bystander] {
            let _ = c.kill();
            let _ = c.wait();
        }
        let want = vec![LockHolder {
            pid: holder.id() as i32,
            comm: "sleep".into(),
        }];
        assert_eq!(found, want);
    }

    #[test]
    fn missing_pid_has_no_start_time() {
        // pid_max is at most 2^22, so this pid cannot exist.
        assert_eq!(start_time(i32::MAX), None);
    }
}
