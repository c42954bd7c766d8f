//! Attaching a container to its network and detaching it: the network namespace at
//! `<runroot>/netns/<id>` and, on a bridge network, a CNI ADD/DEL through the
//! berth-netplug library in process (no plugin binary is run).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_netplug::cni::config::{NetConf, PortMapping as CniPortMapping};
use berth_netplug::verbs::{add, del};
use berth_netplug::{Command, Invocation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::network::endpoints;
use crate::network::error::NetworkError;
use crate::network::mode::NetworkMode;
use crate::network::netns;
use crate::network::ports::PortMapping;
use crate::network::store::{Network, NetworkStore};
use crate::paths::StorePaths;

/// The container's interface inside its namespace.
pub const IFNAME: &str = "eth0";

/// What [`attach`] is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachRequest {
    pub mode: NetworkMode,
    /// `-p` mappings; a host port of 0 is picked at attach.
    pub ports: Vec<PortMapping>,
    /// The container's name (without docker's leading '/'): resolvable by the other
    /// containers of a user network.
    pub container_name: String,
    /// The container's hostname (`--hostname`, else docker's 12-digit short id).
    pub hostname: String,
}

/// What [`attach`] made, kept in the container's record so that the monitor or `rm`
/// can [`detach`] it, and shown by `inspect` and `ps` (ports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub mode: NetworkMode,
    /// The namespace the spec joins; None for host networking.
    pub netns: Option<PathBuf>,
    /// The network's record at attach time (bridge modes; None until the network is
    /// known, in an [`Attachment::pending`]).
    pub network: Option<Network>,
    pub ip: Option<Ipv4Addr>,
    pub prefix_len: Option<u8>,
    pub gateway: Option<Ipv4Addr>,
    /// `aa:bb:cc:dd:ee:ff` of the container's eth0.
    pub mac: Option<String>,
    /// The mappings in force (host ports picked).
    pub ports: Vec<PortMapping>,
    pub container_name: String,
    pub hostname: String,
}

impl Attachment {
    /// What an attach of `req` for container `id` would make, before it is made: store
    /// it in the container's record before calling [`attach`], so that a crash half way
    /// still leaves something [`detach`] can clean up from.
    pub fn pending(paths: &StorePaths, id: &str, req: &AttachRequest) -> Self {
        Self {
            mode: req.mode.clone(),
            netns: (req.mode != NetworkMode::Host).then(|| netns::path_for(&paths.runroot, id)),
            network: None,
            ip: None,
            prefix_len: None,
            gateway: None,
            mac: None,
            ports: req.ports.clone(),
            container_name: req.container_name.clone(),
            hostname: req.hostname.clone(),
        }
    }
}

/// Connects container `id` as `req` asks: `none` = a new namespace with only `lo`;
/// `host` = nothing (the spec shares the host's namespace); a bridge network = a new
/// namespace at `<runroot>/netns/<id>` with a veth on the network's bridge, an address,
/// a default route, masquerade and the port mappings. The default network is made on
/// first use. On error nothing is left behind.
///
/// Errors: [`NetworkError::NotFound`] for an unknown network, [`NetworkError::Cni`]
/// when berth-netplug refuses (a host port taken: code 102), namespace and I/O errors.
pub fn attach(
    paths: &StorePaths,
    id: &str,
    req: &AttachRequest,
) -> Result<Attachment, NetworkError> {
    let mut att = Attachment::pending(paths, id, req);
    if !matches!(req.mode, NetworkMode::Bridge(_)) && !att.ports.is_empty() {
        // docker's behaviour: with the host's network a port is already the host's, and
        // without a network there is nothing to forward to.
        tracing::warn!(mode = %req.mode, "published ports are discarded in this network mode");
        att.ports.clear();
    }
    let name = match &req.mode {
        NetworkMode::Host => return Ok(att),
        NetworkMode::None => {
            if let Some(ns) = &att.netns {
                netns::create(ns)?;
            }
            return Ok(att);
        }
        NetworkMode::Bridge(name) => name,
    };
    let store = NetworkStore::open(paths);
    let net = store.for_attach(name)?;
    for p in &mut att.ports {
        p.resolve_host_port()?;
    }
    let ns_path = netns::path_for(&paths.runroot, id);
    netns::create(&ns_path)?;
    let added = cni_add(&store, &net, id, &ns_path, &att.ports);
    let result = match added {
        Ok(r) => r,
        Err(e) => {
            if let Err(e) = netns::remove(&ns_path) {
                tracing::warn!(id, error = %e, "removing the netns of a failed attach");
            }
            return Err(e);
        }
    };
    if let Some(ip) = result.ips.first() {
        if let std::net::IpAddr::V4(a) = ip.address.addr() {
            att.ip = Some(a);
        }
        att.prefix_len = Some(ip.address.prefix_len());
        att.gateway = ip.gateway.and_then(|g| match g {
            std::net::IpAddr::V4(g) => Some(g),
            std::net::IpAddr::V6(_) => None,
        });
    }
    att.mac = result
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_some())
        .map(|i| i.mac.clone());
    att.network = Some(net);
    if let Err(e) = endpoints::register(&store, &att, id) {
        if let Err(e2) = detach(paths, id, &att) {
            tracing::warn!(id, error = %e2, "undoing a failed attach");
        }
        return Err(e);
    }
    Ok(att)
}

/// Disconnects container `id`: CNI DEL (veth, lease, nftables elements), then unmounts
/// and removes its namespace file, then drops it from the network's endpoints (and from
/// the /etc/hosts of the others). Idempotent and safe on a half-made attachment (one
/// from [`Attachment::pending`], or after a crash at any point): berth-netplug's DEL
/// judges what is left from kernel facts and needs neither the namespace nor its record.
///
/// Errors: the first failure, after every step was tried.
pub fn detach(paths: &StorePaths, id: &str, att: &Attachment) -> Result<(), NetworkError> {
    let mut first: Option<NetworkError> = None;
    let mut keep = |r: Result<(), NetworkError>| {
        if let Err(e) = r {
            tracing::warn!(id, error = %e, "detaching");
            first.get_or_insert(e);
        }
    };
    let ns_path = att
        .netns
        .clone()
        .unwrap_or_else(|| netns::path_for(&paths.runroot, id));
    if let NetworkMode::Bridge(name) = &att.mode {
        let store = NetworkStore::open(paths);
        let net = match &att.network {
            Some(n) => Some(n.clone()),
            // Looked up, never made (the default network is not created to be detached
            // from): none means nothing of it to delete.
            None => store.load(name).unwrap_or_else(|e| {
                keep(Err(e));
                None
            }),
        };
        if let Some(net) = net {
            keep(cni_del(&store, &net, id, &ns_path));
            keep(endpoints::unregister(&store, &net, id, paths));
        }
    }
    if att.mode != NetworkMode::Host {
        keep(netns::remove(&ns_path));
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The berth-netplug configuration of `net` (bridge, gateway mode, masquerade, IPAM in
/// `<root>/cni`), with `ports` as runtimeConfig.portMappings.
fn net_conf(
    store: &NetworkStore,
    net: &Network,
    ports: &[PortMapping],
) -> Result<NetConf, NetworkError> {
    let conf = json!({
        "cniVersion": "1.1.0",
        "name": net.cni_name,
        "type": "berth-cni",
        "bridge": net.bridge,
        "isGateway": true,
        "isDefaultGateway": true,
        "ipMasq": true,
        "hairpinMode": true,
        "ipam": {
            "type": "berth-ipam",
            "ranges": [[{"subnet": net.subnet.to_string(), "gateway": net.gateway.to_string()}]],
            "dataDir": store.cni_dir(),
        },
    });
    let mut conf =
        NetConf::parse(conf.to_string().as_bytes()).map_err(|source| NetworkError::Cni {
            op: "building the CNI config",
            network: net.name.clone(),
            source,
        })?;
    conf.runtime_config.port_mappings = ports
        .iter()
        .map(|p| CniPortMapping {
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: p.protocol.as_str().to_string(),
            host_ip: p.host_ip.map(|ip| ip.to_string()),
        })
        .collect();
    Ok(conf)
}

fn invocation(command: Command, id: &str, ns: &Path) -> Invocation {
    Invocation {
        command,
        container_id: id.to_string(),
        netns: ns.to_string_lossy().into_owned(),
        ifname: IFNAME.to_string(),
        args: Vec::new(),
        path: Vec::new(),
    }
}

fn cni_add(
    store: &NetworkStore,
    net: &Network,
    id: &str,
    ns: &Path,
    ports: &[PortMapping],
) -> Result<berth_netplug::AddResult, NetworkError> {
    let conf = net_conf(store, net, ports)?;
    add::add(&invocation(Command::Add, id, ns), &conf).map_err(|source| NetworkError::Cni {
        op: "CNI ADD",
        network: net.name.clone(),
        source,
    })
}

fn cni_del(store: &NetworkStore, net: &Network, id: &str, ns: &Path) -> Result<(), NetworkError> {
    let conf = net_conf(store, net, &[])?;
    // DEL takes the namespace path only to tell its own attachment from another's; the
    // record names what to delete.
    del::del(&invocation(Command::Del, id, ns), &conf).map_err(|source| NetworkError::Cni {
        op: "CNI DEL",
        network: net.name.clone(),
        source,
    })
}
