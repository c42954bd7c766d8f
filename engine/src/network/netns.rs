//! Network namespaces kept by a bind mount at `<runroot>/netns/<id>`, as `ip netns`
//! keeps them under /run/netns.
//!
//! The directory is made a shared mount (once, as `ip netns` does), so that unmounting
//! a namespace here also unmounts the copies that mount namespaces created meanwhile
//! (a service with PrivateTmp, a container mid-create) hold; otherwise such a copy would
//! keep the namespace, and its veth, alive after the container is gone.

use std::fs;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::network::error::NetworkError;

/// `<runroot>/netns/<id>`.
pub fn path_for(runroot: &Path, id: &str) -> PathBuf {
    runroot.join("netns").join(id)
}

/// Creates a new network namespace with `lo` up and bind-mounts it at `path`. A file
/// already at `path` (a crashed attach) is unmounted and replaced.
///
/// Errors: [`NetworkError::Netns`] (unshare, mount), [`NetworkError::Io`] (the
/// directory or the mount point file).
pub fn create(path: &Path) -> Result<(), NetworkError> {
    let dir = path
        .parent()
        .ok_or_else(|| NetworkError::io("placing netns", path, ErrorKind::InvalidInput.into()))?;
    ensure_shared_dir(dir)?;
    remove(path)?;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| NetworkError::io("creating netns mount point", path, e))?;
    let target = path.to_path_buf();
    // unshare(CLONE_NEWNET) moves only the calling thread: a short-lived thread makes the
    // namespace, brings lo up through a socket opened inside it and pins it with the
    // bind mount; the process's other threads never leave the host namespace.
    let made = std::thread::spawn(move || -> Result<(), NetworkError> {
        let fail = |op, source| NetworkError::Netns {
            op,
            path: target.clone(),
            source,
        };
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| fail("unsharing", e))?;
        let mut nl =
            berth_netplug::netlink::Netlink::open().map_err(|source| NetworkError::Netlink {
                op: format!("opening netlink in new netns {}", target.display()),
                source,
            })?;
        berth_netplug::container_if::loopback_up(&mut nl).map_err(|source| NetworkError::Cni {
            op: "bringing lo up",
            network: target.display().to_string(),
            source,
        })?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| fail("bind-mounting", e))
    })
    .join()
    .unwrap_or_else(|_| {
        Err(NetworkError::io(
            "creating netns (thread panicked)",
            path,
            ErrorKind::Other.into(),
        ))
    });
    if made.is_err()
        && let Err(e) = remove(path)
    {
        tracing::warn!(path = %path.display(), error = %e, "removing a half-made netns");
    }
    made
}

/// Unmounts and removes the namespace file at `path`. Idempotent: a path that is not
/// mounted or not there is fine. The namespace itself dies with its last user.
///
/// Errors: [`NetworkError::Netns`] when the unmount fails for another reason,
/// [`NetworkError::Io`] when the file cannot be removed.
pub fn remove(path: &Path) -> Result<(), NetworkError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(e) => {
            return Err(NetworkError::Netns {
                op: "unmounting",
                path: path.to_path_buf(),
                source: e,
            });
        }
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetworkError::io("removing netns file", path, e)),
    }
}

/// Makes `dir` a shared mount point (a bind mount on itself first if it is not a mount
/// point), under a lock so concurrent first attaches do not stack two bind mounts.
fn ensure_shared_dir(dir: &Path) -> Result<(), NetworkError> {
    fs::create_dir_all(dir).map_err(|e| NetworkError::io("creating netns directory", dir, e))?;
    let fail = |op, source| NetworkError::Netns {
        op,
        path: dir.to_path_buf(),
        source,
    };
    let shared = || {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    if is_mount_point(dir) {
        return shared().map_err(|e| fail("making shared", e));
    }
    let lock_path = dir.with_extension("lock");
    let lock_file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| NetworkError::io("opening lock", &lock_path, e))?;
    let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
        .map_err(|(_, e)| fail("locking the directory of", e))?;
    if !is_mount_point(dir) {
        mount(
            Some(dir),
            dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| fail("bind-mounting onto itself", e))?;
    }
    shared().map_err(|e| fail("making shared", e))
}

/// Whether `dir` is the root of a mount: its mount id differs from its parent's.
fn is_mount_point(dir: &Path) -> bool {
    let id = |p: &Path| -> Option<u64> {
        let f = fs::File::open(p).ok()?;
        // SAFETY: statx is plain old data; zeroed is a valid value.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: statx with AT_EMPTY_PATH on an open fd writes only into `stx`.
        let r = unsafe {
            libc::statx(
                f.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                libc::STATX_MNT_ID,
                &mut stx,
            )
        };
        (r == 0).then_some(stx.stx_mnt_id)
    };
    match (id(dir), dir.parent().and_then(id)) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

/// Unmounts the shared `<runroot>/netns` directory mount (after every namespace in it
/// is gone), for a store being torn down (tests, a reset). Idempotent.
pub fn release_dir(runroot: &Path) -> Result<(), NetworkError> {
    let dir = runroot.join("netns");
    while is_mount_point(&dir) {
        umount2(&dir, MntFlags::MNT_DETACH).map_err(|e| NetworkError::Netns {
            op: "unmounting the directory of",
            path: dir.clone(),
            source: e,
        })?;
    }
    Ok(())
}
