//! CVE-2019-5736: the container must never be able to write the runtime binary.
//!
//! A container process can reach the runtime's executable in two ways: through
//! `/proc/<pid>/exe` of a runtime process it can see (the init before `execve`, or the
//! runtime itself when the container shares the host pid namespace), and through the
//! `#!/proc/self/exe` shebang trick, where the image's entrypoint makes the init's
//! `execve` run the runtime binary *as the container process*. runc answered in 2019 by
//! copying itself into a sealed memfd on every call, which costs milliseconds per call.
//!
//! berth does two cheap things instead:
//! 1. [`seal_or_reexec`] makes the runtime execute from a **detached, read-only bind
//!    mount of its binary's directory** (`open_tree(OPEN_TREE_CLONE)`, `mount_setattr`
//!    read-only, `execveat`). `/proc/self/exe` of the runtime, its init and anything
//!    exec'd through the shebang trick then names a file on a read-only mount: every
//!    write open through the magic link fails with `EROFS`, even after the runtime
//!    exited. The mount is attached nowhere (no path leads to it, nothing to unmount or
//!    leak; `/proc/<pid>/exe` reads `/berth-runtime`); the only handle a container can
//!    get is the file, not the mount's root, so `mount_setattr` cannot make it writable
//!    through it. The re-exec happens once per `create`/`exec`: a binary already on a
//!    read-only mount is not re-exec'd.
//!
//!    Cost: one more start of the binary per `create`/`exec`, about 1.4 ms for a release
//!    build on the test host (SECURITY.md has the measurement); nothing is copied.
//! 2. [`set_dumpable`]`(false)`: the runtime and its init are not dumpable, so a container
//!    process (without CAP_SYS_PTRACE) cannot even open `/proc/<init pid>/exe`. `execve`
//!    of the container process resets it, as it should.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::{Mode, fstat};
use nix::sys::statvfs::{FsFlags, fstatvfs};

use crate::error::{Error, Result, sys_err};

fn sys(op: &'static str, what: &'static str) -> impl FnOnce(Errno) -> Error {
    sys_err(op, what)
}

// From <linux/mount.h>; defined here because not every libc release exports them.
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

/// `struct mount_attr` (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Whether the running binary is already on a read-only mount (then nothing through
/// `/proc/self/exe` can write it).
pub fn is_sealed() -> Result<bool> {
    let exe = open(
        "/proc/self/exe",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("opening", "/proc/self/exe"))?;
    let vfs = fstatvfs(&exe).map_err(sys("statfs", "/proc/self/exe"))?;
    Ok(vfs.flags().contains(FsFlags::ST_RDONLY))
}

/// Make the process (non-)dumpable. Non-dumpable: `/proc/<pid>/exe`, `fd/`, `mem`, ... are
/// closed to every process without CAP_SYS_PTRACE over us.
pub fn set_dumpable(dumpable: bool) -> Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes an integer and touches no memory of ours.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_DUMPABLE,
            libc::c_ulong::from(dumpable),
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(sys("setting dumpable flag of", "the runtime")(Errno::last()));
    }
    Ok(())
}

/// Make sure this process runs from a read-only view of its binary, re-executing itself
/// (same argv, same environment) from one if needed; also marks the process
/// non-dumpable. Returns when the process is protected, or when it cannot be (no
/// permission to make mounts, as for an unprivileged user, who cannot write a
/// root-owned binary anyway; or a kernel before 5.12): that is logged, not fatal.
///
/// Must run before anything changes the system: on success the process is replaced.
pub fn seal_or_reexec() -> Result<()> {
    set_dumpable(false)?;
    if is_sealed()? {
        return Ok(());
    }
    let tree = match clone_read_only_view() {
        Ok(fd) => fd,
        Err(
            e @ Error::Sys {
                source: Errno::EPERM | Errno::ENOSYS | Errno::EINVAL,
                ..
            },
        ) => {
            tracing::warn!(
                "not protecting the runtime binary with a read-only view ({e}); \
                 CVE-2019-5736 protection then rests on file permissions and non-dumpable"
            );
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    // The re-executed runtime logs its invocation again: say why there are two.
    tracing::debug!("re-executing from a read-only view of the runtime binary (CVE-2019-5736)");
    let args = cstrings(std::env::args_os())?;
    let env = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of NUL-terminated strings that
    // outlive the call; "" with AT_EMPTY_PATH executes the file `tree` refers to.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            tree.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(sys("re-executing the runtime from", "its read-only view")(
        Errno::last(),
    ))
}

/// Our own binary, opened (O_PATH) through a detached, read-only, nosuid, nodev bind
/// mount of its directory, so that `/proc/<pid>/exe` still reads `/<name>` for people
/// and tools (a mount of the file alone would read `/`). Falls back to a mount of the
/// file itself when the directory no longer holds our binary (it was replaced on disk).
fn clone_read_only_view() -> Result<OwnedFd> {
    let exe = open(
        "/proc/self/exe",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("opening", "/proc/self/exe"))?;
    let exe_st = fstat(&exe).map_err(sys("stat", "/proc/self/exe"))?;
    if let Ok(path) = std::fs::read_link("/proc/self/exe")
        && let (Some(dir), Some(name)) = (path.parent(), path.file_name())
        && let Ok(dir) = open(
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    {
        let tree = read_only_clone(&dir)?;
        if let Ok(file) = openat(
            &tree,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) && let Ok(st) = fstat(&file)
            && (st.st_dev, st.st_ino) == (exe_st.st_dev, exe_st.st_ino)
        {
            return Ok(file);
        }
    }
    read_only_clone(&exe)
}

/// `open_tree(OPEN_TREE_CLONE)` of what `fd` refers to, made read-only, nosuid, nodev.
fn read_only_clone(fd: &OwnedFd) -> Result<OwnedFd> {
    let tree = crate::mount_api::clone_tree(fd.as_fd())
        .map_err(sys("cloning a mount of", "the runtime binary"))?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr reads `attr` (size given) for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(sys("making read-only", "the runtime binary's mount")(
            Errno::last(),
        ));
    }
    Ok(tree)
}

fn cstrings(items: impl IntoIterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| {
                Error::InvalidArgument(format!(
                    "re-executing the runtime: {s:?} contains a NUL byte"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testkit::root::require_root;

    #[test]
    fn read_only_view_refuses_writes() {
        if !require_root() {
            return;
        }
        // A file nobody executes (the test binary itself would answer ETXTBSY first).
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("bin"), b"original").expect("file");
        let dir_fd = open(
            dir.path(),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .expect("dir");
        let tree = read_only_clone(&dir_fd).expect("read-only view");
        let file = openat(&tree, "bin", OFlag::O_PATH, Mode::empty()).expect("file in view");
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect_err("write open must fail");
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
        // The original stays writable for its owner: only the view is read-only.
        std::fs::write(dir.path().join("bin"), b"changed").expect("original is writable");
    }

    #[test]
    fn the_view_of_our_binary_is_our_binary() {
        if !require_root() {
            return;
        }
        let view = clone_read_only_view().expect("view");
        let a = fstat(&view).expect("stat view");
        let exe = open("/proc/self/exe", OFlag::O_PATH, Mode::empty()).expect("exe");
        let b = fstat(&exe).expect("stat exe");
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
        let vfs = fstatvfs(&view).expect("statvfs");
        assert!(vfs.flags().contains(FsFlags::ST_RDONLY));
    }
}
