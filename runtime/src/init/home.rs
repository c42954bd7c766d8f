//! `HOME` for a process whose `process.env` has none: the home directory of its uid in the
//! container's `/etc/passwd`, or `/` when there is no entry (or no file), as runc does.
//! Clients (docker, podman) rely on it.
//!
//! The file belongs to the image, which is untrusted: it is resolved inside the container
//! root (no symlink or magic link out of it), opened non-blocking (a FIFO does not hang the
//! init) and without taking a controlling terminal, read only if it is a regular file, and
//! read up to a bound. No path through /proc is used: a container without a /proc mount
//! gets its HOME too.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::{SFlag, fstat};

use crate::safe_path;

/// More than any real passwd file (some 15,000 entries); a bigger one is read only this far.
const MAX_PASSWD_BYTES: u64 = 1 << 20;

/// `env` with `HOME=` added for `uid` when it has no (or an empty) `HOME`. `root` is an fd
/// of the container's root directory.
pub fn with_home(env: &[String], root: BorrowedFd<'_>, uid: u32) -> Vec<String> {
    let has_home = env
        .iter()
        .any(|e| e.strip_prefix("HOME=").is_some_and(|v| !v.is_empty()));
    let mut env = env.to_vec();
    if !has_home {
        env.retain(|e| !e.starts_with("HOME="));
        env.push(format!("HOME={}", home_of(root, uid)));
    }
    env
}

/// The home directory of `uid` in `<root>/etc/passwd`; `/` when the file or the entry is
/// missing or unreadable (a process without a home still starts, as with runc).
pub fn home_of(root: BorrowedFd<'_>, uid: u32) -> String {
    match read_passwd(root) {
        Ok(text) => home_in(&text, uid).unwrap_or_else(|| "/".to_string()),
        Err(e) => {
            tracing::debug!("reading the container's /etc/passwd: {e}");
            "/".to_string()
        }
    }
}

fn read_passwd(root: BorrowedFd<'_>) -> Result<String, String> {
    let path = Path::new("/etc/passwd");
    // Opened directly, not as O_PATH reopened through /proc/self/fd (the container may
    // have no /proc): O_NONBLOCK so that a FIFO does not block the open, O_NOCTTY so that
    // a terminal does not become ours; the fstat then refuses anything but a file.
    let fd = safe_path::open_in_root(
        root,
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    )
    .map_err(|e| e.to_string())?;
    let st = fstat(fd.as_fd()).map_err(|e| format!("stat: {e}"))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err("not a regular file".into());
    }
    let file = File::from(fd);
    let mut bytes = Vec::new();
    file.take(MAX_PASSWD_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The home field of the first entry for `uid` (`name:pw:uid:gid:gecos:home:shell`).
fn home_in(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [_, _, id, _, _, home, ..] if id.parse() == Ok(uid) && !home.is_empty() => {
                Some(home.to_string())
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_of_the_uid_gives_the_home() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\nbroken line\n\
                      user:x:1000:1000::/home/user:/bin/sh\nalias:x:1000:1000::/other:/bin/sh\n";
        assert_eq!(home_in(passwd, 0).as_deref(), Some("/root"));
        assert_eq!(home_in(passwd, 1000).as_deref(), Some("/home/user"));
        assert_eq!(home_in(passwd, 1001), None);
        assert_eq!(home_in("nohome:x:5:5:::\n", 5), None);
    }
}
