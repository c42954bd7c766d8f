//! `-u USER[:GROUP]` (or the image's `User`) to ids, from the image's own `/etc/passwd`
//! and `/etc/group`, as docker resolves them. The files are the image's, so hostile: they
//! are opened inside the rootfs with berth-safe-path (a `/etc/passwd` symlinked to the
//! host's, or `..` in a path, stays in the rootfs), must be regular files, and are read up
//! to 1 MiB.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::OFlag;

use crate::error::{EngineError, Result};

/// The largest passwd or group file read.
const MAX_FILE: u64 = 1 << 20;

/// Resolved ids for the process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the groups of `/etc/group` listing the user by name.
    pub additional_gids: Vec<u32>,
    /// The passwd entry's home, when the user has one (for `HOME`).
    pub home: Option<String>,
}

/// Reads `rel` (e.g. `etc/passwd`) inside `rootfs`; None when absent or not a regular file.
fn read_in_root(rootfs: &Path, rel: &str) -> Result<Option<String>> {
    let root = berth_safe_path::open_root(rootfs)
        .map_err(|e| EngineError::InvalidArgument(format!("opening the rootfs: {e}")))?;
    let fd = match berth_safe_path::open_in_root(
        root.as_fd(),
        Path::new(rel),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    ) {
        Ok(fd) => fd,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => {
            return Err(EngineError::InvalidArgument(format!(
                "opening /{rel} in {}: {e}",
                rootfs.display()
            )));
        }
    };
    let file = std::fs::File::from(fd);
    let is_file = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    if !is_file {
        return Ok(None);
    }
    let mut text = String::new();
    file.take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| EngineError::InvalidArgument(format!("reading /{rel} of the image: {e}")))?;
    Ok(Some(text))
}

/// `name:x:uid:gid:gecos:home:shell` entries.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f.get(5).copied().unwrap_or(""),
        })
    })
}

/// `name:x:gid:member,member` entries.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 || line.starts_with('#') {
            return None;
        }
        let members = f
            .get(3)
            .map(|m| m.split(',').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolves `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) in `rootfs`.
pub fn resolve(rootfs: &Path, spec: &str) -> Result<ResolvedUser> {
    let passwd = read_in_root(rootfs, "etc/passwd")?.unwrap_or_default();
    let group = read_in_root(rootfs, "etc/group")?.unwrap_or_default();
    resolve_in(&passwd, &group, spec)
}

/// [`resolve`] on the files' text.
pub fn resolve_in(passwd: &str, group: &str, spec: &str) -> Result<ResolvedUser> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let (uid, mut gid, name, home) = if let Ok(uid) = user.parse::<u32>() {
        // A number is taken as is; its passwd entry, if any, gives the group and home.
        match passwd_entries(passwd).find(|e| e.uid == uid) {
            Some(e) => (
                uid,
                e.gid,
                Some(e.name.to_string()),
                Some(e.home.to_string()),
            ),
            None => (uid, 0, None, None),
        }
    } else {
        match passwd_entries(passwd).find(|e| e.name == user) {
            Some(e) => (
                e.uid,
                e.gid,
                Some(e.name.to_string()),
                Some(e.home.to_string()),
            ),
            None => {
                return Err(EngineError::InvalidArgument(format!(
                    "unable to find user {user}: no matching entries in passwd file"
                )));
            }
        }
    };
    if let Some(g) = grp {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group_entries(group)
                .find(|(n, _, _)| *n == g)
                .map(|(_, id, _)| id)
                .ok_or_else(|| {
                    EngineError::InvalidArgument(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
    }
    let mut additional_gids: Vec<u32> = match &name {
        Some(n) => group_entries(group)
            .filter(|(_, _, members)| members.contains(&n.as_str()))
            .map(|(_, id, _)| id)
            .filter(|id| *id != gid)
            .collect(),
        None => Vec::new(),
    };
    additional_gids.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: home.filter(|h| !h.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwww:x:33:\nstaff:x:50:www,nobody\n";

    #[test]
    fn names_and_numbers_resolve_as_docker_resolves_them() {
        let r = resolve_in(PASSWD, GROUP, "").expect("root");
        assert_eq!((r.uid, r.gid, r.home.as_deref()), (0, 0, Some("/root")));
        let r = resolve_in(PASSWD, GROUP, "www").expect("www");
        assert_eq!(
            (r.uid, r.gid, r.additional_gids.clone()),
            (33, 33, vec![50])
        );
        let r = resolve_in(PASSWD, GROUP, "1234:staff").expect("uid:group");
        assert_eq!((r.uid, r.gid, r.home), (1234, 50, None));
        let r = resolve_in(PASSWD, GROUP, "33:7").expect("uid:gid");
        assert_eq!((r.uid, r.gid), (33, 7));
        let e = resolve_in(PASSWD, GROUP, "bob").expect_err("unknown user");
        assert!(e.to_string().contains("unable to find user bob"), "{e}");
        assert!(resolve_in(PASSWD, GROUP, "www:nogroup").is_err());
    }

    #[test]
    fn passwd_symlinked_out_of_the_rootfs_is_read_inside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("host-passwd");
        std::fs::write(&outside, "evil:x:4242:4242::/:/bin/sh\n").expect("write");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, rootfs.join("etc/passwd")).expect("symlink");
        // The absolute target is taken inside the rootfs, where it does not exist.
        let e = resolve(&rootfs, "evil").expect_err("host passwd must not be read");
        assert!(e.to_string().contains("unable to find user evil"), "{e}");
    }
}
