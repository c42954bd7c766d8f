//! Signals delivered per cgroup of the receiving task and signal number
//! (`src/bpf/signals.bpf.c`, on `signal/signal_generate`).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::BorrowedFd;

use libbpf_rs::skel::Skel as _;

use crate::Error;
use crate::map_read::{self, u32_at, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::signals::{SignalsSkel, SignalsSkelBuilder};

pub(crate) struct SignalProbe {
    skel: SignalsSkel<'static>,
}

impl SignalProbe {
    pub(crate) fn load(watchlist: BorrowedFd<'_>) -> Result<Self, Error> {
        let mut skel = load_skeleton!(SignalsSkelBuilder::default(), "signals", Some(watchlist))?;
        skel.attach().map_err(|source| Error::Attach {
            program: "signals (raw_tp/signal_generate)",
            source,
        })?;
        Ok(Self { skel })
    }

    /// Per cgroup id: signal number to deliveries.
    pub(crate) fn delivered(&self) -> Result<HashMap<u64, BTreeMap<u32, u64>>, Error> {
        let mut delivered: HashMap<u64, BTreeMap<u32, u64>> = HashMap::new();
        for entry in
            map_read::summed_entries::<1>(&self.skel.maps.signals_delivered, "signals_delivered")?
        {
            // struct signal_key { u64 cgroup_id; u32 signal; u32 pad; }
            *delivered
                .entry(u64_at(&entry.key, 0))
                .or_default()
                .entry(u32_at(&entry.key, 8))
                .or_default() += entry.values[0];
        }
        Ok(delivered)
    }

    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        map_read::prune(&self.skel.maps.signals_delivered, "signals_delivered", keep)
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 1] {
        [(
            "signals_delivered",
            map_read::entry_count(&self.skel.maps.signals_delivered),
        )]
    }
}
