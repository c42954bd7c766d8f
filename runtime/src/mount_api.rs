//! The parts of the new mount API (`open_tree`, `move_mount`, `mount_setattr`) the
//! runtime uses, by fd: mounting through fds follows no path at mount time, which is what
//! makes a symlink planted in an image harmless, and `mount_setattr` changes a whole tree
//! of mounts at once (the recursive mount options). libc has the syscall numbers but no
//! wrappers.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

// From <linux/mount.h>; defined here because not every libc release exports them.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// A detached copy of the mount of whatever `fd` refers to (`open_tree(OPEN_TREE_CLONE)`):
/// attached nowhere until moved, gone when the last fd to it closes.
pub fn clone_tree(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    // SAFETY: open_tree on a valid fd with an empty NUL-terminated path; it returns a new
    // fd or -1 and touches no other memory.
    let raw = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint,
        )
    };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: open_tree returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw as libc::c_int) })
}

/// Attach the detached mount `tree` on top of what `target` refers to.
pub fn move_onto(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: move_mount with two valid fds and empty NUL-terminated paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r != 0 { Err(Errno::last()) } else { Ok(()) }
}

/// `mount_setattr(2)` attribute bits (`MOUNT_ATTR_*` from <linux/mount.h>). The access-time
/// values are an enum inside [`ATTR_ATIME`], not independent bits: setting one takes
/// `ATTR_ATIME` in the clear mask.
pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
pub const ATTR_ATIME: u64 = 0x70;
pub const ATTR_RELATIME: u64 = 0x0;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;
pub const ATTR_NOSYMFOLLOW: u64 = 0x20_0000;

/// What `mount_setattr` sets and clears on every mount of a tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttr {
    pub set: u64,
    pub clear: u64,
}

impl MountAttr {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }
}

/// `struct mount_attr` (MOUNT_ATTR_SIZE_VER0, 32 bytes).
#[repr(C)]
struct RawMountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Set and clear `attr` on the mount `fd` refers to and on every mount below it
/// (`mount_setattr(AT_RECURSIVE)`). All or nothing: the kernel changes no mount when it
/// refuses one. `ENOSYS` on kernels before 5.12.
pub fn set_attr_recursive(fd: BorrowedFd<'_>, attr: MountAttr) -> Result<(), Errno> {
    let raw = RawMountAttr {
        attr_set: attr.set,
        attr_clr: attr.clear,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr with a valid fd, an empty NUL-terminated path and a pointer to
    // a live struct of the size passed; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &raw as *const RawMountAttr,
            std::mem::size_of::<RawMountAttr>(),
        )
    };
    if r != 0 { Err(Errno::last()) } else { Ok(()) }
}
