//! OOM kills per cgroup of the victim (`src/bpf/oom.bpf.c`, on `oom/mark_victim`).

use std::collections::HashMap;
use std::os::fd::BorrowedFd;

use libbpf_rs::skel::Skel as _;

use crate::Error;
use crate::map_read::{self, u64_at};
use crate::skeletons::load_skeleton;
use crate::skeletons::oom::{OomSkel, OomSkelBuilder};

pub(crate) struct OomProbe {
    skel: OomSkel<'static>,
}

impl OomProbe {
    pub(crate) fn load(watchlist: BorrowedFd<'_>) -> Result<Self, Error> {
        let mut skel = load_skeleton!(OomSkelBuilder::default(), "oom", Some(watchlist))?;
        skel.attach().map_err(|source| Error::Attach {
            program: "oom (raw_tp/mark_victim)",
            source,
        })?;
        Ok(Self { skel })
    }

    /// OOM kills per cgroup id.
    pub(crate) fn kills(&self) -> Result<HashMap<u64, u64>, Error> {
        Ok(
            map_read::summed_entries::<1>(&self.skel.maps.oom_kills, "oom_kills")?
                .into_iter()
                .map(|entry| (u64_at(&entry.key, 0), entry.values[0]))
                .collect(),
        )
    }

    pub(crate) fn prune(&self, keep: &dyn Fn(u64) -> bool) -> Result<usize, Error> {
        map_read::prune(&self.skel.maps.oom_kills, "oom_kills", keep)
    }

    pub(crate) fn entry_counts(&self) -> [(&'static str, usize); 1] {
        [(
            "oom_kills",
            map_read::entry_count(&self.skel.maps.oom_kills),
        )]
    }
}
