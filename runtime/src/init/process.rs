//! The container process's identity and environment: user and groups, rlimits,
//! oom score, the executable lookup, and the fd hygiene before execve.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};

use crate::error::{Error, Result, io_err, sys_err};

pub fn rlimit_resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// Check rlimits against what this process may set, in the runtime before forking: without
/// CAP_SYS_RESOURCE a hard limit cannot go above the current one, and saying so up front
/// beats an EPERM from deep inside the init.
pub fn check_rlimits(rlimits: &[PosixRlimit]) -> Result<()> {
    let can_raise = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    for r in rlimits {
        if r.soft() > r.hard() {
            return Err(Error::InvalidArgument(format!(
                "rlimit {}: soft limit {} above hard limit {}",
                r.typ(),
                r.soft(),
                r.hard()
            )));
        }
        let (_, cur_hard) = getrlimit(rlimit_resource(r.typ()))
            .map_err(sys_err("reading rlimit", r.typ().to_string()))?;
        if !can_raise && r.hard() > cur_hard {
            return Err(Error::InvalidArgument(format!(
                "rlimit {}: hard limit {} is above this host's hard limit {cur_hard} and the runtime lacks CAP_SYS_RESOURCE to raise it",
                r.typ(),
                r.hard()
            )));
        }
    }
    Ok(())
}

pub fn apply_rlimits(rlimits: &[PosixRlimit]) -> Result<()> {
    for r in rlimits {
        setrlimit(rlimit_resource(r.typ()), r.soft(), r.hard())
            .map_err(sys_err("setting rlimit", r.typ().to_string()))?;
    }
    Ok(())
}

pub fn set_oom_score_adj(adj: i32) -> Result<()> {
    let path = "/proc/self/oom_score_adj";
    fs::write(path, adj.to_string()).map_err(io_err("writing oom_score_adj", path))
}

/// Switch to the process user. The caller arranged for capabilities to survive the switch.
pub fn switch_user(process: &Process, setgroups_allowed: bool) -> Result<()> {
    let user = process.user();
    let uid = Uid::from_raw(user.uid());
    let gid = Gid::from_raw(user.gid());
    if setgroups_allowed {
        let groups: Vec<Gid> = user
            .additional_gids()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        setgroups(&groups).map_err(sys_err("setting additional groups", format!("{groups:?}")))?;
    }
    setresgid(gid, gid, gid).map_err(sys_err("setting gid", gid.to_string()))?;
    setresuid(uid, uid, uid).map_err(sys_err("setting uid", uid.to_string()))?;
    if let Some(mask) = user.umask() {
        umask(Mode::from_bits_truncate(mask as libc::mode_t));
    }
    Ok(())
}

/// Whether setgroups(2) is permitted: in a user namespace whose `setgroups` file says deny
/// it is not, and additional groups then come from the maps alone.
pub fn setgroups_allowed() -> bool {
    fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny")
}

/// Find the executable the way execvp does, with the container's PATH, inside the new root.
pub fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return check_executable(&p).map(|()| p);
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(arg0);
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(Error::Init(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

fn check_executable(p: &Path) -> Result<()> {
    let meta = fs::metadata(p).map_err(|e| {
        let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0));
        Error::Init(format!(
            "exec: {:?}: stat {}: {}",
            p.display().to_string(),
            p.display(),
            go_errno_text(errno)
        ))
    })?;
    if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(Error::Init(format!(
            "exec: {:?}: permission denied",
            p.display().to_string()
        )))
    }
}

/// An errno as runc (Go) words it: the C library's strerror with a lower-case first letter
/// ("no such file or directory"). dockerd classifies a failed start by these words in the
/// runtime's error (127 for "no such file or directory" or "executable file not found",
/// 126 for "permission denied"), so an exec failure must say them exactly.
pub fn go_errno_text(errno: nix::errno::Errno) -> String {
    // std's message is strerror_r's text plus " (os error N)"; nix's own table words some
    // errnos differently from the C library (ELOOP).
    let full = std::io::Error::from_raw_os_error(errno as i32).to_string();
    let text = full
        .rsplit_once(" (os error")
        .map_or(full.as_str(), |(t, _)| t);
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

pub fn cstrings<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| CString::new(s).map_err(|_| Error::Init(format!("{s:?} contains a NUL byte"))))
        .collect()
}

pub fn path_cstring(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::Init(format!("{} contains a NUL byte", p.display())))
}

/// Close every fd above the preserved ones on exec, and make the preserved ones survive it.
/// This is the CVE-2024-21626 guard: no runtime fd (a host directory, the state dir) can
/// reach the container process.
pub fn seal_fds(preserve_fds: i32) -> Result<()> {
    let first_closed = 3 + preserve_fds.max(0) as u32;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags; no fd is closed under
    // anyone's feet.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first_closed,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        return Err(Error::Init(format!(
            "marking fds >= {first_closed} close-on-exec: {}",
            std::io::Error::last_os_error()
        )));
    }
    for fd in 3..first_closed as i32 {
        // SAFETY: fcntl on an fd number; a closed fd gives EBADF, which is fine to ignore.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::go_errno_text;

    #[test]
    fn errno_words_are_runcs() {
        // The words dockerd looks for (127/126), and Go's for two more.
        assert_eq!(go_errno_text(Errno::ENOENT), "no such file or directory");
        assert_eq!(go_errno_text(Errno::EACCES), "permission denied");
        assert_eq!(go_errno_text(Errno::ENOTDIR), "not a directory");
        assert_eq!(
            go_errno_text(Errno::ELOOP),
            "too many levels of symbolic links"
        );
    }
}
