//! The container's root filesystem: spec mounts, devices, pivot_root, read-only root.
//!
//! Runs in the container init, in its new mount namespace. The order follows runc:
//! host `/` made rslave (nothing we mount propagates back), rootfs bound onto itself,
//! spec mounts in order, devices and /dev symlinks, pivot_root, then root read-only and
//! the requested root propagation.

pub mod bind_sources;
pub mod copy_up;
pub mod devices;
pub mod mount_options;
pub mod mounts;

use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use oci_spec::runtime::{Mount, Spec};

use crate::error::{Error, Result, sys_err};
use crate::safe_path;
pub use mounts::MountContext;

/// Everything before pivot_root.
pub fn prepare(ctx: &MountContext, spec: &Spec) -> Result<()> {
    for (index, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        mounts::mount_one(ctx, index, m)?;
    }
    if !dev_mount(spec)
        .is_some_and(|m| mount_options::parse(options(m)).is_ok_and(|o| o.is_bind(m)))
    {
        let devices = spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().clone())
            .unwrap_or_default();
        devices::create_all(ctx, &devices)?;
        devices::create_symlinks(ctx)?;
    }
    Ok(())
}

/// The spec's mount on `/dev`, if any (the first, as runc takes it).
fn dev_mount(spec: &Spec) -> Option<&Mount> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|m| m.destination() == Path::new("/dev"))
}

fn options(m: &Mount) -> &[String] {
    m.options().as_deref().unwrap_or_default()
}

/// Make the host's mounts invisible to propagation from us, then bind the rootfs onto
/// itself so it is a mount point pivot_root accepts.
pub fn isolate_and_bind(rootfs: &Path) -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys_err("making / rslave", "/"))?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys_err(
        "binding rootfs onto itself",
        rootfs.display().to_string(),
    ))?;
    Ok(())
}

/// Switch root to `rootfs`: pivot_root, or with `--no-pivot` a move mount plus chroot
/// (for ramdisk roots where pivot_root is refused).
pub fn switch_root(rootfs: &Path, no_pivot: bool) -> Result<()> {
    let what = rootfs.display().to_string();
    if no_pivot {
        chdir(rootfs).map_err(sys_err("entering rootfs", what.clone()))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(sys_err("moving rootfs to /", what.clone()))?;
        chroot(".").map_err(sys_err("chroot into", what.clone()))?;
    } else {
        let fd = open(
            rootfs,
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys_err("opening rootfs", what.clone()))?;
        fchdir(fd.as_fd()).map_err(sys_err("entering rootfs", what.clone()))?;
        // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "."
        // then removes the old root without needing a directory for it in the image.
        pivot_root(".", ".").map_err(sys_err("pivot_root into", what.clone()))?;
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(sys_err("making old root rslave", what.clone()))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(sys_err("detaching old root", what.clone()))?;
    }
    chdir("/").map_err(sys_err("entering", "/"))?;
    Ok(())
}

/// After pivot_root, before [`finish`]: create `process.cwd` if the image lacks it, as
/// runc does (mode 0755, as the container's root, before the root may become read-only);
/// clients rely on it. Resolved inside the new root, so a symlink in the image can only
/// redirect the creation inside it.
pub fn make_cwd(cwd: &Path) -> Result<()> {
    let err = |e: safe_path::SafePathError| Error::Init(format!("creating cwd: {e}"));
    let root = safe_path::open_root(Path::new("/")).map_err(err)?;
    safe_path::mkdir_all_in_root(root.as_fd(), cwd, Mode::from_bits_truncate(0o755))
        .map(drop)
        .map_err(err)
}

/// Make the mount at `path` (inside the new root) read-only, keeping the flags the kernel
/// locked on it.
fn remount_read_only(path: &str) -> Result<()> {
    let what = format!("{path} read-only");
    mounts::remount_path(Path::new(path), MsFlags::MS_RDONLY, MsFlags::empty(), &what)
}

/// After pivot_root: a read-only `/dev`, `root.readonly` and `rootfsPropagation`.
pub fn finish(spec: &Spec) -> Result<()> {
    let readonly = spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false);
    // A read-only /dev was mounted writable so that its devices, symlinks and submounts
    // could be made (runc's finalizeRootfs does the same); its recursive attributes wait
    // for its submounts too. A bind on /dev had both applied when mounted.
    if let Some(m) = dev_mount(spec)
        && let Ok(o) = mount_options::parse(options(m))
        && !o.is_bind(m)
    {
        if o.flags.contains(MsFlags::MS_RDONLY) {
            remount_read_only("/dev")?;
        }
        if !o.recursive.is_empty() {
            let dev = open(
                "/dev",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(sys_err("opening", "/dev"))?;
            mounts::set_recursive_on(dev.as_fd(), o.recursive, Path::new("/dev"))?;
        }
    }
    if readonly {
        remount_read_only("/")?;
    }
    if let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
    {
        let flag = mount_options::propagation_flag(&p)
            .ok_or_else(|| Error::Init(format!("unknown rootfsPropagation {p:?}")))?;
        mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
            .map_err(sys_err("setting root propagation", p.clone()))?;
    }
    Ok(())
}
