//! Device nodes and the standard /dev symlinks inside the container.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nix::fcntl::AtFlags;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, makedev, mknodat};
use nix::unistd::{Gid, Uid, fchownat};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::mounts::{MountContext, target};
use crate::error::{Error, Result, sys_err};
use crate::safe_path;

/// What every container gets (runtime-spec "Default Devices"), in the order runc lists
/// their cgroup rules (its `AllowedDevices`).
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/random", 1, 8),
    ("/dev/full", 1, 7),
    ("/dev/tty", 5, 0),
    ("/dev/zero", 1, 5),
    ("/dev/urandom", 1, 9),
];

/// Device cgroup rules every container gets after the spec's own, exactly runc's list and
/// order: mknod of anything (creating a node is harmless; opening it is what the rules
/// guard), the default devices (less those the spec lists itself: its entry replaces the
/// node, and its rules alone then decide), ptys, and /dev/net/tun. The spec's
/// `linux.devices` get no rule: a spec that lists a device must also allow it in
/// `linux.resources.devices`, or the container cannot open it.
pub fn cgroup_allow_rules(spec_devices: &[LinuxDevice]) -> Vec<LinuxDeviceCgroup> {
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    let mut rules = vec![
        rule(LinuxDeviceType::C, None, None, "m"),
        rule(LinuxDeviceType::B, None, None, "m"),
    ];
    for (path, major, minor) in DEFAULT_DEVICES {
        if !spec_devices.iter().any(|d| d.path() == Path::new(path)) {
            let (major, minor) = (major as i64, minor as i64);
            rules.push(rule(LinuxDeviceType::C, Some(major), Some(minor), "rwm"));
        }
    }
    rules.push(rule(LinuxDeviceType::C, Some(136), None, "rwm")); // /dev/pts/*
    rules.push(rule(LinuxDeviceType::C, Some(5), Some(2), "rwm")); // /dev/ptmx
    rules.push(rule(LinuxDeviceType::C, Some(10), Some(200), "rwm")); // /dev/net/tun
    rules
}

struct Node {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

pub fn create_all(ctx: &MountContext, spec_devices: &[LinuxDevice]) -> Result<()> {
    let mut nodes: Vec<Node> = Vec::new();
    for d in spec_devices {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::Init(format!(
                    "device {}: type 'a' is not a node type",
                    d.path().display()
                )));
            }
        };
        nodes.push(Node {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    for (path, major, minor) in DEFAULT_DEVICES {
        if !nodes.iter().any(|n| n.path == Path::new(path)) {
            nodes.push(Node {
                path: PathBuf::from(path),
                kind: SFlag::S_IFCHR,
                major,
                minor,
                mode: 0o666,
                uid: 0,
                gid: 0,
            });
        }
    }
    for node in &nodes {
        if ctx.in_userns {
            bind_host_device(ctx, node)?;
        } else {
            make_node(ctx, node)?;
        }
    }
    Ok(())
}

fn make_node(ctx: &MountContext, n: &Node) -> Result<()> {
    let rel = Path::new("/").join(&n.path);
    let parent = rel.parent().unwrap_or(Path::new("/"));
    let name = rel
        .file_name()
        .ok_or_else(|| Error::Init(format!("device path {} has no name", n.path.display())))?;
    let dir = safe_path::mkdir_all_in_root(ctx.root, parent, Mode::from_bits_truncate(0o755))
        .map_err(|e| Error::Init(format!("creating device dir: {e}")))?;
    // An image may ship its own /dev entries: replace them.
    let _ = nix::unistd::unlinkat(&dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
    let what = n.path.display().to_string();
    mknodat(
        &dir,
        name,
        n.kind,
        Mode::from_bits_truncate(n.mode & 0o7777),
        makedev(n.major, n.minor),
    )
    .map_err(sys_err("creating device", what.clone()))?;
    fchownat(
        &dir,
        name,
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(sys_err("chowning device", what.clone()))?;
    // mknod obeys the umask; chmod makes the mode exactly the spec's.
    let fd = safe_path::open_in_root(ctx.root, &rel, OFlag::O_PATH)
        .map_err(|e| Error::Init(format!("reopening device: {e}")))?;
    let proc_path = safe_path::fd_path(fd.as_fd());
    std::fs::set_permissions(
        &proc_path,
        std::os::unix::fs::PermissionsExt::from_mode(n.mode & 0o7777),
    )
    .map_err(|e| Error::Init(format!("chmod device {what}: {e}")))?;
    Ok(())
}

/// In a user namespace mknod is refused: bind the host's node over an empty file.
fn bind_host_device(ctx: &MountContext, n: &Node) -> Result<()> {
    let fd = target(ctx, &n.path, true)?;
    let what = n.path.display().to_string();
    mount(
        Some(&n.path),
        &safe_path::fd_path(fd.as_fd()),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(sys_err("binding device", what))?;
    let _ = fd.as_raw_fd();
    Ok(())
}

/// /dev/fd, /dev/std{in,out,err} and /dev/ptmx, as every runtime provides.
pub fn create_symlinks(ctx: &MountContext) -> Result<()> {
    let dev =
        safe_path::mkdir_all_in_root(ctx.root, Path::new("/dev"), Mode::from_bits_truncate(0o755))
            .map_err(|e| Error::Init(format!("creating /dev: {e}")))?;
    for (src, name) in [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ] {
        if name == "ptmx" {
            // Whatever the image had there (a node, or a symlink to the host) goes.
            let _ = nix::unistd::unlinkat(&dev, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        match nix::unistd::symlinkat(src, &dev, name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(sys_err("creating symlink", format!("/dev/{name}"))(e)),
        }
    }
    Ok(())
}
