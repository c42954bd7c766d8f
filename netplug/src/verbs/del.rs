//! DEL: undo what ADD did. Idempotent: whatever is already gone is skipped,
//! and the container's namespace is not needed.
//!
//! DEL names an attachment by container id and ifname, but a refused ADD of
//! the same name into another namespace is followed by the runtime's DEL
//! for that namespace: a DEL whose CNI_NETNS is not the recorded one leaves
//! a live attachment alone.

use crate::attachment;
use crate::claim::{self, Standing};
use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::cni::invocation::Invocation;
use crate::netlink::Netlink;
use crate::netns::NetNs;
use crate::verbs::{ipam_of, network_dir};
use crate::{ipam, teardown, veth};

pub fn del(inv: &Invocation, conf: &NetConf) -> Result<(), Error> {
    let ipam = ipam_of(conf)?;
    let dir = network_dir(&ipam, conf);
    let record = attachment::load(&dir, &inv.container_id, &inv.ifname)?;
    // The namespace may be gone (or not given): DEL goes on without it.
    let netns = if inv.netns.is_empty() {
        None
    } else {
        NetNs::open(&inv.netns).ok()
    };
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    let Some(rec) = record else {
        // No record: ADD died before its claim, or an old leftover. The
        // derived host veth goes only if its peer is in this namespace;
        // leases are found by owner.
        if let Some(ns) = &netns {
            let host = veth::host_name(&inv.container_id, &inv.ifname);
            teardown::remove_host_veth(&mut nl, &host, Some(ns))?;
        }
        return ipam::release(&ipam, &conf.name, &inv.container_id, &inv.ifname, None);
    };
    let ours = inv.netns.is_empty() || claim::is_of(&mut nl, &rec, &inv.netns, netns.as_ref())?;
    if !ours && claim::judge(&mut nl, &rec, netns.as_ref())? == Standing::Live {
        tracing::info!(
            container = inv.container_id,
            ifname = inv.ifname,
            netns = inv.netns,
            recorded = rec.netns,
            "DEL for another netns than the live attachment's: left alone"
        );
        return Ok(());
    }
    // In the attachment's own namespace the host veth must peer into it;
    // otherwise (namespace gone, unknown, or a stale record) the record's
    // name is enough.
    let veth_ns = if ours { netns.as_ref() } else { None };
    teardown::undo(conf, &ipam, &mut nl, &rec, veth_ns)?;
    attachment::remove(&dir, &inv.container_id, &inv.ifname)
}
