//! GC: drop every attachment (veth, nftables elements, leases, record) that
//! is not in `cni.dev/valid-attachments`.

use std::collections::HashSet;

use crate::attachment;
use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::netlink::Netlink;
use crate::verbs::{ipam_of, network_dir};
use crate::{ipam, teardown};

pub fn gc(conf: &NetConf) -> Result<(), Error> {
    let ipam = ipam_of(conf)?;
    let dir = network_dir(&ipam, conf);
    // No list means the runtime knows of no attachment on this network.
    let valid: HashSet<(String, String)> = conf
        .valid_attachments
        .iter()
        .flatten()
        .map(|a| (a.container_id.clone(), a.ifname.clone()))
        .collect();
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    for rec in attachment::list(&dir)? {
        if valid.contains(&(rec.container_id.clone(), rec.ifname.clone())) {
            continue;
        }
        tracing::info!(container = rec.container_id, ifname = rec.ifname, "gc");
        // The runtime says this attachment is gone, whatever its namespace.
        teardown::undo(conf, &ipam, &mut nl, &rec, None)?;
        attachment::remove(&dir, &rec.container_id, &rec.ifname)?;
    }
    // Leases without a record (an ADD that died) go too.
    ipam::gc(&ipam, &conf.name, &valid)?;
    Ok(())
}
