//! Who is on a network: `<root>/networks/<name>.endpoints/<id>.json` per attached
//! container (name, hostname, address), for `network inspect` and for the /etc/hosts
//! name resolution of user networks.
//!
//! berth has no embedded DNS: on a user-created network each container's /etc/hosts
//! lists the others, and a container joining or leaving rewrites the hosts files of the
//! others in place (same inode, so the bind mount in each running container sees it).
//! Membership changes and rewrites happen under the network's endpoint lock, so
//! concurrent attaches converge on the same lists.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::network::attach::Attachment;
use crate::network::error::NetworkError;
use crate::network::etc;
use crate::network::netns;
use crate::network::store::{Network, NetworkStore};
use crate::paths::StorePaths;

/// One container on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The container id (64 hex).
    pub id: String,
    pub name: String,
    pub hostname: String,
    pub ip: Ipv4Addr,
    /// The MAC of the container's eth0.
    #[serde(default)]
    pub mac: Option<String>,
}

/// The endpoints of `net`, by id; files that do not parse are skipped (and logged).
pub fn list(store: &NetworkStore, net: &Network) -> Result<Vec<Endpoint>, NetworkError> {
    let dir = store.endpoints_dir(&net.name);
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetworkError::io("listing", &dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match fs::read(&path).map(|b| serde_json::from_slice::<Endpoint>(&b)) {
            Ok(Ok(ep)) => out.push(ep),
            Ok(Err(e)) => tracing::warn!(path = %path.display(), error = %e, "skipping endpoint"),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(NetworkError::io("reading", &path, e)),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn lock(dir: &Path) -> Result<Flock<fs::File>, NetworkError> {
    fs::create_dir_all(dir).map_err(|e| NetworkError::io("creating", dir, e))?;
    let path = dir.join(".lock");
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| NetworkError::io("opening lock", &path, e))?;
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| {
        NetworkError::io(
            "locking",
            &path,
            std::io::Error::from_raw_os_error(e as i32),
        )
    })
}

/// Records container `id` (attached as `att`) on its network and, on a user network,
/// adds it to the other containers' /etc/hosts.
pub(crate) fn register(
    store: &NetworkStore,
    att: &Attachment,
    id: &str,
) -> Result<(), NetworkError> {
    let (Some(net), Some(ip)) = (&att.network, att.ip) else {
        return Ok(());
    };
    let dir = store.endpoints_dir(&net.name);
    let _lock = lock(&dir)?;
    let ep = Endpoint {
        id: id.to_string(),
        name: att.container_name.clone(),
        hostname: att.hostname.clone(),
        ip,
        mac: att.mac.clone(),
    };
    let path = dir.join(format!("{id}.json"));
    let tmp = dir.join(format!(".{id}.json.tmp"));
    let bytes = serde_json::to_vec(&ep).map_err(|source| NetworkError::Record {
        path: path.clone(),
        source,
    })?;
    fs::write(&tmp, bytes).map_err(|e| NetworkError::io("writing", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| NetworkError::io("renaming into place", &path, e))?;
    Ok(())
}

/// Drops container `id` from `net` and from the others' /etc/hosts. Idempotent.
pub(crate) fn unregister(
    store: &NetworkStore,
    net: &Network,
    id: &str,
    paths: &StorePaths,
) -> Result<(), NetworkError> {
    let dir = store.endpoints_dir(&net.name);
    if !dir.exists() {
        return Ok(());
    }
    let _lock = lock(&dir)?;
    let path = dir.join(format!("{id}.json"));
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(NetworkError::io("removing", &path, e)),
    }
    if !net.is_default() {
        rewrite_members(store, net, paths)?;
    }
    Ok(())
}

/// The peers a container on `net` resolves by name: every other live endpoint of a
/// user network, none on the default network (as docker's `bridge`).
pub(crate) fn peers_of(
    store: &NetworkStore,
    net: &Network,
    id: &str,
    paths: &StorePaths,
) -> Result<Vec<Endpoint>, NetworkError> {
    if net.is_default() {
        return Ok(Vec::new());
    }
    Ok(live(store, net, paths)?
        .into_iter()
        .filter(|e| e.id != id)
        .collect())
}

/// The endpoints whose namespace still exists; a crashed container's file is removed.
fn live(
    store: &NetworkStore,
    net: &Network,
    paths: &StorePaths,
) -> Result<Vec<Endpoint>, NetworkError> {
    let dir = store.endpoints_dir(&net.name);
    let mut out = Vec::new();
    for ep in list(store, net)? {
        let ns = netns::path_for(&paths.runroot, &ep.id);
        if berth_netplug::netns::NetnsId::of_path(&ns.to_string_lossy()).is_some() {
            out.push(ep);
        } else {
            let stale = dir.join(format!("{}.json", ep.id));
            if let Err(e) = fs::remove_file(&stale)
                && e.kind() != ErrorKind::NotFound
            {
                tracing::warn!(path = %stale.display(), error = %e, "removing a stale endpoint");
            }
        }
    }
    Ok(out)
}

/// Rewrites, in place, the /etc/hosts of every live member of a user network from the
/// current membership. Called with the endpoint lock held.
pub(crate) fn rewrite_members(
    store: &NetworkStore,
    net: &Network,
    paths: &StorePaths,
) -> Result<(), NetworkError> {
    let members = live(store, net, paths)?;
    for me in &members {
        let hosts: PathBuf = paths.container_dir(&me.id).join("hosts");
        if !hosts.exists() {
            continue;
        }
        let others: Vec<Endpoint> = members.iter().filter(|e| e.id != me.id).cloned().collect();
        let content = etc::hosts_content(Some((me.ip, &etc::own_names(me))), &others);
        etc::write_in_place(&hosts, content.as_bytes())?;
    }
    Ok(())
}

/// Takes the endpoint lock of `net` and rewrites its members' hosts files (after a new
/// member wrote its own).
pub(crate) fn announce(
    store: &NetworkStore,
    net: &Network,
    paths: &StorePaths,
) -> Result<(), NetworkError> {
    if net.is_default() {
        return Ok(());
    }
    let _lock = lock(&store.endpoints_dir(&net.name))?;
    rewrite_members(store, net, paths)
}
