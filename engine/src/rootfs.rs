//! The container's rootfs: one overlayfs mount at `bundle/rootfs` with the image's layers
//! as lower dirs (top first, as berth-images' `lower_dirs` returns them) and the
//! container's own `upper/` and `work/`. `--read-only` is the runtime's (the spec's
//! `root.readonly`), so the mount itself is always writable underneath.
//!
//! The layers are passed one by one with the new mount API (`fsopen("overlay")`, then
//! `fsconfig(.., "lowerdir+", dir)` per layer, Linux 6.8+), so the kernel's 4 KiB limit on
//! a mount(2) option string never caps the number of layers. Older kernels get
//! `mount(2)` with `lowerdir=a:b:...`, refused clearly when that string is too long.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::error::{EngineError, Result, sys_err};

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// What the overlay is made of.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Lower dirs, top layer first.
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// overlayfs `volatile`: no sync of the upper filesystem, at any time. Without it
    /// the unmount syncs the whole filesystem under `upper` (`ovl_sync_fs`): 10 to 90 ms
    /// on a busy disk, per container. For `--rm` containers (as podman does), whose
    /// upper dir is deleted right after; a crash leaves `work/incompat/volatile`,
    /// which refuses a second mount of that dir.
    pub volatile: bool,
}

fn cstr(s: &[u8], what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| EngineError::InvalidArgument(format!("{what} holds a NUL byte")))
}

fn path_c(p: &Path) -> Result<CString> {
    cstr(p.as_os_str().as_bytes(), &p.display().to_string())
}

/// `fsconfig(fd, FSCONFIG_SET_STRING, key, value)`.
fn set_string(fs: &OwnedFd, key: &str, value: &Path) -> std::result::Result<(), Errno> {
    let key = CString::new(key).map_err(|_| Errno::EINVAL)?;
    let value = CString::new(value.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: fsconfig reads the two NUL-terminated strings, which outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    Errno::result(rc).map(drop)
}

/// Mounts `overlay` at `target`.
pub fn mount(overlay: &Overlay, target: &Path) -> Result<()> {
    if overlay.lower.is_empty() {
        return Err(EngineError::InvalidArgument(
            "an overlay needs at least one lower dir".into(),
        ));
    }
    match mount_new_api(overlay, target) {
        Ok(()) => Ok(()),
        // No new mount API, or an overlayfs without `lowerdir+` (before 6.8).
        Err(Errno::ENOSYS) | Err(Errno::EINVAL) => mount_legacy(overlay, target),
        Err(e) => Err(sys_err(
            "mounting the overlay rootfs at",
            target.display().to_string(),
        )(e)),
    }
}

fn mount_new_api(overlay: &Overlay, target: &Path) -> std::result::Result<(), Errno> {
    let fstype = CString::new("overlay").map_err(|_| Errno::EINVAL)?;
    // SAFETY: fsopen reads the NUL-terminated name; the returned fd is ours to own.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    let fd = Errno::result(fd)?;
    // SAFETY: fsopen returned a new fd that nothing else owns.
    let fs = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    for lower in &overlay.lower {
        set_string(&fs, "lowerdir+", lower)?;
    }
    set_string(&fs, "upperdir", &overlay.upper)?;
    set_string(&fs, "workdir", &overlay.work)?;
    if overlay.volatile {
        let key = CString::new("volatile").map_err(|_| Errno::EINVAL)?;
        // SAFETY: fsconfig reads the NUL-terminated key, which outlives the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_FLAG,
                key.as_ptr(),
                0usize,
                0,
            )
        };
        Errno::result(rc)?;
    }
    // SAFETY: fsconfig CMD_CREATE takes no pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            0usize,
            0usize,
            0,
        )
    };
    Errno::result(rc)?;
    // SAFETY: fsmount takes the fs context fd and flags only.
    let mfd = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    let mfd = Errno::result(mfd)?;
    // SAFETY: fsmount returned a new fd that nothing else owns.
    let mnt = unsafe { OwnedFd::from_raw_fd(mfd as i32) };
    let empty = CString::new("").map_err(|_| Errno::EINVAL)?;
    let to = CString::new(target.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: move_mount reads the two NUL-terminated paths, which outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(rc).map(drop)
}

/// The page-sized limit of mount(2)'s option string.
const MOUNT_DATA_MAX: usize = 4095;

fn mount_legacy(overlay: &Overlay, target: &Path) -> Result<()> {
    let lower: Vec<String> = overlay
        .lower
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}{}",
        lower.join(":"),
        overlay.upper.display(),
        overlay.work.display(),
        if overlay.volatile { ",volatile" } else { "" }
    );
    if data.len() > MOUNT_DATA_MAX {
        return Err(EngineError::InvalidArgument(format!(
            "the image has too many layers ({}) for this kernel's overlay mount options ({} bytes, at most {MOUNT_DATA_MAX}); Linux 6.8 lifts the limit",
            overlay.lower.len(),
            data.len()
        )));
    }
    nix::mount::mount(
        Some("overlay"),
        target,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(sys_err(
        "mounting the overlay rootfs at",
        target.display().to_string(),
    ))
}

/// True when `path` is a mount point (its device differs from its parent's, or it is a
/// mount of the same fs onto itself as /proc/self/mountinfo lists it).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.as_os_str().as_bytes();
    text.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|mp| unescape_mountinfo(mp).as_slice() == want)
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Unmounts the rootfs at `target`, every mount stacked there; nothing mounted is Ok (so
/// teardown can run twice, or after a crash). A busy mount is detached lazily.
pub fn unmount(target: &Path) -> Result<()> {
    let c = path_c(target)?;
    for _ in 0..16 {
        if !is_mounted(target) {
            return Ok(());
        }
        // SAFETY: umount2 reads the NUL-terminated path.
        let rc = unsafe { libc::umount2(c.as_ptr(), 0) };
        match Errno::result(rc) {
            Ok(_) => {}
            Err(Errno::EINVAL) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) => {
                // SAFETY: as above.
                let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                Errno::result(rc).map_err(sys_err("unmounting", target.display().to_string()))?;
            }
            Err(e) => return Err(sys_err("unmounting", target.display().to_string())(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_read_back() {
        assert_eq!(unescape_mountinfo("/a\\040b"), b"/a b".to_vec());
        assert_eq!(unescape_mountinfo("/plain"), b"/plain".to_vec());
    }

    /// A `--rm` container's overlay is mounted `volatile` (no sync at unmount), and
    /// others are not.
    #[test]
    fn volatile_overlays_are_mounted_volatile() {
        if !berth_testkit::root::require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for volatile in [true, false] {
            let [lower, upper, work, target] =
                ["l", "u", "w", "m"].map(|n| dir.path().join(format!("{n}-{volatile}")));
            for d in [&lower, &upper, &work, &target] {
                std::fs::create_dir(d).expect("dir");
            }
            let ov = Overlay {
                lower: vec![lower],
                upper,
                work,
                volatile,
            };
            mount(&ov, &target).expect("mount");
            let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
            let line = info
                .lines()
                .find(|l| l.split(' ').nth(4) == target.to_str())
                .map(str::to_string);
            unmount(&target).expect("unmount");
            let line = line.expect("the overlay in mountinfo");
            // Linux 6.18 shows it as `fsync=volatile`, older kernels as `volatile`.
            let shown = line
                .split(',')
                .any(|o| o == "volatile" || o == "fsync=volatile");
            assert_eq!(shown, volatile, "{line}");
        }
    }

    /// More layers than a 4 KiB option string holds mount with `lowerdir+`, and the
    /// union shows the top layer's file over the lower one's.
    #[test]
    fn many_layers_mount_past_the_option_limit() {
        if !berth_testkit::root::require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut lower = Vec::new();
        for i in 0..60 {
            // Long names: 60 * ~90 bytes is past 4 KiB.
            let l = dir.path().join(format!("layer-{i:03}-{}", "x".repeat(80)));
            std::fs::create_dir(&l).expect("layer");
            std::fs::write(l.join("f"), format!("{i}")).expect("file");
            std::fs::write(l.join(format!("only{i}")), "").expect("file");
            lower.push(l);
        }
        let (upper, work, target) = (
            dir.path().join("u"),
            dir.path().join("w"),
            dir.path().join("m"),
        );
        for d in [&upper, &work, &target] {
            std::fs::create_dir(d).expect("dir");
        }
        let ov = Overlay {
            lower,
            upper: upper.clone(),
            work,
            volatile: false,
        };
        mount(&ov, &target).expect("mount");
        assert!(is_mounted(&target));
        assert_eq!(
            std::fs::read_to_string(target.join("f")).expect("read"),
            "0",
            "top layer wins"
        );
        assert!(target.join("only59").exists(), "the bottom layer is there");
        std::fs::write(target.join("new"), "x").expect("write");
        unmount(&target).expect("unmount");
        unmount(&target).expect("second unmount is a no-op");
        assert!(!is_mounted(&target));
        assert!(
            upper.join("new").exists(),
            "the change went to the upper dir"
        );
    }
}
