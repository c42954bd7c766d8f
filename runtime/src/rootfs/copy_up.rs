//! `tmpcopyup` (a runc/crun extension that podman asks for by default with `--tmpfs`): a
//! tmpfs mounted over a directory starts with a copy of what the directory held, instead
//! of hiding it.
//!
//! The directory belongs to the image, which is untrusted, so the copy never follows a
//! symlink: every entry is opened with `O_NOFOLLOW` relative to its already-opened parent,
//! symlinks are copied as symlinks, and only regular files, directories, symlinks, FIFOs
//! and device nodes are recreated. The source is read through an fd opened before the
//! tmpfs covered it, and the tmpfs is written through an fd of its root, so no path is
//! resolved twice.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, fstatat, mkdirat, mknodat};
use nix::unistd::{Gid, Uid, fchownat, symlinkat};

/// How many directories deep a copy-up goes below the mount point. Each level holds two
/// directory fds and a stack frame while the levels below it are copied, so an image's
/// deep tree must not exhaust either in the init; no real image directory comes near.
pub const MAX_DEPTH: usize = 256;

/// Why a copy-up failed, naming the entry (relative to the mount point).
#[derive(Debug, thiserror::Error)]
pub enum CopyUpError {
    #[error("copying {path} into the tmpfs: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("copying {path} into the tmpfs: directories nested deeper than {MAX_DEPTH}")]
    TooDeep { path: String },
}

/// Copy everything under `from` (a directory fd opened before the tmpfs covered it) into
/// `to` (the tmpfs root), keeping modes, owners and symlink targets. A directory that
/// cannot be read fails the copy ([`CopyUpError::Io`]): a silently incomplete copy would
/// start the container on a tmpfs that lacks part of the image.
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), CopyUpError> {
    copy_dir(from, to, "", 0)
}

fn copy_dir(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    rel: &str,
    depth: usize,
) -> Result<(), CopyUpError> {
    let err = |name: &str, e: io::Error| CopyUpError::Io {
        path: format!("{rel}/{name}"),
        source: e,
    };
    let mut dir = Dir::openat(
        from,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("", e.into()))?;
    let mut names: Vec<CString> = Vec::new();
    for entry in dir.iter() {
        let name = entry.map_err(|e| err("", e.into()))?.file_name().to_owned();
        if name.as_bytes() != b"." && name.as_bytes() != b".." {
            names.push(name);
        }
    }
    // Not held while the levels below are copied.
    drop(dir);
    for name in names {
        let shown = OsStr::from_bytes(name.as_bytes())
            .to_string_lossy()
            .into_owned();
        copy_entry(from, to, &name, rel, &shown, depth).map_err(|e| match e {
            Entry::Io(e) => err(&shown, e),
            Entry::Nested(e) => e,
        })?;
    }
    Ok(())
}

enum Entry {
    Io(io::Error),
    Nested(CopyUpError),
}

impl From<Errno> for Entry {
    fn from(e: Errno) -> Self {
        Entry::Io(e.into())
    }
}

impl From<io::Error> for Entry {
    fn from(e: io::Error) -> Self {
        Entry::Io(e)
    }
}

fn copy_entry(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    name: &CStr,
    rel: &str,
    shown: &str,
    depth: usize,
) -> Result<(), Entry> {
    let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match kind {
        SFlag::S_IFDIR => {
            if depth >= MAX_DEPTH {
                return Err(Entry::Nested(CopyUpError::TooDeep {
                    path: format!("{rel}/{shown}"),
                }));
            }
            mkdirat(to, name, Mode::from_bits_truncate(0o700))?;
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let src = openat(from, name, flags, Mode::empty())?;
            let dst = openat(to, name, flags, Mode::empty())?;
            copy_dir(
                src.as_fd(),
                dst.as_fd(),
                &format!("{rel}/{shown}"),
                depth + 1,
            )
            .map_err(Entry::Nested)?;
        }
        SFlag::S_IFREG => {
            let src = openat(
                from,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let dst = openat(
                to,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            io::copy(&mut File::from(src), &mut File::from(dst))?;
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(from, name)?;
            symlinkat(target.as_os_str(), to, name)?;
        }
        SFlag::S_IFIFO | SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFSOCK => {
            mknodat(to, name, kind, Mode::from_bits_truncate(0o600), st.st_rdev)?;
        }
        _ => return Ok(()),
    }
    fchownat(
        to,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    // After the chown, which clears setuid/setgid; symlinks have no mode of their own.
    if kind != SFlag::S_IFLNK {
        fchmodat(to, name, perm, FchmodatFlags::NoFollowSymlink).or_else(|e| {
            // Older kernels refuse AT_SYMLINK_NOFOLLOW for fchmodat; the entry was just
            // created by us and is not a symlink, so following is the same here.
            if e == Errno::EOPNOTSUPP || e == Errno::ENOTSUP || e == Errno::EINVAL {
                fchmodat(to, name, perm, FchmodatFlags::FollowSymlink)
            } else {
                Err(e)
            }
        })?;
    }
    Ok(())
}
