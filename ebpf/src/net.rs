//! Network bytes and packets in/out per cgroup of the socket (`src/bpf/net.bpf.c`,
//! `cgroup_skb` ingress and egress attached to the root of the cgroup v2 hierarchy).

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::net::{NetSkel, NetSkelBuilder};

/// One cgroup's traffic, counted at the socket layer (IP packet lengths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounts {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

pub(crate) struct NetProbe {
    skel: NetSkel<'static>,
}

impl NetProbe {
    /// Loads the programs and attaches them (multi, always passing) to `cgroup_root`.
    pub(crate) fn load(watchlist: BorrowedFd<'_>, cgroup_root: &Path) -> Result<Self, Error> {
        let mut skel = load_skeleton!(NetSkelBuilder::default(), "net", Some(watchlist))?;
        let root = File::open(cgroup_root).map_err(|source| Error::Cgroup {
            operation: "opening cgroup to attach cgroup_skb programs to",
            path: cgroup_root.to_path_buf(),
            source,
        })?;
        let ingress = skel
            .progs
            .berth_net_ingress
            .attach_cgroup(root.as_raw_fd())
            .map_err(|source| Error::Attach {
                program: "net (cgroup_skb/ingress)",
                source,
            })?;
        let egress = skel
            .progs
            .berth_net_egress
            .attach_cgroup(root.as_raw_fd())
            .map_err(|source| Error::Attach {
                program: "net (cgroup_skb/egress)",
                source,
            })?;
        skel.links.berth_net_ingress = Some(ingress);
        skel.links.berth_net_egress = Some(egress);
        Ok(Self { skel })
    }

    pub(crate) fn counts(&self) -> Result<HashMap<u64, NetCounts>, Error> {
        Ok(
            map_read::summed_entries::<4>(&self.skel.maps.net_counts, "net_counts")?
                .into_iter()
                .map(|entry| {
                    let [rx_bytes, rx_packets, tx_bytes, tx_packets] = entry.values;
                    let counts = NetCounts {
                        rx_bytes,
                        rx_packets,
                        tx_bytes,
                        tx_packets,
                    };
                    (u64_at(&entry.key, 0), counts)
                })
                .collect(),
        )
    }

    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        map_read::prune(&self.skel.maps.net_counts, "net_counts", keep)
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 1] {
        [(
            "net_counts",
            map_read::entry_count(&self.skel.maps.net_counts),
        )]
    }
}
