//! `linux.maskedPaths` and `linux.readonlyPaths`, applied without trusting the image.
//!
//! Both run inside the container's (private) mount namespace once the rootfs and its
//! `/proc`, `/sys` and `/dev` are mounted. Every path is resolved inside the root with
//! [`crate::safe_path`] and mounted by fd, so a symlink such as `proc/kcore -> /etc/passwd`
//! can only ever point at a file of the container, never the host's.
//!
//! A masked file is covered by a bind mount of `/dev/null`. That `/dev/null` is opened
//! without following a final symlink and checked with `fstat` to be the character
//! device 1:3 before use: a container that replaces its `/dev/null` with a symlink to,
//! say, `/proc/sys/kernel/core_pattern` would otherwise turn "masking" into a writable
//! bind of a host control file (CVE-2025-31133).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FileStat, SFlag, fstat};
use nix::sys::statfs::{TMPFS_MAGIC, fstatfs};
use nix::sys::statvfs::fstatvfs;

use crate::safe_path::{self, SafePathError, fd_path, open_in_root, open_root};

/// Major/minor of the null device (`/dev/null`) on Linux.
const NULL_DEV: (u32, u32) = (1, 3);

#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("masked/readonly path {path:?} must be absolute")]
    NotAbsolute { path: String },
    #[error("{op} {path}: {source}")]
    Resolve {
        op: &'static str,
        path: String,
        #[source]
        source: SafePathError,
    },
    #[error(
        "masking {path}: {dev_null} is not the null device ({reason}); refusing to bind it (CVE-2025-31133)"
    )]
    FakeDevNull {
        path: String,
        dev_null: PathBuf,
        reason: String,
    },
    #[error("{op} {path}: {source}")]
    Mount {
        op: &'static str,
        path: String,
        source: Errno,
    },
    #[error("{op} {path}: after mounting, the path does not show the new mount ({detail})")]
    Verify {
        op: &'static str,
        path: String,
        detail: String,
    },
}

/// Applies the spec's `readonlyPaths` then `maskedPaths` (runc's order: a path listed in
/// both ends up masked).
pub fn apply(root: &Path, masked: &[String], readonly: &[String]) -> Result<(), MaskError> {
    for path in readonly {
        make_readonly(root, path)?;
    }
    for path in masked {
        mask_path(root, path)?;
    }
    Ok(())
}

/// Masks `path` (absolute, inside the container whose root is `root`): a directory gets
/// an empty read-only tmpfs, anything else a bind mount of the verified null device.
/// A path that does not exist is skipped.
pub fn mask_path(root: &Path, path: &str) -> Result<(), MaskError> {
    const OP: &str = "masking";
    check_absolute(path)?;
    let root_fd = open_root_for(OP, root, path)?;
    let Some(target) = open_target(OP, root_fd.as_fd(), path)? else {
        return Ok(());
    };
    let st = fstat(&target).map_err(|source| mount_err(OP, path, source))?;
    if kind(&st) == SFlag::S_IFDIR {
        mount(
            Some("tmpfs"),
            &fd_path(target.as_fd()),
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0,mode=0555"),
        )
        .map_err(|source| mount_err(OP, path, source))?;
        let now = reopen(OP, root_fd.as_fd(), path)?;
        let fs = fstatfs(&now).map_err(|source| mount_err(OP, path, source))?;
        if fs.filesystem_type() != TMPFS_MAGIC {
            return Err(verify_err(OP, path, "not a tmpfs"));
        }
    } else {
        let dev_null = open_verified_dev_null(root_fd.as_fd(), path)?;
        mount(
            Some(&fd_path(dev_null.as_fd())),
            &fd_path(target.as_fd()),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|source| mount_err(OP, path, source))?;
        let now = reopen(OP, root_fd.as_fd(), path)?;
        let st = fstat(&now).map_err(|source| mount_err(OP, path, source))?;
        if let Err(reason) = check_null_device(&st) {
            return Err(verify_err(OP, path, &reason));
        }
    }
    tracing::debug!(path, "masked");
    Ok(())
}

/// Makes `path` (absolute, inside the container) read-only: a bind mount of itself,
/// remounted read-only while keeping the source's nosuid/nodev/noexec/atime flags (the
/// kernel refuses to clear locked flags in a user namespace, and dropping them would
/// weaken the mount). A path that does not exist is skipped. Sub-mounts below `path`
/// are bound along (`MS_REC`) but stay as they were.
pub fn make_readonly(root: &Path, path: &str) -> Result<(), MaskError> {
    const OP: &str = "making read-only";
    check_absolute(path)?;
    let root_fd = open_root_for(OP, root, path)?;
    let Some(target) = open_target(OP, root_fd.as_fd(), path)? else {
        return Ok(());
    };
    let target_path = fd_path(target.as_fd());
    mount(
        Some(&target_path),
        &target_path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|source| mount_err(OP, path, source))?;
    // The old fd still names the covered mount; remounting through it would make the
    // parent mount read-only instead. Re-resolve to reach the bind we just made.
    let now = reopen(OP, root_fd.as_fd(), path)?;
    // Kernels without STATX_MNT_ID (< 5.8) skip this check; the re-resolution above
    // is what makes the remount hit the new mount.
    if let (Some(before), Some(after)) = (mount_id(target.as_fd()), mount_id(now.as_fd()))
        && before == after
    {
        return Err(verify_err(OP, path, "mount id unchanged after bind"));
    }
    let vfs = fstatvfs(&now).map_err(|source| mount_err(OP, path, source))?;
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | crate::rootfs::mount_options::statvfs_to_ms(vfs.flags());
    mount(
        None::<&str>,
        &fd_path(now.as_fd()),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|source| mount_err(OP, path, source))?;
    tracing::debug!(path, "made read-only");
    Ok(())
}

/// Opens the container's `/dev/null` for use as a mask source, refusing anything that is
/// not the real null device (a regular file, a symlink, another device). Falls back to
/// the runtime's own `/dev/null` (verified the same way) only when the container has none.
fn open_verified_dev_null(root: BorrowedFd<'_>, masked: &str) -> Result<OwnedFd, MaskError> {
    // O_NOFOLLOW: a symlink at /dev/null is opened as the link itself and refused below.
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW;
    let (fd, shown) = match open_in_root(root, Path::new("/dev/null"), flags) {
        Ok(fd) => (fd, PathBuf::from("<container>/dev/null")),
        Err(e) if e.is_not_found() => {
            let host = nix::fcntl::open(
                "/dev/null",
                flags | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|source| mount_err("opening /dev/null to mask", masked, source))?;
            (host, PathBuf::from("/dev/null"))
        }
        Err(source) => {
            return Err(MaskError::Resolve {
                op: "opening /dev/null to mask",
                path: masked.to_string(),
                source,
            });
        }
    };
    let st =
        fstat(&fd).map_err(|source| mount_err("checking /dev/null to mask", masked, source))?;
    check_null_device(&st).map_err(|reason| MaskError::FakeDevNull {
        path: masked.to_string(),
        dev_null: shown,
        reason,
    })?;
    Ok(fd)
}

fn check_null_device(st: &FileStat) -> Result<(), String> {
    let k = kind(st);
    if k != SFlag::S_IFCHR {
        return Err(format!("file type {:#o}, not a character device", k.bits()));
    }
    let dev = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
    if dev != NULL_DEV {
        return Err(format!("character device {}:{}, not 1:3", dev.0, dev.1));
    }
    Ok(())
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

/// The mount id of the mount `fd` lives on (statx `STATX_MNT_ID`, Linux 5.8+), or None
/// when the kernel cannot tell.
fn mount_id(fd: BorrowedFd<'_>) -> Option<u64> {
    use std::os::fd::AsRawFd;
    // SAFETY: statx is all-integer plain data; zeroed is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, a NUL-terminated empty path with AT_EMPTY_PATH, and a pointer to
    // a live, writable statx buffer.
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    (rc == 0 && stx.stx_mask & libc::STATX_MNT_ID != 0).then_some(stx.stx_mnt_id)
}

fn check_absolute(path: &str) -> Result<(), MaskError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(MaskError::NotAbsolute {
            path: path.to_string(),
        })
    }
}

fn open_root_for(op: &'static str, root: &Path, path: &str) -> Result<OwnedFd, MaskError> {
    open_root(root).map_err(|source| MaskError::Resolve {
        op,
        path: path.to_string(),
        source,
    })
}

/// The object at `path` inside the root (following symlinks only inside it), or None
/// when it does not exist: a missing path is not an error for masking, as in runc.
fn open_target(
    op: &'static str,
    root: BorrowedFd<'_>,
    path: &str,
) -> Result<Option<OwnedFd>, MaskError> {
    match open_in_root(root, Path::new(path), OFlag::O_PATH) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.is_not_found() => {
            tracing::debug!(path, "{op}: path does not exist in the container, skipped");
            Ok(None)
        }
        Err(source) => Err(MaskError::Resolve {
            op,
            path: path.to_string(),
            source,
        }),
    }
}

fn reopen(op: &'static str, root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, MaskError> {
    safe_path::open_in_root(root, Path::new(path), OFlag::O_PATH).map_err(|source| {
        MaskError::Resolve {
            op,
            path: path.to_string(),
            source,
        }
    })
}

fn mount_err(op: &'static str, path: &str, source: Errno) -> MaskError {
    MaskError::Mount {
        op,
        path: path.to_string(),
        source,
    }
}

fn verify_err(op: &'static str, path: &str, detail: &str) -> MaskError {
    MaskError::Verify {
        op,
        path: path.to_string(),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testkit::child::in_child;
    use berth_testkit::root::require_root;
    use nix::mount::MsFlags;
    use nix::sched::{CloneFlags, unshare};
    use nix::sys::statvfs::FsFlags;
    use std::os::unix::fs::symlink;

    /// Enters a private mount namespace so every mount made by the test vanishes with
    /// the child process.
    fn private_mount_ns() -> Result<(), String> {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| format!("make / private: {e}"))
    }

    /// A rootfs with a real /dev/null (the host's, bind-mounted: /tmp may be nodev).
    fn rootfs_with_dev_null(root: &Path) -> Result<(), String> {
        std::fs::create_dir_all(root.join("dev")).map_err(|e| e.to_string())?;
        std::fs::write(root.join("dev/null"), "").map_err(|e| e.to_string())?;
        mount(
            Some("/dev/null"),
            &root.join("dev/null"),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| format!("bind /dev/null: {e}"))
    }

    fn check(cond: bool, what: &str) -> Result<(), String> {
        if cond { Ok(()) } else { Err(what.to_string()) }
    }

    #[test]
    fn masked_file_reads_empty_and_masked_dir_is_empty_and_read_only() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        in_child(move || {
            private_mount_ns()?;
            rootfs_with_dev_null(&root)?;
            std::fs::create_dir_all(root.join("proc")).map_err(|e| e.to_string())?;
            std::fs::write(root.join("proc/kcore"), "secret").map_err(|e| e.to_string())?;
            std::fs::create_dir_all(root.join("sys/firmware/efi")).map_err(|e| e.to_string())?;
            mask_path(&root, "/proc/kcore").map_err(|e| e.to_string())?;
            mask_path(&root, "/sys/firmware").map_err(|e| e.to_string())?;
            mask_path(&root, "/proc/does-not-exist").map_err(|e| format!("missing path: {e}"))?;
            let content = std::fs::read(root.join("proc/kcore")).map_err(|e| e.to_string())?;
            check(content.is_empty(), "masked file is not empty")?;
            let entries = std::fs::read_dir(root.join("sys/firmware"))
                .map_err(|e| e.to_string())?
                .count();
            check(entries == 0, "masked dir is not empty")?;
            let write = std::fs::write(root.join("sys/firmware/new"), "x");
            check(
                write.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EROFS),
                &format!("write into masked dir: {write:?}"),
            )
        })
        .expect("masking in child");
    }

    #[test]
    fn readonly_path_refuses_writes_and_keeps_source_flags() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        in_child(move || {
            private_mount_ns()?;
            std::fs::create_dir_all(root.join("proc/sys")).map_err(|e| e.to_string())?;
            std::fs::write(root.join("proc/sys/knob"), "0").map_err(|e| e.to_string())?;
            make_readonly(&root, "/proc/sys").map_err(|e| e.to_string())?;
            let write = std::fs::write(root.join("proc/sys/knob"), "1");
            check(
                write.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EROFS),
                &format!("write to read-only path: {write:?}"),
            )?;
            let content =
                std::fs::read_to_string(root.join("proc/sys/knob")).map_err(|e| e.to_string())?;
            check(content == "0", "read-only path still readable")?;
            // Source flags survive: a nosuid,noexec,nodev tmpfs stays so when made read-only.
            std::fs::create_dir_all(root.join("flags")).map_err(|e| e.to_string())?;
            mount(
                Some("tmpfs"),
                &root.join("flags"),
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
                None::<&str>,
            )
            .map_err(|e| e.to_string())?;
            make_readonly(&root, "/flags").map_err(|e| e.to_string())?;
            let vfs = nix::sys::statvfs::statvfs(&root.join("flags")).map_err(|e| e.to_string())?;
            let want =
                FsFlags::ST_RDONLY | FsFlags::ST_NOSUID | FsFlags::ST_NOEXEC | FsFlags::ST_NODEV;
            check(
                vfs.flags().contains(want),
                &format!("flags after remount: {:?}", vfs.flags()),
            )?;
            // The parent mount (the test's /tmp) is untouched.
            std::fs::write(root.join("still-writable"), "x")
                .map_err(|e| format!("parent became read-only: {e}"))
        })
        .expect("read-only in child");
    }

    #[test]
    fn masked_symlink_to_host_file_stays_inside_root() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        in_child(move || {
            private_mount_ns()?;
            rootfs_with_dev_null(&root)?;
            let host_before = std::fs::read("/etc/passwd").map_err(|e| e.to_string())?;
            std::fs::create_dir_all(root.join("proc")).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(root.join("etc")).map_err(|e| e.to_string())?;
            std::fs::write(root.join("etc/passwd"), "container").map_err(|e| e.to_string())?;
            symlink("/etc/passwd", root.join("proc/keys")).map_err(|e| e.to_string())?;
            symlink(
                "../../../../../../../../etc/hostname",
                root.join("proc/timer_list"),
            )
            .map_err(|e| e.to_string())?;
            mask_path(&root, "/proc/keys").map_err(|e| e.to_string())?;
            // Target missing inside the root: skipped, and never the host's /etc/hostname.
            mask_path(&root, "/proc/timer_list").map_err(|e| e.to_string())?;
            make_readonly(&root, "/proc/timer_list").map_err(|e| e.to_string())?;
            let host_after = std::fs::read("/etc/passwd").map_err(|e| e.to_string())?;
            check(
                host_after == host_before && !host_after.is_empty(),
                "host /etc/passwd was masked",
            )?;
            let st = nix::sys::stat::stat("/etc/hostname").map_err(|e| e.to_string())?;
            check(
                kind(&st) == SFlag::S_IFREG,
                "host /etc/hostname was covered",
            )?;
            let inside = std::fs::read(root.join("etc/passwd")).map_err(|e| e.to_string())?;
            check(
                inside.is_empty(),
                "the container's own /etc/passwd should be the one masked",
            )
        })
        .expect("symlink containment in child");
    }

    #[test]
    fn fake_dev_null_is_refused() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        in_child(move || {
            private_mount_ns()?;
            std::fs::create_dir_all(root.join("dev")).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(root.join("proc")).map_err(|e| e.to_string())?;
            std::fs::write(root.join("proc/kcore"), "secret").map_err(|e| e.to_string())?;
            // 1) a regular file posing as /dev/null
            std::fs::write(root.join("dev/null"), "").map_err(|e| e.to_string())?;
            let err = mask_path(&root, "/proc/kcore");
            check(
                matches!(err, Err(MaskError::FakeDevNull { .. })),
                &format!("regular file: {err:?}"),
            )?;
            // 2) a symlink to a writable target posing as /dev/null
            std::fs::remove_file(root.join("dev/null")).map_err(|e| e.to_string())?;
            std::fs::write(root.join("core_pattern"), "").map_err(|e| e.to_string())?;
            symlink("/core_pattern", root.join("dev/null")).map_err(|e| e.to_string())?;
            let err = mask_path(&root, "/proc/kcore");
            check(
                matches!(err, Err(MaskError::FakeDevNull { .. })),
                &format!("symlink: {err:?}"),
            )?;
            // 3) a symlink to the host's real /dev/null is refused too: no symlink at all.
            std::fs::remove_file(root.join("dev/null")).map_err(|e| e.to_string())?;
            symlink("/proc/self/root/dev/null", root.join("dev/null"))
                .map_err(|e| e.to_string())?;
            let err = mask_path(&root, "/proc/kcore");
            check(
                matches!(err, Err(MaskError::FakeDevNull { .. })),
                &format!("magic symlink: {err:?}"),
            )?;
            let content = std::fs::read(root.join("proc/kcore")).map_err(|e| e.to_string())?;
            check(content == b"secret", "nothing was mounted")
        })
        .expect("fake /dev/null in child");
    }

    #[test]
    fn relative_paths_are_refused() {
        let err = mask_path(Path::new("/"), "proc/kcore");
        assert!(matches!(err, Err(MaskError::NotAbsolute { .. })), "{err:?}");
    }
}
