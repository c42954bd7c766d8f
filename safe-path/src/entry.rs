//! One named entry inside a root, created the way an archive unpacker needs it: the
//! parent directory is resolved (and made) inside the root once, then every operation on
//! the entry is a `*at` call on that parent fd with the entry's own name, never
//! following a symlink at the name itself. A symlink in the parent path only redirects
//! inside the root (as `chroot` would), and the entry cannot be created anywhere else.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, FileStat, Mode, SFlag, UtimensatFlags, fchmodat, fstatat, mkdirat, mknodat,
    utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat, linkat, symlinkat};

use crate::create::mkdir_all_in_root;
use crate::error::SafePathError;
use crate::resolve::{fd_path, is_kind, open_in_root, relative};

/// Mode of the parent directories an entry implies but the archive did not list (docker's
/// and tar's choice).
const IMPLIED_DIR_MODE: u32 = 0o755;

/// The special files [`EntryAt::mknod`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A character device (`major`, `minor`); `0:0` is overlayfs's whiteout.
    Char { major: u32, minor: u32 },
    /// A block device (`major`, `minor`).
    Block { major: u32, minor: u32 },
    /// A named pipe.
    Fifo,
}

/// An entry `name` in a directory `parent` that was resolved inside a root.
#[derive(Debug)]
pub struct EntryAt {
    parent: OwnedFd,
    name: OsString,
    path: PathBuf,
}

impl EntryAt {
    /// Resolves the parent of `path` inside `root` (creating missing directories with mode
    /// 0755; symlinks on the way resolve inside the root) and keeps the last name
    /// unresolved. `path` is taken relative to the root whether or not it starts with `/`.
    /// Errors: [`SafePathError::NotAnEntry`] when the last component is `.`, `..` or
    /// missing (the path names the root itself or climbs), or a resolve/create error.
    pub fn new(root: BorrowedFd<'_>, path: &Path) -> Result<Self, SafePathError> {
        let rel = relative(path);
        let name = match rel.components().next_back() {
            Some(Component::Normal(name)) => name.to_os_string(),
            _ => {
                return Err(SafePathError::NotAnEntry {
                    path: path.to_path_buf(),
                });
            }
        };
        let parent_path = rel.parent().unwrap_or(Path::new(""));
        // The parent usually exists (archives list directories first): one lookup of the
        // whole path, and the component-by-component `mkdir -p` only when it is missing.
        let parent = match open_in_root(root, parent_path, OFlag::O_PATH | OFlag::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if e.is_not_found() => mkdir_all_in_root(
                root,
                parent_path,
                Mode::from_bits_truncate(IMPLIED_DIR_MODE),
            )?,
            Err(e) => return Err(e),
        };
        Ok(Self {
            parent,
            name,
            path: path.to_path_buf(),
        })
    }

    /// The path the entry was named by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry's resolved parent directory (an `O_PATH` fd).
    pub fn parent(&self) -> BorrowedFd<'_> {
        self.parent.as_fd()
    }

    /// The entry's own name in its parent.
    pub fn name(&self) -> &OsStr {
        &self.name
    }

    fn err(&self, action: &'static str) -> impl FnOnce(Errno) -> SafePathError + '_ {
        move |source| SafePathError::Entry {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// `lstat` of what is at the name now, `None` when nothing is.
    pub fn lstat(&self) -> Result<Option<FileStat>, SafePathError> {
        match fstatat(
            &self.parent,
            self.name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.err("inspecting")(e)),
        }
    }

    /// True when a directory (not a symlink to one) is at the name.
    pub fn is_dir(&self) -> Result<bool, SafePathError> {
        Ok(self.lstat()?.is_some_and(|st| is_kind(&st, SFlag::S_IFDIR)))
    }

    /// Removes whatever is at the name, a directory with everything in it; nothing there
    /// is not an error. A symlink is removed itself, never followed.
    pub fn remove(&self) -> Result<(), SafePathError> {
        if self.is_dir()? {
            // /proc/self/fd/N/name: the kernel resolves N to the exact parent we hold;
            // remove_dir_all never follows a symlink inside (std's CVE-2022-21658 fix).
            let path = fd_path(self.parent.as_fd()).join(&self.name);
            return std::fs::remove_dir_all(&path).map_err(|e| {
                self.err("removing the directory")(Errno::from_raw(
                    e.raw_os_error().unwrap_or(libc::EIO),
                ))
            });
        }
        match nix::unistd::unlinkat(
            &self.parent,
            self.name.as_os_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        ) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(self.err("removing")(e)),
        }
    }

    /// Runs `create` (one of the creating methods below); when something is already at
    /// the name (`EEXIST`), removes it (a directory with its content, a symlink itself)
    /// and runs `create` once more: what a later archive entry of the same name does.
    pub fn replace_with<T>(
        &self,
        create: impl Fn(&Self) -> Result<T, SafePathError>,
    ) -> Result<T, SafePathError> {
        match create(self) {
            Err(e) if e.errno() == Some(Errno::EEXIST) => {
                self.remove()?;
                create(self)
            }
            other => other,
        }
    }

    /// Creates a directory at the name with `mode` (before the umask); an existing
    /// directory is kept as it is.
    pub fn mkdir(&self, mode: u32) -> Result<(), SafePathError> {
        match mkdirat(&self.parent, self.name.as_os_str(), mode_of(mode)) {
            Ok(()) => Ok(()),
            Err(Errno::EEXIST) if self.is_dir()? => Ok(()),
            Err(e) => Err(self.err("creating the directory")(e)),
        }
    }

    /// Creates a new regular file at the name (`O_EXCL | O_NOFOLLOW`: nothing may be
    /// there, not even a dangling symlink) and returns it open for writing.
    pub fn create_file(&self, mode: u32) -> Result<File, SafePathError> {
        let fd = openat(
            &self.parent,
            self.name.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            mode_of(mode),
        )
        .map_err(self.err("creating the file"))?;
        Ok(File::from(fd))
    }

    /// Creates a symlink at the name pointing at `target`, which is stored as text and
    /// never resolved here (it resolves inside whatever root the entry ends up in).
    pub fn symlink(&self, target: &Path) -> Result<(), SafePathError> {
        symlinkat(target, &self.parent, self.name.as_os_str())
            .map_err(self.err("creating the symlink"))
    }

    /// Creates a hard link at the name to `target`, resolved inside `root` (symlinks on
    /// the way stay inside it; the target's own last component is not followed, as
    /// `link(2)` does not). A missing target is an `ENOENT` error.
    pub fn hardlink_to(&self, root: BorrowedFd<'_>, target: &Path) -> Result<(), SafePathError> {
        let existing = open_in_root(root, target, OFlag::O_PATH | OFlag::O_NOFOLLOW)?;
        linkat(
            &existing,
            "",
            &self.parent,
            self.name.as_os_str(),
            AtFlags::AT_EMPTY_PATH,
        )
        .map_err(self.err("creating the hard link"))
    }

    /// Creates a device node or a fifo at the name with permission bits `mode`.
    pub fn mknod(&self, kind: NodeKind, mode: u32) -> Result<(), SafePathError> {
        let (sflag, dev) = match kind {
            NodeKind::Char { major, minor } => (SFlag::S_IFCHR, libc::makedev(major, minor)),
            NodeKind::Block { major, minor } => (SFlag::S_IFBLK, libc::makedev(major, minor)),
            NodeKind::Fifo => (SFlag::S_IFIFO, 0),
        };
        mknodat(
            &self.parent,
            self.name.as_os_str(),
            sflag,
            mode_of(mode),
            dev,
        )
        .map_err(self.err("creating the node"))
    }

    /// Sets the owner, not following a symlink at the name.
    pub fn chown(&self, uid: u32, gid: u32) -> Result<(), SafePathError> {
        fchownat(
            &self.parent,
            self.name.as_os_str(),
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(self.err("setting the owner of"))
    }

    /// Sets the permission bits (with setuid/setgid/sticky). Symlinks have none: the
    /// caller skips them (`fchmodat` would follow one), and nothing else can be at the
    /// name, since the entry was just created here under a private root.
    pub fn chmod(&self, mode: u32) -> Result<(), SafePathError> {
        fchmodat(
            &self.parent,
            self.name.as_os_str(),
            Mode::from_bits_truncate(mode & 0o7777),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(self.err("setting the mode of"))
    }

    /// Sets the access and modification times, not following a symlink at the name.
    pub fn set_times(&self, atime: TimeSpec, mtime: TimeSpec) -> Result<(), SafePathError> {
        utimensat(
            &self.parent,
            self.name.as_os_str(),
            &atime,
            &mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(self.err("setting the times of"))
    }

    /// Sets extended attribute `key` to `value` on the entry itself (`lsetxattr`, so a
    /// symlink gets it, not its target).
    pub fn set_xattr(&self, key: &OsStr, value: &[u8]) -> Result<(), SafePathError> {
        let path = fd_path(self.parent.as_fd()).join(&self.name);
        let path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| self.err("naming")(Errno::EINVAL))?;
        let key = CString::new(key.as_bytes())
            .map_err(|_| self.err("naming an xattr of")(Errno::EINVAL))?;
        // SAFETY: both strings are NUL-terminated CStrings alive for the call, and
        // value's pointer and length come from one slice.
        let rc = unsafe {
            libc::lsetxattr(
                path.as_ptr(),
                key.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            return Err(self.err("setting an xattr of")(Errno::last()));
        }
        Ok(())
    }
}

fn mode_of(mode: u32) -> Mode {
    Mode::from_bits_truncate(mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::open_root;
    use berth_testkit::root::require_root;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, symlink};

    #[test]
    fn entries_under_a_symlinked_parent_land_inside_the_root() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        // `a` points at a host directory that exists; inside the root its target is
        // missing, so the parent cannot be resolved: refused, as `mkdir -p` in a chroot.
        symlink(outside.path(), dir.path().join("a")).expect("symlink");
        let root = open_root(dir.path()).expect("root");
        let err = EntryAt::new(root.as_fd(), Path::new("a/file")).expect_err("dangling");
        assert!(err.is_not_found(), "{err}");
        // `b` -> `/etc`, which the root has: the entry lands in the root's /etc.
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        symlink("/etc", dir.path().join("b")).expect("symlink");
        let marker = format!("berth-entry-test-{}", std::process::id());
        let e = EntryAt::new(root.as_fd(), &Path::new("b").join(&marker)).expect("entry");
        e.create_file(0o644)
            .expect("create")
            .write_all(b"x")
            .expect("write");
        assert_eq!(std::fs::read_dir(outside.path()).expect("ls").count(), 0);
        assert!(!Path::new("/etc").join(&marker).exists());
        assert_eq!(
            std::fs::read(dir.path().join("etc").join(&marker)).expect("inside"),
            b"x"
        );
    }

    #[test]
    fn a_file_is_never_created_through_a_symlink_at_its_name() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        symlink(outside.path().join("x"), dir.path().join("f")).expect("symlink");
        let root = open_root(dir.path()).expect("root");
        let e = EntryAt::new(root.as_fd(), Path::new("/f")).expect("entry");
        let err = e.create_file(0o644).expect_err("EEXIST");
        assert_eq!(err.errno(), Some(Errno::EEXIST));
        e.remove().expect("remove link");
        e.create_file(0o600).expect("create");
        assert!(!outside.path().join("x").exists());
    }

    #[test]
    fn replace_with_removes_what_is_there_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("d/sub")).expect("mkdir");
        let root = open_root(dir.path()).expect("root");
        let e = EntryAt::new(root.as_fd(), Path::new("d")).expect("entry");
        e.replace_with(|e| e.create_file(0o644))
            .expect("file over a directory");
        assert!(dir.path().join("d").is_file());
        e.replace_with(|e| e.symlink(Path::new("/elsewhere")))
            .expect("symlink over a file");
        assert_eq!(
            std::fs::read_link(dir.path().join("d")).expect("link"),
            Path::new("/elsewhere")
        );
    }

    #[test]
    fn the_root_and_its_parent_are_not_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = open_root(dir.path()).expect("root");
        for p in ["/", "..", "a/..", "."] {
            assert!(
                matches!(
                    EntryAt::new(root.as_fd(), Path::new(p)),
                    Err(SafePathError::NotAnEntry { .. })
                ),
                "{p}"
            );
        }
    }

    #[test]
    fn hardlinks_resolve_their_target_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/passwd"), "inside").expect("write");
        let root = open_root(dir.path()).expect("root");
        let e = EntryAt::new(root.as_fd(), Path::new("l")).expect("entry");
        // Absolute and climbing targets are clamped to the root, as in a chroot.
        e.hardlink_to(root.as_fd(), Path::new("/../../etc/passwd"))
            .expect("link");
        assert_eq!(
            std::fs::metadata(dir.path().join("l")).expect("l").ino(),
            std::fs::metadata(dir.path().join("etc/passwd"))
                .expect("p")
                .ino()
        );
        let missing = EntryAt::new(root.as_fd(), Path::new("m")).expect("entry");
        assert!(
            missing
                .hardlink_to(root.as_fd(), Path::new("nope"))
                .expect_err("missing")
                .is_not_found()
        );
    }

    #[test]
    fn whiteout_device_owner_and_xattr() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = open_root(dir.path()).expect("root");
        let e = EntryAt::new(root.as_fd(), Path::new("d/wh")).expect("entry");
        e.mknod(NodeKind::Char { major: 0, minor: 0 }, 0)
            .expect("mknod");
        e.chown(12, 34).expect("chown");
        let md = std::fs::symlink_metadata(dir.path().join("d/wh")).expect("md");
        assert_eq!((md.rdev(), md.uid(), md.gid()), (0, 12, 34));
        let d = EntryAt::new(root.as_fd(), Path::new("d")).expect("entry");
        d.set_xattr(OsStr::new("trusted.overlay.opaque"), b"y")
            .expect("xattr");
        d.set_times(TimeSpec::new(5, 0), TimeSpec::new(7, 0))
            .expect("times");
        assert_eq!(
            std::fs::metadata(dir.path().join("d")).expect("d").mtime(),
            7
        );
    }
}
