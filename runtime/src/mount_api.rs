//! The parts of the new mount API (`open_tree`, `move_mount`) the runtime uses, by fd:
//! mounting through fds follows no path at mount time, which is what makes a symlink
//! planted in an image harmless. libc has the syscall numbers but no wrappers.

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
