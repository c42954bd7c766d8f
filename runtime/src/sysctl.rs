//! `linux.sysctl`: which kernel settings a container may set, and writing them.
//!
//! `/proc/sys` is only partly namespaced. A setting is written from inside the container,
//! into whatever namespace the container is in, so a setting that no namespace of the
//! container's own isolates would change the host's kernel. The rules are runc's
//! (`libcontainer/configs/validate`):
//! - the System V IPC settings (`kernel.msg{max,mnb,mni}`, `kernel.sem`,
//!   `kernel.shm{all,max,mni}`, `kernel.shm_rmid_forced`) and `fs.mqueue.*` need an IPC
//!   namespace;
//! - `net.*` needs a network namespace;
//! - `kernel.domainname` needs a UTS namespace; `kernel.hostname` is refused (the spec's
//!   `hostname` field sets it);
//! - everything else is isolated by no namespace and is refused.
//!
//! A namespace joined by `path` counts only if it is not the runtime's own: a bind mount
//! of the host's `/proc/self/ns/net` is the host's network namespace under another name.
//! runc checks this for the network namespace; berth checks it for IPC and UTS as well,
//! where the same path trick would otherwise reach the host's settings. The spec's
//! `hostname` and `domainname` are UTS settings too and follow the same rule.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::init::namespaces::is_runtimes_own;

/// Why a `linux.sysctl` entry is refused.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("invalid sysctl name {0:?}")]
    InvalidName(String),
    #[error(
        "sysctl {0:?} is not allowed in the host's ipc namespace (the config has no ipc namespace of its own)"
    )]
    HostIpc(String),
    #[error(
        "sysctl {0:?} not allowed in host network namespace (the config has no network namespace of its own)"
    )]
    HostNet(String),
    #[error(
        "unable to set {0} without a private UTS namespace (none, or the host's joined by path)"
    )]
    HostUts(&'static str),
    #[error("sysctl {0:?} is not allowed as it conflicts with the OCI \"hostname\" field")]
    Hostname(String),
    #[error("sysctl {0:?} is not in a separate kernel namespace")]
    NotNamespaced(String),
    #[error("comparing {ns} namespace {} with the runtime's own: {source}", path.display())]
    Stat {
        ns: LinuxNamespaceType,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("setting sysctl {key:?} ({}): {source}", path.display())]
    Write {
        key: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The System V IPC settings that an IPC namespace isolates (besides `fs.mqueue.*`).
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// A sysctl name in its dotted form. sysctl(8) also accepts `/` as the separator, and then
/// a `.` inside a component (`net/ipv4/conf/eth0.100/rp_filter`) is part of the name; in
/// the dotted form that component is written with a `/` (`net.ipv4.conf.eth0/100.rp_filter`).
pub fn dotted(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_string(),
    }
}

/// The file under `/proc/sys` (relative) for a sysctl name; refuses names that are not a
/// plain walk down `/proc/sys` (empty components, `.`, `..`).
pub fn proc_sys_path(key: &str) -> Result<PathBuf, SysctlError> {
    let dotted = dotted(key);
    let mut path = PathBuf::new();
    for component in dotted.split('.') {
        let name = component.replace('/', ".");
        if name.is_empty() || name == "." || name == ".." || name.contains('\0') {
            return Err(SysctlError::InvalidName(key.to_string()));
        }
        path.push(name);
    }
    Ok(path)
}

/// Whether the container gets its own namespace of type `t`: a new one, or one joined by
/// a path that is not the runtime's own namespace of that type.
fn owns_namespace(
    namespaces: &[LinuxNamespace],
    t: LinuxNamespaceType,
) -> Result<bool, SysctlError> {
    let Some(ns) = namespaces.iter().find(|n| n.typ() == t) else {
        return Ok(false);
    };
    let Some(path) = ns.path() else {
        return Ok(true);
    };
    let own = is_runtimes_own(t, path).map_err(|source| SysctlError::Stat {
        ns: t,
        path: path.clone(),
        source,
    })?;
    Ok(!own)
}

/// `hostname` and `domainname` are the `kernel.hostname` and `kernel.domainname`
/// settings: they need a UTS namespace of the container's own, or setting them would
/// rename the host.
pub fn validate_uts_names(
    hostname: Option<&str>,
    domainname: Option<&str>,
    namespaces: &[LinuxNamespace],
) -> Result<(), SysctlError> {
    for (field, value) in [("hostname", hostname), ("domainname", domainname)] {
        if value.is_some_and(|v| !v.is_empty())
            && !owns_namespace(namespaces, LinuxNamespaceType::Uts)?
        {
            return Err(SysctlError::HostUts(field));
        }
    }
    Ok(())
}

/// Check every entry of `linux.sysctl` against the namespaces the container will be in.
/// Runs in the runtime before anything is created; a joined namespace path is compared
/// with the runtime's own namespace by device and inode.
pub fn validate(
    sysctl: &HashMap<String, String>,
    namespaces: &[LinuxNamespace],
) -> Result<(), SysctlError> {
    // Sorted, so the same config always reports the same first offender.
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        proc_sys_path(key)?;
        let name = dotted(key);
        let needs = if IPC_SYSCTLS.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
            LinuxNamespaceType::Ipc
        } else if name.starts_with("net.") {
            LinuxNamespaceType::Network
        } else if name == "kernel.domainname" {
            LinuxNamespaceType::Uts
        } else if name == "kernel.hostname" && owns_namespace(namespaces, LinuxNamespaceType::Uts)?
        {
            return Err(SysctlError::Hostname(name));
        } else {
            return Err(SysctlError::NotNamespaced(name));
        };
        if !owns_namespace(namespaces, needs)? {
            return Err(match needs {
                LinuxNamespaceType::Ipc => SysctlError::HostIpc(name),
                LinuxNamespaceType::Network => SysctlError::HostNet(name),
                _ => SysctlError::NotNamespaced(name),
            });
        }
    }
    Ok(())
}

/// Write the settings under `/proc/sys` of the calling process's namespaces. Runs in the
/// container init after pivot_root, before `/proc/sys` is made read-only.
pub fn apply(sysctl: &HashMap<String, String>) -> Result<(), SysctlError> {
    for (key, value) in sysctl {
        let path = Path::new("/proc/sys").join(proc_sys_path(key)?);
        fs::write(&path, value).map_err(|source| SysctlError::Write {
            key: key.clone(),
            path,
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_separated_names_become_dotted_with_dots_kept_in_components() {
        assert_eq!(
            dotted("net/ipv4/conf/eth0.100/rp_filter"),
            "net.ipv4.conf.eth0/100.rp_filter"
        );
        assert_eq!(dotted("net.ipv4.ip_forward"), "net.ipv4.ip_forward");
        assert_eq!(
            proc_sys_path("net/ipv4/conf/eth0.100/rp_filter")
                .ok()
                .as_deref(),
            Some(Path::new("net/ipv4/conf/eth0.100/rp_filter"))
        );
        assert_eq!(
            proc_sys_path("net.ipv4.tcp_fin_timeout").ok().as_deref(),
            Some(Path::new("net/ipv4/tcp_fin_timeout"))
        );
    }

    #[test]
    fn names_that_leave_proc_sys_are_refused() {
        for bad in ["", "net..ipv4", "net/../../etc", "net.//.x", ".net", "net."] {
            assert!(
                matches!(proc_sys_path(bad), Err(SysctlError::InvalidName(_))),
                "{bad:?} accepted"
            );
        }
    }
}
