//! What an engine store's networks put in the kernel, found and removed from the test
//! side: bridges and nftables tables named in `<root>/networks/*.json`, the shared mount
//! of `<runroot>/netns`. [`crate::engine::Engine`]'s drop calls [`teardown`] after
//! removing every container, so a test store leaves no bridge, table or mount behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{MntFlags, umount2};

/// One network of a store, as its record names its kernel objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreNetwork {
    pub name: String,
    pub bridge: String,
    /// berth-netplug's network name: the nftables table is `berth_<cni_name>`.
    pub cni_name: String,
    pub subnet: String,
}

impl StoreNetwork {
    /// The network's nftables table.
    pub fn nft_table(&self) -> String {
        berth_netplug::nft::table_name(&self.cni_name)
    }

    /// Leases held on the network (berth-netplug's files named by address).
    pub fn leases(&self, root: &Path) -> Vec<String> {
        let dir = root.join("cni").join(&self.cni_name);
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .collect()
    }
}

/// The networks recorded under `root`.
pub fn networks(root: &Path) -> Vec<StoreNetwork> {
    let Ok(rd) = std::fs::read_dir(root.join("networks")) else {
        return Vec::new();
    };
    let mut out: Vec<StoreNetwork> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p: PathBuf| {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            let s = |k: &str| v[k].as_str().map(str::to_string);
            Some(StoreNetwork {
                name: s("name")?,
                bridge: s("bridge")?,
                cni_name: s("cni_name")?,
                subnet: s("subnet")?,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Removes every network's bridge and nftables table and unmounts `<runroot>/netns`.
/// Run after the store's containers are gone. Errors are ignored (best effort cleanup).
pub fn teardown(root: &Path, runroot: &Path) {
    for n in networks(root) {
        let _ = Command::new("ip").args(["link", "del", &n.bridge]).output();
        let _ = berth_netplug::nft::delete_table(&n.cni_name);
    }
    let dir = runroot.join("netns");
    // Stacked mounts (never expected, but a leak if left) go one by one.
    while umount2(&dir, MntFlags::MNT_DETACH).is_ok() {}
}

/// What container `id` (address `ip`, when it got one) could have left on `net` of the
/// store at `root`/`runroot` once detached or removed: its host veth, its netns file and
/// mount, its lease, its nftables elements, its endpoint file. Empty when nothing is left.
pub fn leftovers(
    root: &Path,
    runroot: &Path,
    net: &StoreNetwork,
    id: &str,
    ip: Option<&str>,
) -> Vec<String> {
    let mut left = Vec::new();
    let veth = berth_netplug::veth::host_name(id, "eth0");
    let listed = Command::new("ip").args(["link", "show", &veth]).output();
    if listed.is_ok_and(|o| o.status.success()) {
        left.push(format!("veth {veth}"));
    }
    let ns = runroot.join("netns").join(id);
    if ns.exists() {
        left.push(format!("netns file {}", ns.display()));
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if mountinfo.contains(&format!("/netns/{id} ")) {
        left.push("netns mount".into());
    }
    if let Some(ip) = ip {
        if net.leases(root).iter().any(|l| l == ip) {
            left.push(format!("lease {ip}"));
        }
        let table = Command::new("nft")
            .args(["list", "table", "inet", &net.nft_table()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // An element names the address followed by a space, `}` or `,`.
        if [" ", " }", ","]
            .iter()
            .any(|end| table.contains(&format!("{ip}{end}")))
        {
            left.push(format!("nft elements of {ip}: {table}"));
        }
    }
    let endpoint = root
        .join("networks")
        .join(format!("{}.endpoints", net.name))
        .join(format!("{id}.json"));
    if endpoint.exists() {
        left.push(format!("endpoint {}", endpoint.display()));
    }
    left
}
