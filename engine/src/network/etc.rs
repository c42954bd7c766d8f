//! The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, written under
//! `<root>/containers/<id>/` for the engine to bind-mount, with docker's contents.

use std::fs;
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::network::attach::Attachment;
use crate::network::endpoints::{self, Endpoint};
use crate::network::error::NetworkError;
use crate::network::mode::NetworkMode;
use crate::network::store::NetworkStore;
use crate::paths::StorePaths;

/// The three files, for the spec's bind mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
}

/// The lines every docker hosts file starts with.
const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n\
::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\n\
ff00::0\tip6-mcastprefix\n\
ff02::1\tip6-allnodes\n\
ff02::2\tip6-allrouters\n";

/// docker's fallback when the host has no usable nameserver (Google's public DNS).
const DEFAULT_NAMESERVERS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/// Writes the container's hosts, hostname and resolv.conf under
/// `<root>/containers/<id>/` (which must exist) for `att`:
/// - hosts: docker's localhost lines, then the container's address with `hostname` (and
///   its name on a user network; 127.0.0.1 without a network, as podman writes it), then,
///   on a user-created network, every other
///   container of the network by name and short id; with host networking, the host's
///   /etc/hosts. Joining a user network also adds this container to the others' files.
/// - hostname: `hostname`.
/// - resolv.conf: the host's, without localhost nameservers (unreachable from another
///   namespace) and IPv6 ones (berth networks are IPv4), docker's 8.8.8.8/8.8.4.4 when
///   none is left; with host networking the host's file as is.
///
/// Errors: [`NetworkError::Io`] naming the file.
pub fn write_etc_files(
    paths: &StorePaths,
    id: &str,
    att: &Attachment,
    hostname: &str,
) -> Result<EtcFiles, NetworkError> {
    let dir = paths.container_dir(id);
    let files = EtcFiles {
        hosts: dir.join("hosts"),
        hostname: dir.join("hostname"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let host_resolv = read_host_file(Path::new("/etc/resolv.conf"))?;
    let (hosts, resolv) = match &att.mode {
        NetworkMode::Host => (
            read_host_file(Path::new("/etc/hosts"))?.unwrap_or_else(|| HOSTS_BASE.to_string()),
            host_resolv.unwrap_or_else(|| DEFAULT_NAMESERVERS.to_string()),
        ),
        mode => {
            let resolv = container_resolv_conf(host_resolv.as_deref());
            let hosts = match (&att.network, att.ip) {
                (Some(net), Some(ip)) if matches!(mode, NetworkMode::Bridge(_)) => {
                    let store = NetworkStore::open(paths);
                    let peers = endpoints::peers_of(&store, net, id, paths)?;
                    let mut names = vec![hostname.to_string()];
                    if !net.is_default()
                        && !att.container_name.is_empty()
                        && att.container_name != hostname
                    {
                        names.push(att.container_name.clone());
                    }
                    hosts_content(Some((ip, &names)), &peers)
                }
                // No network: the hostname (and name) on 127.0.0.1, as podman does, so a
                // program resolving its own hostname still gets an answer.
                _ => {
                    let mut names = vec![hostname.to_string()];
                    if !att.container_name.is_empty() && att.container_name != hostname {
                        names.push(att.container_name.clone());
                    }
                    hosts_content(Some((Ipv4Addr::LOCALHOST, &names)), &[])
                }
            };
            (hosts, resolv)
        }
    };
    write_in_place(&files.hosts, hosts.as_bytes())?;
    write_in_place(&files.hostname, format!("{hostname}\n").as_bytes())?;
    write_in_place(&files.resolv_conf, resolv.as_bytes())?;
    if let (NetworkMode::Bridge(_), Some(net)) = (&att.mode, &att.network) {
        endpoints::announce(&NetworkStore::open(paths), net, paths)?;
    }
    Ok(files)
}

/// A hosts file: docker's base lines, `own` (address and names), then each peer by
/// name, short id and hostname.
pub fn hosts_content(own: Option<(Ipv4Addr, &[String])>, peers: &[Endpoint]) -> String {
    let mut out = String::from(HOSTS_BASE);
    if let Some((ip, names)) = own {
        out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    for p in peers {
        let mut names: Vec<&str> = Vec::new();
        for n in [
            p.name.as_str(),
            p.id.get(..12).unwrap_or(&p.id),
            p.hostname.as_str(),
        ] {
            if !n.is_empty() && !names.contains(&n) {
                names.push(n);
            }
        }
        out.push_str(&format!("{}\t{}\n", p.ip, names.join(" ")));
    }
    out
}

/// The names a member lists for itself in its own hosts file.
pub(crate) fn own_names(ep: &Endpoint) -> Vec<String> {
    let mut names = vec![ep.hostname.clone()];
    if !ep.name.is_empty() && ep.name != ep.hostname {
        names.push(ep.name.clone());
    }
    names
}

/// The container's resolv.conf from the host's (`None`: the host has none): docker's
/// filter, and systemd-resolved's upstream file when the host points at its stub.
pub fn container_resolv_conf(host: Option<&str>) -> String {
    let Some(mut text) = host.map(str::to_string) else {
        return DEFAULT_NAMESERVERS.to_string();
    };
    // 127.0.0.53 is systemd-resolved's stub; its real upstreams are in this file.
    if nameservers(&text)
        .iter()
        .all(|ns| *ns == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53)))
        && let Ok(Some(upstream)) = read_host_file(Path::new("/run/systemd/resolve/resolv.conf"))
    {
        text = upstream;
    }
    let filtered = filter_resolv_conf(&text);
    if nameservers(&filtered).is_empty() {
        format!("{filtered}{DEFAULT_NAMESERVERS}")
    } else {
        filtered
    }
}

/// `text` without loopback or IPv6 nameserver lines; every other line kept.
pub fn filter_resolv_conf(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let dropped = nameserver_of(line).is_some_and(|ip| ip.is_loopback() || ip.is_ipv6());
        if !dropped {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn nameserver_of(line: &str) -> Option<IpAddr> {
    let mut words = line.split_whitespace();
    (words.next()? == "nameserver").then_some(())?;
    // A scoped IPv6 address (fe80::1%eth0) is still IPv6.
    let addr = words.next()?;
    addr.split('%').next()?.parse().ok()
}

fn nameservers(text: &str) -> Vec<IpAddr> {
    text.lines().filter_map(nameserver_of).collect()
}

fn read_host_file(path: &Path) -> Result<Option<String>, NetworkError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetworkError::io("reading", path, e)),
    }
}

/// Replaces the content of `path` keeping its inode (a running container has it
/// bind-mounted; a rename would leave the container on the old file). The new bytes
/// go over the old ones before the file is cut to length, so a reader never sees it
/// empty.
pub(crate) fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), NetworkError> {
    let fail = |e| NetworkError::io("writing", path, e);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(fail)?;
    f.seek(SeekFrom::Start(0)).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.set_len(bytes.len() as u64).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_localhost_and_ipv6_nameservers() {
        let host = "search example.org\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\noptions ndots:2\n";
        assert_eq!(
            container_resolv_conf(Some(host)),
            "search example.org\nnameserver 10.0.0.2\noptions ndots:2\n"
        );
        // Nothing usable left: docker's defaults.
        assert_eq!(
            container_resolv_conf(Some("nameserver 127.0.0.11\n")),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(container_resolv_conf(None), DEFAULT_NAMESERVERS);
    }

    #[test]
    fn hosts_list_own_names_then_peers() {
        let peers = [Endpoint {
            id: "0123456789abcdef".into(),
            name: "db".into(),
            hostname: "0123456789ab".into(),
            ip: Ipv4Addr::new(10, 1, 0, 3),
            mac: None,
        }];
        let names = vec!["web1".to_string(), "web".to_string()];
        let h = hosts_content(Some((Ipv4Addr::new(10, 1, 0, 2), &names)), &peers);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            h.ends_with("10.1.0.2\tweb1 web\n10.1.0.3\tdb 0123456789ab\n"),
            "{h}"
        );
    }
}
