//! Filling a new (empty) volume with what the image has at the mount point, as docker
//! does on a volume's first use.
//!
//! The image is read through a read-only overlayfs of its layers (the kernel applies
//! the whiteouts and opaque directories), mounted in a private mount namespace of a
//! short-lived thread, so nothing is ever mounted in the host's namespace and a crash
//! leaves no mount behind. The mount point inside the image is resolved with
//! `openat2(RESOLVE_IN_ROOT)` (berth-safe-path): an image whose `/data` is a symlink to
//! `/etc` gets the image's own `/etc`, never the host's. The tree below is walked
//! through directory fds without following any symlink (they are copied as symlinks),
//! and every entry is created under the staging directory with berth-safe-path's
//! `EntryAt`. The copy goes to a staging directory whose entries are then moved into
//! `_data` one rename each: `_data` itself is never replaced, since a running container
//! may have the empty volume bind-mounted and would go on writing into an unlinked
//! directory (docker copies into the volume's directory too).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_safe_path::{EntryAt, NodeKind, open_in_root, open_root};
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::{Mode, SFlag, fchmod, fstat, fstatat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchown};

use crate::volume::error::VolumeError;

/// How deep a tree is copied before giving up with an error (no fd or stack
/// exhaustion on a hostile image).
const MAX_DEPTH: usize = 256;
/// What fits in one mount(2) option page with room to spare.
const MAX_MOUNT_DATA: usize = 4000;

/// Copies the image's content at `dest` (the image = `lower_dirs`, top layer first)
/// into the volume directory `data`, which must be empty. Nothing at `dest` in the image
/// (or not a directory) copies nothing. Ok(true) when something was copied.
pub(crate) fn populate(
    volume: &str,
    data: &Path,
    lower_dirs: &[PathBuf],
    dest: &Path,
) -> Result<bool, VolumeError> {
    let fail = |reason: String| VolumeError::CopyUp {
        volume: volume.to_string(),
        dest: dest.to_path_buf(),
        reason,
    };
    if lower_dirs.is_empty() {
        return Ok(false);
    }
    let vol_dir = data
        .parent()
        .ok_or_else(|| fail("volume has no directory".into()))?;
    let staging = vol_dir.join(".copyup");
    let image = vol_dir.join(".image");
    for stale in [&staging, &image] {
        match fs::remove_dir_all(stale) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(VolumeError::io("removing", stale, e)),
        }
    }
    fs::create_dir(&staging).map_err(|e| VolumeError::io("creating", &staging, e))?;
    if lower_dirs.len() > 1 {
        fs::create_dir(&image).map_err(|e| VolumeError::io("creating", &image, e))?;
    }
    let (lowers, image2, staging2, dest2) = (
        lower_dirs.to_vec(),
        image.clone(),
        staging.clone(),
        dest.to_path_buf(),
    );
    // The thread's mount namespace dies with it, taking the overlay mount along.
    let copied =
        std::thread::spawn(move || copy_in_private_ns(&lowers, &image2, &staging2, &dest2))
            .join()
            .unwrap_or_else(|_| Err("the copying thread panicked".into()));
    let _ = fs::remove_dir(&image);
    let copied = match copied {
        Ok(c) => c,
        Err(reason) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(fail(reason));
        }
    };
    if !copied {
        fs::remove_dir(&staging).map_err(|e| VolumeError::io("removing", &staging, e))?;
        return Ok(false);
    }
    move_into(&staging, data)?;
    Ok(true)
}

/// Moves every entry of `staging` into `data` (same file system: one rename each, no
/// copy), gives `data` the owner and mode of `staging` (the image's directory), then
/// removes `staging`. `data` keeps its inode, so bind mounts of it see the content.
fn move_into(staging: &Path, data: &Path) -> Result<(), VolumeError> {
    let entries = fs::read_dir(staging).map_err(|e| VolumeError::io("reading", staging, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| VolumeError::io("reading", staging, e))?;
        let to = data.join(entry.file_name());
        fs::rename(entry.path(), &to)
            .map_err(|e| VolumeError::io("moving the image's content into", &to, e))?;
    }
    let st = fs::metadata(staging).map_err(|e| VolumeError::io("inspecting", staging, e))?;
    std::os::unix::fs::chown(data, Some(st.uid()), Some(st.gid()))
        .map_err(|e| VolumeError::io("setting the owner of", data, e))?;
    fs::set_permissions(data, fs::Permissions::from_mode(st.mode() & 0o7777))
        .map_err(|e| VolumeError::io("setting the mode of", data, e))?;
    fs::remove_dir(staging).map_err(|e| VolumeError::io("removing", staging, e))
}

/// In the calling thread: a private mount namespace, the image's read-only overlay at
/// `image` (a single layer is read directly), then the copy of `dest` into `staging`.
fn copy_in_private_ns(
    lowers: &[PathBuf],
    image: &Path,
    staging: &Path,
    dest: &Path,
) -> Result<bool, String> {
    let root = if let [only] = lowers {
        only.clone()
    } else {
        unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS)
            .map_err(|e| format!("unsharing the mount namespace: {e}"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("making / private: {e}"))?;
        let data = lowerdir_option(lowers)?;
        mount(
            Some("overlay"),
            image,
            Some("overlay"),
            MsFlags::MS_RDONLY | MsFlags::MS_NODEV | MsFlags::MS_NOSUID,
            Some(data.as_str()),
        )
        .map_err(|e| format!("mounting the image's layers read-only: {e}"))?;
        image.to_path_buf()
    };
    let root_fd = open_root(&root).map_err(|e| e.to_string())?;
    let src = match open_in_root(root_fd.as_fd(), dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if e.is_not_found() || e.errno() == Some(nix::errno::Errno::ENOTDIR) => {
            return Ok(false);
        }
        Err(e) => return Err(e.to_string()),
    };
    let dst_root = open_root(staging).map_err(|e| e.to_string())?;
    // The volume's root takes the owner and mode of the image's directory.
    let st = fstat(&src).map_err(|e| format!("stat of {}: {e}", dest.display()))?;
    let top = File::open(staging).map_err(|e| format!("opening {}: {e}", staging.display()))?;
    fchown(
        &top,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
    .map_err(|e| format!("chown of the volume root: {e}"))?;
    fchmod(&top, Mode::from_bits_truncate(st.st_mode & 0o7777))
        .map_err(|e| format!("chmod of the volume root: {e}"))?;
    copy_tree(&src, dst_root.as_fd(), Path::new(""), 0)?;
    Ok(true)
}

/// `lowerdir=A:B:...`; when that is too long for one mount(2) page, the thread moves
/// into the layers' common parent and names them relative to it (the thread has its
/// own working directory after CLONE_FS).
fn lowerdir_option(lowers: &[PathBuf]) -> Result<String, String> {
    let escape = |p: &Path| -> String {
        // overlayfs splits on ':' and the option parser on ','.
        String::from_utf8_lossy(p.as_os_str().as_bytes())
            .replace('\\', "\\\\")
            .replace(':', "\\:")
            .replace(',', "\\,")
    };
    let full = format!(
        "lowerdir={}",
        lowers
            .iter()
            .map(|p| escape(p))
            .collect::<Vec<_>>()
            .join(":")
    );
    if full.len() <= MAX_MOUNT_DATA {
        return Ok(full);
    }
    let parent = common_parent(lowers).ok_or("the image's layers share no parent directory")?;
    std::env::set_current_dir(&parent)
        .map_err(|e| format!("entering {}: {e}", parent.display()))?;
    let rel: Vec<String> = lowers
        .iter()
        .filter_map(|p| p.strip_prefix(&parent).ok())
        .map(escape)
        .collect();
    let short = format!("lowerdir={}", rel.join(":"));
    if short.len() > MAX_MOUNT_DATA {
        return Err(format!(
            "{} layers are too many for one overlay mount",
            lowers.len()
        ));
    }
    Ok(short)
}

fn common_parent(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut common = paths.first()?.parent()?.to_path_buf();
    while !paths.iter().all(|p| p.starts_with(&common)) {
        common = common.parent()?.to_path_buf();
    }
    Some(common)
}

/// Copies the directory `src` (an fd) to `rel` under `dst_root`, entry by entry, never
/// following a symlink of the image.
fn copy_tree(
    src: &OwnedFd,
    dst_root: std::os::fd::BorrowedFd<'_>,
    rel: &Path,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is nested deeper than {MAX_DEPTH} directories",
            rel.display()
        ));
    }
    let dup = src
        .try_clone()
        .map_err(|e| format!("dup of {}: {e}", rel.display()))?;
    let mut dir =
        nix::dir::Dir::from_fd(dup).map_err(|e| format!("reading {}: {e}", rel.display()))?;
    let mut names: Vec<Vec<u8>> = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(|e| format!("reading {}: {e}", rel.display()))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    for name in names {
        let name = OsStr::from_bytes(&name);
        let child = rel.join(name);
        copy_entry(src, name, dst_root, &child, depth).map_err(|e| {
            if e.contains(&*child.to_string_lossy()) {
                e
            } else {
                format!("{}: {e}", child.display())
            }
        })?;
    }
    Ok(())
}

fn copy_entry(
    src: &OwnedFd,
    name: &OsStr,
    dst_root: std::os::fd::BorrowedFd<'_>,
    child: &Path,
    depth: usize,
) -> Result<(), String> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| format!("stat: {e}"))?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let perm = st.st_mode & 0o7777;
    let entry = EntryAt::new(dst_root, child).map_err(|e| e.to_string())?;
    let open = |flags: OFlag| {
        openat(
            src,
            name,
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("open: {e}"))
    };
    match kind {
        SFlag::S_IFDIR => {
            entry.mkdir(0o700).map_err(|e| e.to_string())?;
            let sub = open(OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
            copy_tree(&sub, dst_root, child, depth + 1)?;
        }
        SFlag::S_IFREG => {
            let mut from = File::from(open(OFlag::O_RDONLY)?);
            let mut to = entry.create_file(0o600).map_err(|e| e.to_string())?;
            std::io::copy(&mut from, &mut to).map_err(|e| format!("copying: {e}"))?;
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name).map_err(|e| format!("readlink: {e}"))?;
            entry
                .symlink(Path::new(&target))
                .map_err(|e| e.to_string())?;
        }
        // 0:0 character devices are overlayfs whiteouts (a single layer read directly).
        SFlag::S_IFCHR if st.st_rdev == 0 => return Ok(()),
        SFlag::S_IFCHR | SFlag::S_IFBLK => {
            let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
            let node = if kind == SFlag::S_IFCHR {
                NodeKind::Char { major, minor }
            } else {
                NodeKind::Block { major, minor }
            };
            entry.mknod(node, perm).map_err(|e| e.to_string())?;
        }
        SFlag::S_IFIFO => entry
            .mknod(NodeKind::Fifo, perm)
            .map_err(|e| e.to_string())?,
        // A socket is a live object, not content.
        _ => return Ok(()),
    }
    entry
        .chown(st.st_uid, st.st_gid)
        .map_err(|e| e.to_string())?;
    if kind != SFlag::S_IFLNK {
        entry.chmod(perm).map_err(|e| e.to_string())?;
    }
    entry
        .set_times(
            TimeSpec::new(st.st_atime, st.st_atime_nsec),
            TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
        )
        .map_err(|e| e.to_string())
}
