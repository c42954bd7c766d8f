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
