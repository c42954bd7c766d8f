//! The network records (`<root>/networks/<name>.json`): the default bridge network
//! [`DEFAULT_NETWORK`], made on first use, and user networks, each with its own bridge,
//! subnet and berth-netplug state (`<root>/cni/<cni name>`).
//!
//! A network's bridge is made with its gateway address when the network is created, so
//! its subnet is a route of the host from then on: the host's routes are the registry of
//! taken subnets, for every berth store and every other tool on the host. Choosing a
//! subnet and making the bridge happen under a lock held across the network namespace
//! ([`SubnetLock`]), so two stores never pick the same one.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_netplug::netlink::Netlink;
use berth_state::Timestamp;
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::network::error::NetworkError;
use crate::paths::{DEFAULT_ROOT, StorePaths};

/// The default network's name (docker's `bridge`).
pub const DEFAULT_NETWORK: &str = "berth0";

/// One network's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    pub created: Timestamp,
    /// Always "bridge" for now.
    pub driver: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// The Linux bridge device.
    pub bridge: String,
    /// The network name given to berth-netplug: names its nftables table
    /// (`berth_<cni name>`) and its state directory `<root>/cni/<cni name>`.
    pub cni_name: String,
}

impl Network {
    /// Whether this is the default network (not removable, no name resolution between
    /// its containers, as docker's `bridge`).
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }

    /// The gateway with the subnet's prefix, as it sits on the bridge.
    pub fn gateway_net(&self) -> Ipv4Net {
        Ipv4Net::new(self.gateway, self.subnet.prefix_len()).unwrap_or(self.subnet)
    }
}

/// Network names: docker's rule ([`crate::docker_name`]).
pub fn validate_name(name: &str) -> Result<(), NetworkError> {
    if crate::docker_name::is_valid(name, 1) {
        Ok(())
    } else {
        Err(NetworkError::InvalidNetwork {
            name: name.to_string(),
            reason: "names are letters, digits, '_', '.' and '-', starting with a letter or digit"
                .into(),
        })
    }
}

/// What `network create` may be given.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `--subnet`; picked from the candidates when None.
    pub subnet: Option<Ipv4Net>,
    /// `--gateway`; the subnet's first address when None.
    pub gateway: Option<Ipv4Addr>,
}

/// The networks of one store.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
    cni_dir: PathBuf,
    /// The host's own store keeps the documented names (`berth0`); any other store's
    /// kernel objects carry the network id, since they share the host's kernel.
    host_store: bool,
}

impl NetworkStore {
    pub fn open(paths: &StorePaths) -> Self {
        Self {
            dir: paths.networks_dir(),
            cni_dir: paths.cni_state_dir(),
            host_store: paths.root == Path::new(DEFAULT_ROOT),
        }
    }

    /// berth-netplug's state directory (its IPAM `dataDir`).
    pub fn cni_dir(&self) -> &Path {
        &self.cni_dir
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// `<root>/networks/<name>.endpoints`: one file per attached container.
    pub fn endpoints_dir(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.endpoints"))
    }

    /// The network called `name`, the default one made first if it is asked for.
    ///
    /// Errors: [`NetworkError::NotFound`]; reading the record; making the default.
    pub fn for_attach(&self, name: &str) -> Result<Network, NetworkError> {
        match self.load(name)? {
            Some(n) => Ok(n),
            None if name == DEFAULT_NETWORK => self.ensure_default(),
            None => Err(NetworkError::NotFound(name.to_string())),
        }
    }

    /// The default network, created on first use.
    pub fn ensure_default(&self) -> Result<Network, NetworkError> {
        if let Some(n) = self.load(DEFAULT_NETWORK)? {
            return Ok(n);
        }
        match self.create(DEFAULT_NETWORK, &CreateOptions::default()) {
            Err(NetworkError::Exists(_)) => self
                .load(DEFAULT_NETWORK)?
                .ok_or_else(|| NetworkError::NotFound(DEFAULT_NETWORK.into())),
            other => other,
        }
    }

    /// The record of network `name`, None when there is none (nothing is created).
    pub fn load(&self, name: &str) -> Result<Option<Network>, NetworkError> {
        if validate_name(name).is_err() {
            return Ok(None);
        }
        let path = self.record_path(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(NetworkError::io("reading", &path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| NetworkError::Record { path, source })
    }

    /// Every network, by name; the default one is made first if missing (it always
    /// exists, as docker's `bridge` does).
    pub fn list(&self) -> Result<Vec<Network>, NetworkError> {
        self.ensure_default()?;
        let rd = fs::read_dir(&self.dir).map_err(|e| NetworkError::io("listing", &self.dir, e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| NetworkError::io("listing", &self.dir, e))?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
                continue;
            };
            if let Some(n) = self.load(name)? {
                out.push(n);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A network by name, full id or unique id prefix.
    ///
    /// Errors: [`NetworkError::NotFound`] (also for an ambiguous prefix).
    pub fn get(&self, name_or_id: &str) -> Result<Network, NetworkError> {
        if let Some(n) = self.load(name_or_id)? {
            return Ok(n);
        }
        if name_or_id == DEFAULT_NETWORK {
            return self.ensure_default();
        }
        let mut found = self
            .list()?
            .into_iter()
            .filter(|n| !name_or_id.is_empty() && n.id.starts_with(name_or_id));
        match (found.next(), found.next()) {
            (Some(n), None) => Ok(n),
            _ => Err(NetworkError::NotFound(name_or_id.to_string())),
        }
    }

    /// Creates network `name`: picks (or checks) its subnet, makes its bridge with the
    /// gateway address, then writes its record.
    ///
    /// Errors: [`NetworkError::Exists`], [`NetworkError::InvalidNetwork`] (bad name,
    /// subnet or gateway, a subnet overlapping another network's),
    /// [`NetworkError::NoFreeSubnet`], netlink ([`NetworkError::Cni`]), the record's I/O.
    pub fn create(&self, name: &str, opts: &CreateOptions) -> Result<Network, NetworkError> {
        validate_name(name)?;
        let invalid = |reason: String| NetworkError::InvalidNetwork {
            name: name.to_string(),
            reason,
        };
        fs::create_dir_all(&self.dir).map_err(|e| NetworkError::io("creating", &self.dir, e))?;
        let _lock = SubnetLock::acquire()?;
        if self.load(name)?.is_some() {
            return Err(NetworkError::Exists(name.to_string()));
        }
        let ours: Vec<Ipv4Net> = self.records()?.iter().map(|n| n.subnet).collect();
        let subnet = match opts.subnet {
            Some(s) => {
                let s = s.trunc();
                if s.prefix_len() > 30 {
                    return Err(invalid(format!("subnet {s} has no room for containers")));
                }
                if let Some(other) = ours.iter().find(|o| overlaps(o, &s)) {
                    return Err(invalid(format!(
                        "subnet {s} overlaps {other} of another network"
                    )));
                }
                s
            }
            None => {
                let mut taken = host_routes();
                taken.extend(ours);
                candidates()
                    .find(|c| !taken.iter().any(|t| overlaps(t, c)))
                    .ok_or_else(|| NetworkError::NoFreeSubnet(name.to_string()))?
            }
        };
        let gateway = match opts.gateway {
            Some(g) => {
                if !subnet.contains(&g) || g == subnet.network() || g == subnet.broadcast() {
                    return Err(invalid(format!(
                        "gateway {g} is not a host address of {subnet}"
                    )));
                }
                g
            }
            None => subnet
                .hosts()
                .next()
                .ok_or_else(|| invalid(format!("subnet {subnet} is empty")))?,
        };
        let id = crate::random::hex_id()
            .map_err(|e| NetworkError::io("choosing an id for network", name, e))?;
        let short = &id[..12];
        let (bridge, cni_name) = match (self.host_store, name == DEFAULT_NETWORK) {
            (true, true) => (DEFAULT_NETWORK.to_string(), name.to_string()),
            (true, false) => (format!("br-{short}"), name.to_string()),
            (false, _) => (format!("br-{short}"), format!("{name}-{short}")),
        };
        let net = Network {
            name: name.to_string(),
            id,
            created: Timestamp::now(),
            driver: "bridge".into(),
            subnet,
            gateway,
            bridge,
            cni_name,
        };
        make_bridge(&net)?;
        if let Err(e) = self.write_record(&net) {
            delete_kernel_objects(&net);
            return Err(e);
        }
        Ok(net)
    }

    fn records(&self) -> Result<Vec<Network>, NetworkError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetworkError::io("listing", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let file = entry.file_name();
            if let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json"))
                && let Some(n) = self.load(name)?
            {
                out.push(n);
            }
        }
        Ok(out)
    }

    fn write_record(&self, net: &Network) -> Result<(), NetworkError> {
        let path = self.record_path(&net.name);
        let tmp = self.dir.join(format!(".{}.json.tmp", net.name));
        let bytes = serde_json::to_vec_pretty(net).map_err(|source| NetworkError::Record {
            path: path.clone(),
            source,
        })?;
        fs::write(&tmp, bytes).map_err(|e| NetworkError::io("writing", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| NetworkError::io("renaming into place", &path, e))
    }

    /// Removes network `name_or_id`: its bridge, nftables table, berth-netplug state,
    /// endpoint files and record.
    ///
    /// Errors: [`NetworkError::Predefined`] for the default network,
    /// [`NetworkError::InUse`] while a container is attached (judged from kernel facts
    /// by berth-netplug: a live veth or network namespace), not found, I/O.
    pub fn remove(&self, name_or_id: &str) -> Result<Network, NetworkError> {
        let net = self.get(name_or_id)?;
        if net.is_default() {
            return Err(NetworkError::Predefined(net.name));
        }
        let active = self.active_containers(&net)?;
        if !active.is_empty() {
            return Err(NetworkError::InUse {
                name: net.name.clone(),
                containers: active
                    .iter()
                    .map(|id| id.get(..12).unwrap_or(id))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        delete_kernel_objects(&net);
        for dir in [
            self.cni_dir.join(&net.cni_name),
            self.endpoints_dir(&net.name),
        ] {
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(NetworkError::io("removing", &dir, e)),
            }
        }
        let path = self.record_path(&net.name);
        fs::remove_file(&path).map_err(|e| NetworkError::io("removing", &path, e))?;
        Ok(net)
    }

    /// The container ids with a live attachment to `net`: berth-netplug's records whose
    /// veth or namespace still exists (a crashed container's stale record does not count).
    pub fn active_containers(&self, net: &Network) -> Result<Vec<String>, NetworkError> {
        let cni = |op, source| NetworkError::Cni {
            op,
            network: net.name.clone(),
            source,
        };
        let records = berth_netplug::attachment::list(&self.cni_dir.join(&net.cni_name))
            .map_err(|e| cni("listing attachments", e))?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut nl = Netlink::open().map_err(|source| NetworkError::Netlink {
            op: "opening netlink".into(),
            source,
        })?;
        let mut out = Vec::new();
        for rec in records {
            let standing = berth_netplug::claim::judge(&mut nl, &rec, None)
                .map_err(|e| cni("judging an attachment", e))?;
            if standing != berth_netplug::claim::Standing::Stale {
                out.push(rec.container_id);
            }
        }
        Ok(out)
    }

    /// Removes the kernel objects of every network of this store (bridges, nftables
    /// tables) without touching the records: for tearing a whole store down (tests).
    pub fn delete_all_kernel_objects(&self) -> Result<(), NetworkError> {
        for net in self.records()? {
            delete_kernel_objects(&net);
        }
        Ok(())
    }
}

/// Makes `net`'s bridge, up, with the gateway address (so its subnet is routed).
fn make_bridge(net: &Network) -> Result<(), NetworkError> {
    let cni = |op, source| NetworkError::Cni {
        op,
        network: net.name.clone(),
        source,
    };
    let mut nl = Netlink::open().map_err(|source| NetworkError::Netlink {
        op: "opening netlink".into(),
        source,
    })?;
    let br = berth_netplug::bridge::ensure(&mut nl, &net.bridge, None, false)
        .map_err(|e| cni("creating the bridge", e))?;
    if let Err(e) =
        berth_netplug::bridge::ensure_gateways(&mut nl, &br, &[IpNet::V4(net.gateway_net())], false)
    {
        delete_kernel_objects(net);
        return Err(cni("putting the gateway on the bridge", e));
    }
    Ok(())
}

/// Deletes `net`'s bridge and nftables table; what is gone already is skipped, and a
/// failure is logged (the caller is removing the network either way).
fn delete_kernel_objects(net: &Network) {
    match Netlink::open().and_then(|mut nl| nl.delete_link(&net.bridge)) {
        Ok(_) => {}
        Err(e) => tracing::warn!(bridge = net.bridge, error = %e, "deleting bridge"),
    }
    if let Err(e) = berth_netplug::nft::delete_table(&net.cni_name) {
        tracing::warn!(network = net.name, error = %e, "deleting nftables table");
    }
}

/// Whether two subnets share an address.
fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The subnets a new network may get, in order: docker's pool 172.18-31.0.0/16 (docker0
/// keeps 172.17), then 10.200-250.0.0/16 (podman uses 10.88 and 10.89).
fn candidates() -> impl Iterator<Item = Ipv4Net> {
    let docker = (18..=31u8).map(|b| Ipv4Addr::new(172, b, 0, 0));
    let tens = (200..=250u8).map(|b| Ipv4Addr::new(10, b, 0, 0));
    docker.chain(tens).filter_map(|a| Ipv4Net::new(a, 16).ok())
}

/// The host's IPv4 routes but the default one (which overlaps everything), from
/// /proc/net/route (the main table: connected subnets of every interface and the
/// bridges of other networks, down or not).
fn host_routes() -> Vec<Ipv4Net> {
    parse_routes(&fs::read_to_string("/proc/net/route").unwrap_or_default())
}

/// The destinations of /proc/net/route's lines, the default route left out.
fn parse_routes(text: &str) -> Vec<Ipv4Net> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: addresses in
            // hex of the kernel's (network-order) bytes as a native integer.
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then(|| Ipv4Net::new(Ipv4Addr::from(dst.to_ne_bytes()), prefix).ok())?
        })
        .collect()
}

/// A lock across the host's network namespace (an abstract unix socket bound by name:
/// scoped to the namespace like the routes it guards, released when the holder dies).
struct SubnetLock(#[allow(dead_code)] UnixListener);

impl SubnetLock {
    const NAME: &[u8] = b"berth-network-subnets";

    fn acquire() -> Result<Self, NetworkError> {
        let addr = SocketAddr::from_abstract_name(Self::NAME)
            .map_err(|e| NetworkError::io("naming the subnet lock", "@berth-network-subnets", e))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match UnixListener::bind_addr(&addr) {
                Ok(l) => return Ok(Self(l)),
                Err(e) if e.kind() == ErrorKind::AddrInUse && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(NetworkError::io(
                        "taking the subnet lock",
                        "@berth-network-subnets",
                        e,
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_taken_routes() {
        let taken: Vec<Ipv4Net> = ["172.18.0.0/16", "172.19.5.0/24", "172.16.0.0/12"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let first = candidates().find(|c| !taken.iter().any(|t| overlaps(t, c)));
        assert_eq!(first, "10.200.0.0/16".parse().ok());
        let taken: Vec<Ipv4Net> = ["172.18.0.0/16", "172.19.5.0/24"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let first = candidates().find(|c| !taken.iter().any(|t| overlaps(t, c)));
        assert_eq!(first, "172.20.0.0/16".parse().ok());
    }

    #[test]
    fn proc_net_route_lines_give_their_subnets_but_the_default() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
br-1\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let want: Vec<Ipv4Net> = ["192.0.2.0/24", "172.18.0.0/16"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(parse_routes(text), want);
    }
}
