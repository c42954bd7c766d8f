//! `network_connect` and `network_listen` records (`src/bpf/sockets.bpf.c`:
//! `cgroup/connect4`, `cgroup/connect6`, `sockops` on TCP listen), attached to berth's
//! cgroup subtrees only: sockets outside them never run the programs.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;
use std::sync::Mutex;

use libbpf_rs::{Link, MapCore};

use crate::Error;
use crate::audit::{EventType, EventTypes};
use crate::skeletons::load_skeleton;
use crate::skeletons::sockets::{OpenSocketsSkel, SocketsSkel, SocketsSkelBuilder};

pub(crate) struct SocketProbe {
    skel: SocketsSkel<'static>,
    /// Whether connect or listen records are on at all (else nothing is attached).
    wanted: bool,
    /// Links by the cgroup v2 id of the subtree they are attached to.
    links: Mutex<HashMap<u64, Vec<Link>>>,
}

impl SocketProbe {
    /// Loads the programs for the socket types of `events`, attached nowhere yet.
    pub(crate) fn load(watchlist: BorrowedFd<'_>, events: EventTypes) -> Result<Self, Error> {
        let skel = load_skeleton!(
            SocketsSkelBuilder::default(),
            "sockets",
            Some(watchlist),
            OpenSocketsSkel<'_>,
            events = events
        )?;
        Ok(Self {
            skel,
            wanted: events.contains(EventType::NetworkConnect)
                || events.contains(EventType::NetworkListen),
            links: Mutex::new(HashMap::new()),
        })
    }

    /// Attaches the programs to the cgroup v2 directory `dir` (id `cgroup_id`) unless
    /// they already are; forgets (detaches) the subtrees not in `keep`.
    pub(crate) fn attach_subtrees(&self, subtrees: &[(u64, &Path)]) -> Result<(), Error> {
        if !self.wanted {
            return Ok(());
        }
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|id, _| subtrees.iter().any(|(keep, _)| keep == id));
        for (id, dir) in subtrees {
            if links.contains_key(id) {
                continue;
            }
            let cgroup = File::open(dir).map_err(|source| Error::Cgroup {
                operation: "opening cgroup to attach the socket programs to",
                path: dir.to_path_buf(),
                source,
            })?;
            let progs = &self.skel.progs;
            let mut attached = Vec::new();
            for (prog, name) in [
                (&progs.berth_connect4, "sockets (cgroup/connect4)"),
                (&progs.berth_connect6, "sockets (cgroup/connect6)"),
                (&progs.berth_sockops, "sockets (sockops)"),
            ] {
                attached.push(prog.attach_cgroup(cgroup.as_raw_fd()).map_err(|source| {
                    Error::Attach {
                        program: name,
                        source,
                    }
                })?);
            }
            tracing::info!(cgroup = %dir.display(), "socket audit programs attached");
            links.insert(*id, attached);
        }
        Ok(())
    }

    pub(crate) fn audit_maps(&self) -> (&dyn MapCore, &dyn MapCore) {
        (&self.skel.maps.audit_events, &self.skel.maps.events_lost)
    }
}
