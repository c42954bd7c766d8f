//! Network namespaces: checking that a path is one, and running code inside.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::{CloneFlags, setns};
use serde::{Deserialize, Serialize};

use crate::cni::error::Error;
use crate::netlink::Netlink;

/// The magic of nsfs, the filesystem behind /proc/PID/ns/* and bind mounts of it.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Which network namespace a file refers to: the device and inode of its
/// nsfs file. Two paths name the same namespace exactly when these match,
/// and while a namespace lives no other one can have its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetnsId {
    pub dev: u64,
    pub ino: u64,
}

impl NetnsId {
    /// The namespace `path` refers to now; None when the path is gone or is
    /// not a network namespace (any more).
    pub fn of_path(path: &str) -> Option<Self> {
        NetNs::open(path).ok().map(|ns| ns.id())
    }
}

/// An open network namespace.
#[derive(Debug)]
pub struct NetNs {
    file: File,
    path: String,
    id: NetnsId,
}

impl NetNs {
    /// Opens `path` and makes sure it is a network namespace. A missing path
    /// means the container is gone (code 3); anything else that is not a netns
    /// is a bad CNI_NETNS (code 4).
    pub fn open(path: &str) -> Result<Self, Error> {
        let not_netns = |reason: String| Error::InvalidEnv {
            var: "CNI_NETNS",
            reason: format!("{path}: {reason}"),
        };
        let file = match File::open(Path::new(path)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NetnsGone(path.to_string()));
            }
            Err(e) => return Err(not_netns(e.to_string())),
        };
        let fs = nix::sys::statfs::fstatfs(file.as_fd()).map_err(|e| not_netns(e.to_string()))?;
        if fs.filesystem_type().0 as i64 != NSFS_MAGIC {
            return Err(not_netns("not a namespace file".into()));
        }
        // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd.
        let kind = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&file), NS_GET_NSTYPE) };
        if kind != libc::CLONE_NEWNET {
            return Err(not_netns("not a network namespace".into()));
        }
        let st = nix::sys::stat::fstat(&file).map_err(|e| not_netns(e.to_string()))?;
        Ok(Self {
            file,
            path: path.to_string(),
            id: NetnsId {
                dev: st.st_dev,
                ino: st.st_ino,
            },
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// This namespace's identity (see [`NetnsId`]).
    pub fn id(&self) -> NetnsId {
        self.id
    }

    /// Opens an rtnetlink socket inside this namespace. A socket keeps the
    /// namespace it was created in, so the calling thread joins the namespace
    /// only for the `socket()` call and then returns to its own; everything
    /// after goes through the socket, with no thread hand-offs.
    pub fn netlink(&self) -> Result<Netlink, Error> {
        let own = File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::io("opening this thread's netns", e))?;
        setns(self.file.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::netlink(format!("entering netns {}", self.path), e.into()))?;
        let socket = Netlink::open();
        // Going back to a namespace this thread was just in, through an fd it
        // holds, cannot be refused; if it ever were, say so loudly.
        setns(own.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
            tracing::error!(error = %e, "could not return to the original netns");
            Error::netlink("returning to the original netns", e.into())
        })?;
        socket.map_err(|e| Error::netlink(format!("opening netlink in {}", self.path), e))
    }
}

/// _IO(0xb7, 0x3) from linux/nsfs.h.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
