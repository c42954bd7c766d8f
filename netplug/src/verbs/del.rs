//! DEL: undo what ADD did. Idempotent: whatever is already gone is skipped,
//! and the container's namespace is not needed.

use crate::attachment;
use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::cni::invocation::Invocation;
use crate::detach;
use crate::netlink::Netlink;
use crate::verbs::{ipam_of, network_dir, subnets};
use crate::{ipam, nft, veth};

pub fn del(inv: &Invocation, conf: &NetConf) -> Result<(), Error> {
    let ipam = ipam_of(conf)?;
    let dir = network_dir(&ipam, conf);
    let record = attachment::load(&dir, &inv.container_id, &inv.ifname)?;
    let host = record
        .as_ref()
        .map(|r| r.host_veth.clone())
        .unwrap_or_else(|| veth::host_name(&inv.container_id, &inv.ifname));
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    // Deleting the host end removes the container end too, wherever it is.
    detach::delete_link(&mut nl, &host)
        .map_err(|e| Error::netlink(format!("deleting veth {host}"), e))?;
    if let Some(r) = &record
        && (r.ip_masq || !r.port_mappings.is_empty())
    {
        let nets = subnets(&ipam);
        nft::Table::new(&conf.name, &r.bridge, &nets).remove_attachment(
            &r.ips,
            r.ip_masq,
            &r.port_mappings,
        )?;
    }
    // Without a record (ADD died half way) the lease dir is scanned instead.
    ipam::release(
        &ipam,
        &conf.name,
        &inv.container_id,
        &inv.ifname,
        record.as_ref().map(|r| r.ips.as_slice()),
    )?;
    attachment::remove(&dir, &inv.container_id, &inv.ifname)
}
