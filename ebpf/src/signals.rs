//! Signals delivered per cgroup of the receiving task and signal number
//! (`src/bpf/signals.bpf.c`, on `signal/signal_generate`).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::BorrowedFd;

use libbpf_rs::skel::Skel as _;

use crate::Error;
use crate::map_read;
use crate::skeletons::load_skeleton;
use crate::skeletons::signals::types::signal_key as SignalKey;
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
            let Some(key) = map_read::record::<SignalKey>(&entry.key) else {
                continue;
            };
            *delivered
                .entry(key.cgroup_id)
                .or_default()
                .entry(key.signal)
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
