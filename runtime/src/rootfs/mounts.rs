//! The spec's `mounts`, in order, each target resolved inside the rootfs by fd so that a
//! symlink in the image can never send a mount onto the host.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_cgroups::CgroupPlacement;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, fstat};
use oci_spec::runtime::Mount;

use super::bind_sources::BindSources;
use super::copy_up;
use super::mount_options::{self, ATIME_FLAGS, MountOptions, PER_MOUNT_FLAGS};
use crate::error::{Error, Result, sys_err};
use crate::mount_api::{self, MountAttr};
use crate::safe_path;

pub struct MountContext<'a> {
    pub root: BorrowedFd<'a>,
    pub rootfs: &'a Path,
    /// In a new user namespace some filesystems cannot be mounted and are bound instead.
    pub in_userns: bool,
    pub new_cgroupns: bool,
    pub cgroup: &'a CgroupPlacement,
    /// Bind sources the runtime opened for an init in a user namespace; a bind whose
    /// source is not here is opened by the init itself.
    pub bind_sources: &'a BindSources,
}

fn safe_err(op: &'static str) -> impl FnOnce(safe_path::SafePathError) -> Error {
    move |e| Error::Init(format!("{op}: {e}"))
}

/// Resolve (and create) a mount target inside the rootfs; a file for file bind sources.
pub fn target(ctx: &MountContext, dest: &Path, is_file: bool) -> Result<OwnedFd> {
    let dest = Path::new("/").join(dest);
    if is_file {
        match safe_path::open_in_root(ctx.root, &dest, OFlag::O_PATH) {
            Ok(fd) => Ok(fd),
            Err(e) if e.is_not_found() => {
                safe_path::create_file_in_root(ctx.root, &dest, Mode::from_bits_truncate(0o644))
                    .map_err(safe_err("creating mount target"))
            }
            Err(e) => Err(safe_err("resolving mount target")(e)),
        }
    } else {
        safe_path::mkdir_all_in_root(ctx.root, &dest, Mode::from_bits_truncate(0o755))
            .map_err(safe_err("creating mount target"))
    }
}

fn reopen(ctx: &MountContext, dest: &Path) -> Result<OwnedFd> {
    safe_path::open_in_root(ctx.root, &Path::new("/").join(dest), OFlag::O_PATH)
        .map_err(safe_err("reopening mount target"))
}

fn data_string(o: &MountOptions) -> Option<String> {
    if o.data.is_empty() {
        None
    } else {
        Some(o.data.join(","))
    }
}

/// Mount `m`, the spec's mount number `index`.
pub fn mount_one(ctx: &MountContext, index: usize, m: &Mount) -> Result<()> {
    let dest = m.destination();
    let mut opts = mount_options::check(m)
        .map_err(|e| Error::Init(format!("mount on {}: {e}", dest.display())))?;
    let deferred_dev = dest == Path::new("/dev") && !opts.is_bind(m);
    if deferred_dev {
        // Its devices, symlinks and submounts come after it; `finish` makes it read-only
        // and applies its recursive attributes.
        opts.flags.remove(MsFlags::MS_RDONLY);
    }
    let typ = m
        .typ()
        .as_deref()
        .unwrap_or(if opts.bind { "bind" } else { "" });
    let what = format!("{} on {}", typ, dest.display());
    if opts.is_bind(m) {
        bind(ctx, index, m, &opts)?;
    } else if typ == "cgroup" || typ == "cgroup2" {
        cgroup_tree(ctx, dest, &opts)?;
    } else if typ == "tmpfs" {
        tmpfs(ctx, m, &opts)?;
    } else {
        // proc and sysfs only on an ordinary directory: an image with `/proc -> /` (or
        // any symlink on the way) is refused, as runc does, rather than letting the image
        // pick where the kernel's control files appear.
        if matches!(typ, "proc" | "sysfs")
            && let Some(link) =
                safe_path::first_symlink_in_root(ctx.root, &Path::new("/").join(dest))
                    .map_err(safe_err("checking mount target"))?
        {
            return Err(Error::Init(format!(
                "refusing to mount {typ} on {}: {} is a symlink in the image, not a directory",
                dest.display(),
                link.display()
            )));
        }
        let target_fd = target(ctx, dest, false)?;
        let target_path = safe_path::fd_path(target_fd.as_fd());
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        let data = data_string(&opts);
        let res = mount(
            Some(&source),
            &target_path,
            Some(typ),
            opts.flags,
            data.as_deref(),
        );
        match res {
            // Without owning the net/ipc namespace in this user namespace, sysfs and mqueue
            // cannot be mounted fresh: bind the host's, with the mount's own flags.
            Err(nix::errno::Errno::EPERM) if ctx.in_userns && matches!(typ, "sysfs" | "mqueue") => {
                let host = if typ == "sysfs" {
                    "/sys"
                } else {
                    "/dev/mqueue"
                };
                mount(
                    Some(host),
                    &target_path,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(sys_err("binding", format!("{host} on {}", dest.display())))?;
                let flags = opts.flags & PER_MOUNT_FLAGS;
                if !flags.is_empty() {
                    remount(ctx, dest, flags, opts.cleared, &what)?;
                }
            }
            other => other.map_err(sys_err("mounting", what.clone()))?,
        }
    }
    apply_propagation(ctx, dest, &opts)?;
    if !deferred_dev {
        set_recursive(ctx, dest, opts.recursive)?;
    }
    Ok(())
}

/// Apply the recursive attributes (`rro`, `rnosuid`, ...) to the mount at `dest` and every
/// mount below it, after it is mounted and remounted, as runc does.
pub fn set_recursive(ctx: &MountContext, dest: &Path, attr: MountAttr) -> Result<()> {
    if attr.is_empty() {
        return Ok(());
    }
    let fd = reopen(ctx, dest)?;
    set_recursive_on(fd.as_fd(), attr, dest)
}

/// [`set_recursive`] on the mount `fd` is the root of (`dest` names it in errors). Refused
/// with a clear error where the kernel lacks `mount_setattr` (before 5.12) instead of
/// leaving the tree writable.
pub fn set_recursive_on(fd: BorrowedFd<'_>, attr: MountAttr, dest: &Path) -> Result<()> {
    mount_api::set_attr_recursive(fd, attr).map_err(|e| match e {
        nix::errno::Errno::ENOSYS => Error::Init(format!(
            "recursive mount options (rro, rnosuid, ...) on {}: this kernel has no \
             mount_setattr (Linux 5.12 or later is needed)",
            dest.display()
        )),
        e => sys_err(
            "setting recursive mount attributes on",
            dest.display().to_string(),
        )(e),
    })
}

/// A tmpfs, with runc's conventions: over an existing directory it keeps that
/// directory's mode (setuid/setgid/sticky included) unless the options give one, and with
/// `tmpcopyup` it starts with a copy of what the directory held.
fn tmpfs(ctx: &MountContext, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = m.destination();
    let what = format!("tmpfs on {}", dest.display());
    // Opened before the tmpfs covers it: the fd keeps reaching the directory below.
    let below = match safe_path::open_in_root(ctx.root, &Path::new("/").join(dest), OFlag::O_PATH) {
        Ok(fd) => Some(fd),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(safe_err("resolving mount target")(e)),
    };
    let mut data = opts.data.clone();
    if let Some(fd) = &below {
        let st = fstat(fd.as_fd()).map_err(sys_err("checking mount target", what.clone()))?;
        // The kernel takes the last `mode=`: an explicit one in the options still wins.
        data.insert(0, format!("mode={:04o}", st.st_mode & 0o7777));
    }
    let copy_from = below.filter(|_| opts.copy_up);
    let flags = opts.flags;
    // A read-only tmpfs is filled first and made read-only after, as runc does.
    let mount_flags = if copy_from.is_some() {
        flags & !MsFlags::MS_RDONLY
    } else {
        flags
    };
    let target_fd = target(ctx, dest, false)?;
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from("tmpfs"));
    mount(
        Some(&source),
        &safe_path::fd_path(target_fd.as_fd()),
        Some("tmpfs"),
        mount_flags,
        Some(data.join(",").as_str()),
    )
    .map_err(sys_err("mounting", what.clone()))?;
    if let Some(from) = copy_from {
        let upper = reopen(ctx, dest)?;
        copy_up::copy_tree(from.as_fd(), upper.as_fd())
            .map_err(|e| Error::Init(format!("{what}: {e}")))?;
        if flags.contains(MsFlags::MS_RDONLY) {
            remount(ctx, dest, flags & PER_MOUNT_FLAGS, opts.cleared, &what)?;
        }
    }
    Ok(())
}

fn bind(ctx: &MountContext, index: usize, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = m.destination();
    let source = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::Init(format!("bind mount on {} has no source", dest.display())))?;
    let source_err =
        |e: Errno| Error::Init(format!("bind source {}: {}", source.display(), e.desc()));
    // By fd: what is checked (directory or not) is what gets bound.
    let opened;
    let source_fd = match ctx.bind_sources.get(index) {
        Some(fd) => fd,
        None => {
            opened = nix::fcntl::open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(source_err)?;
            opened.as_fd()
        }
    };
    let is_dir = fstat(source_fd)
        .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
        .map_err(source_err)?;
    let target_fd = target(ctx, dest, !is_dir)?;
    let mut flags = MsFlags::MS_BIND;
    if opts.recursive_bind {
        flags |= MsFlags::MS_REC;
    }
    let what = format!("{} on {}", source.display(), dest.display());
    mount(
        Some(&safe_path::fd_path(source_fd)),
        &safe_path::fd_path(target_fd.as_fd()),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(sys_err("bind mounting", what.clone()))?;
    // A bind ignores other flags: they take a remount of the new mount point. One that
    // only clears (`rw`, `suid`) takes it too, or the source's flag would stay.
    let set = opts.flags & PER_MOUNT_FLAGS;
    if !set.is_empty() || !(opts.cleared & PER_MOUNT_FLAGS).is_empty() {
        remount(ctx, dest, set, opts.cleared, &what)?;
    }
    Ok(())
}

/// Remount the mount at `dest` with `flags` (read-only, nosuid, ...). The mount's other
/// flags are kept unless listed in `cleared` (a bind remount otherwise drops them, and in
/// a user namespace the kernel refuses dropping the ones it locked); an atime flag in
/// `flags` replaces the mount's atime setting.
pub fn remount(
    ctx: &MountContext,
    dest: &Path,
    flags: MsFlags,
    cleared: MsFlags,
    what: &str,
) -> Result<()> {
    let fd = reopen(ctx, dest)?;
    remount_path(&safe_path::fd_path(fd.as_fd()), flags, cleared, what)
}

/// Bind-remounts the mount at `path` with `flags`, repeating the per-mount flags it has
/// now except `cleared` (the kernel refuses, in a user namespace, or silently clears a
/// locked flag a remount leaves out); an atime flag in `flags` replaces the current one.
pub fn remount_path(path: &Path, flags: MsFlags, cleared: MsFlags, what: &str) -> Result<()> {
    let mut kept = nix::sys::statvfs::statvfs(path)
        .map(|s| mount_options::statvfs_to_ms(s.flags()))
        .unwrap_or(MsFlags::empty())
        & !cleared;
    if flags.intersects(ATIME_FLAGS) {
        kept.remove(ATIME_FLAGS);
    }
    mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | kept,
        None::<&str>,
    )
    .map_err(sys_err("remounting", what.to_string()))
}

fn apply_propagation(ctx: &MountContext, dest: &Path, opts: &MountOptions) -> Result<()> {
    for p in &opts.propagation {
        let fd = reopen(ctx, dest)?;
        mount(
            None::<&str>,
            &safe_path::fd_path(fd.as_fd()),
            None::<&str>,
            *p,
            None::<&str>,
        )
        .map_err(sys_err(
            "setting propagation of",
            dest.display().to_string(),
        ))?;
    }
    Ok(())
}

/// A `cgroup` mount: the container's own cgroups. With a cgroup namespace the kernel shows
/// the container's cgroup as the root of a fresh mount; without one we bind its dirs.
fn cgroup_tree(ctx: &MountContext, dest: &Path, opts: &MountOptions) -> Result<()> {
    // Named `ro` for the common case; every per-mount flag the options give.
    let ro = opts.flags & PER_MOUNT_FLAGS;
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let pure_v2 = ctx.cgroup.v1_dirs.is_empty();
    if pure_v2 {
        let fd = target(ctx, dest, false)?;
        let path = safe_path::fd_path(fd.as_fd());
        if ctx.new_cgroupns {
            mount(
                Some("cgroup2"),
                &path,
                Some("cgroup2"),
                base | ro,
                None::<&str>,
            )
            .map_err(sys_err(
                "mounting",
                format!("cgroup2 on {}", dest.display()),
            ))?;
        } else if let Some(dir) = &ctx.cgroup.v2_dir {
            mount(
                Some(dir),
                &path,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(sys_err(
                "binding",
                format!("{} on {}", dir.display(), dest.display()),
            ))?;
            remount(ctx, dest, base | ro, opts.cleared, "cgroup2")?;
        }
        return Ok(());
    }
    // v1/hybrid: a tmpfs holding one mount per hierarchy, like the host's /sys/fs/cgroup.
    let fd = target(ctx, dest, false)?;
    mount(
        Some("tmpfs"),
        &safe_path::fd_path(fd.as_fd()),
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )
    .map_err(sys_err("mounting", format!("tmpfs on {}", dest.display())))?;
    let mut hierarchies: Vec<(String, Option<PathBuf>)> = ctx
        .cgroup
        .v1_dirs
        .iter()
        .map(|(c, d)| (c.clone(), Some(d.clone())))
        .collect();
    if let Some(v2) = &ctx.cgroup.v2_dir {
        hierarchies.push(("unified".to_string(), Some(v2.clone())));
    }
    for (name, dir) in hierarchies {
        let sub = dest.join(&name);
        let fd = target(ctx, &sub, false)?;
        let path = safe_path::fd_path(fd.as_fd());
        let what = format!("cgroup {name} on {}", sub.display());
        if ctx.new_cgroupns {
            let (fstype, data) = match name.as_str() {
                "unified" => ("cgroup2", None),
                "systemd" => ("cgroup", Some("none,name=systemd".to_string())),
                c => ("cgroup", Some(c.to_string())),
            };
            mount(
                Some(fstype),
                &path,
                Some(fstype),
                base | ro,
                data.as_deref(),
            )
            .map_err(sys_err("mounting", what))?;
        } else if let Some(dir) = dir {
            mount(
                Some(&dir),
                &path,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(sys_err("binding", what.clone()))?;
            remount(ctx, &sub, base | ro, opts.cleared, &what)?;
        }
    }
    if !ro.is_empty() {
        remount(ctx, dest, base | ro, opts.cleared, "cgroup tmpfs")?;
    }
    Ok(())
}
