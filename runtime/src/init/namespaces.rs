//! Which namespaces a container gets: new ones made by clone/unshare, existing ones
//! joined by path, and the id maps of a new user namespace.

use std::fs::{self, File};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns, unshare};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespace, LinuxNamespaceType};

use crate::error::{Error, Result, io_err, sys_err};

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME (0x80) overlaps CSIGNAL in clone(2): time namespaces are made with
        // unshare only, so this flag is never passed to clone.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// Decided in the runtime before forking, so a bad namespace path fails early with its name.
#[derive(Debug)]
pub struct NamespacePlan {
    /// Namespaces to join, user first (joining it changes which others we may join).
    pub join: Vec<(LinuxNamespaceType, PathBuf, OwnedFd)>,
    pub new_user: bool,
    pub new_time: bool,
    /// New namespaces made by the clone of the init (everything but user and time).
    pub clone_flags: CloneFlags,
    pub new_pid: bool,
    pub new_net: bool,
    pub new_cgroup: bool,
}

impl NamespacePlan {
    pub fn new(namespaces: &[LinuxNamespace]) -> Result<Self> {
        let mut plan = NamespacePlan {
            join: Vec::new(),
            new_user: false,
            new_time: false,
            clone_flags: CloneFlags::empty(),
            new_pid: false,
            new_net: false,
            new_cgroup: false,
        };
        for ns in namespaces {
            let t = ns.typ();
            match ns.path() {
                Some(path) => {
                    let fd = File::open(path).map_err(io_err("opening namespace", path))?;
                    check_ns_kind(path, &fd, t)?;
                    // The container's root is set up in its mount namespace (/ made
                    // rslave, mounts, pivot_root): in the runtime's own, that would be
                    // done to the host.
                    if t == LinuxNamespaceType::Mount
                        && is_runtimes_own(t, path).map_err(io_err("comparing namespace", path))?
                    {
                        return Err(Error::InvalidArgument(format!(
                            "mount namespace {} is the runtime's own: the container's root cannot be set up in the host's mount namespace",
                            path.display()
                        )));
                    }
                    plan.join.push((t, path.clone(), fd.into()));
                }
                None => match t {
                    LinuxNamespaceType::User => plan.new_user = true,
                    LinuxNamespaceType::Time => plan.new_time = true,
                    other => {
                        plan.clone_flags |= clone_flag(other);
                        plan.new_pid |= other == LinuxNamespaceType::Pid;
                        plan.new_net |= other == LinuxNamespaceType::Network;
                        plan.new_cgroup |= other == LinuxNamespaceType::Cgroup;
                    }
                },
            }
        }
        plan.join
            .sort_by_key(|(t, _, _)| *t != LinuxNamespaceType::User);
        Ok(plan)
    }

    /// Whether the container is in a user namespace, new or joined by path.
    pub fn in_user_ns(&self) -> bool {
        self.new_user
            || self
                .join
                .iter()
                .any(|(t, _, _)| *t == LinuxNamespaceType::User)
    }

    /// Enter the namespaces given by path. Runs in stage 1.
    pub fn join_existing(&self) -> Result<()> {
        for (t, path, fd) in &self.join {
            setns(fd.as_fd(), clone_flag(*t))
                .map_err(sys_err("joining namespace", path.display().to_string()))?;
        }
        Ok(())
    }

    pub fn unshare_user(&self) -> Result<()> {
        unshare(CloneFlags::CLONE_NEWUSER).map_err(sys_err("creating namespace", "user"))
    }

    /// A new time namespace, with its offsets written before any process lives in it.
    pub fn unshare_time(
        &self,
        offsets: Option<&std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>>,
    ) -> Result<()> {
        unshare(clone_flag(LinuxNamespaceType::Time))
            .map_err(sys_err("creating namespace", "time"))?;
        let Some(offsets) = offsets else {
            return Ok(());
        };
        let mut text = String::new();
        for (clock, off) in offsets {
            text.push_str(&format!(
                "{clock} {} {}\n",
                off.secs().unwrap_or(0),
                off.nanosecs().unwrap_or(0)
            ));
        }
        let path = "/proc/self/timens_offsets";
        fs::write(path, text).map_err(io_err("writing time offsets", path))
    }
}

/// The name of a namespace type under `/proc/<pid>/ns/`.
pub fn proc_ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Whether `path` names the runtime's own namespace of type `t` (the host's, as far as
/// a container is concerned), compared by device and inode as runc does: a bind mount
/// of `/proc/self/ns/net` is the same namespace under another name.
pub fn is_runtimes_own(t: LinuxNamespaceType, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let own = fs::metadata(format!("/proc/self/ns/{}", proc_ns_name(t)))?;
    let joined = fs::metadata(path)?;
    Ok(own.dev() == joined.dev() && own.ino() == joined.ino())
}

/// Refuse a path that is a namespace of another kind (or no namespace at all): joining it
/// would fail later with a less helpful EINVAL.
fn check_ns_kind(path: &Path, fd: &File, t: LinuxNamespaceType) -> Result<()> {
    // NS_GET_NSTYPE = _IO(0xb7, 0x3)
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    use std::os::fd::AsRawFd;
    // SAFETY: ioctl on an fd we own, with no argument pointer.
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    if got < 0 {
        return Err(Error::InvalidArgument(format!(
            "{} is not a namespace: {}",
            path.display(),
            std::io::Error::last_os_error()
        )));
    }
    if got != clone_flag(t).bits() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a {t} namespace",
            path.display()
        )));
    }
    Ok(())
}

/// Write `/proc/<pid>/{uid,gid}_map` for a process that just made a user namespace.
pub fn write_id_maps(pid: i32, uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<()> {
    let render = |maps: &[LinuxIdMapping]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    if !uids.is_empty() {
        let path = format!("/proc/{pid}/uid_map");
        fs::write(&path, render(uids)).map_err(io_err("writing uid map", &path))?;
    }
    if !gids.is_empty() {
        let path = format!("/proc/{pid}/gid_map");
        fs::write(&path, render(gids)).map_err(io_err("writing gid map", &path))?;
    }
    Ok(())
}
