//! CHECK: the attachment still matches prevResult: interface, addresses,
//! routes, host veth on the bridge, nftables elements and leases.

use crate::attachment;
use crate::cni::config::{NetConf, format_mac};
use crate::cni::error::Error;
use crate::cni::invocation::Invocation;
use crate::cni::result::AddResult;
use crate::ipam::store::Store;
use crate::netlink::{self, Netlink};
use crate::netns::NetNs;
use crate::verbs::{ipam_of, network_dir, subnets};
use crate::{bridge, claim, container_if, nft};

pub fn check(inv: &Invocation, conf: &NetConf) -> Result<(), Error> {
    let prev = AddResult::from_json(
        conf.prev_result
            .as_ref()
            .ok_or_else(|| Error::InvalidConfig("CHECK needs prevResult".into()))?,
    )?;
    let ipam = ipam_of(conf)?;
    let fail = |m: String| Err(Error::CheckFailed(m));
    let Some(record) = attachment::load(&network_dir(&ipam, conf), &inv.container_id, &inv.ifname)?
    else {
        return fail(format!(
            "no attachment of {}/{} on network {}",
            inv.container_id, inv.ifname, conf.name
        ));
    };

    let netns = NetNs::open(&inv.netns)?;
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    if !claim::is_of(&mut nl, &record, &inv.netns, Some(&netns))? {
        return fail(format!(
            "attachment {}/{} is in netns {}, not {}",
            inv.container_id, inv.ifname, record.netns, inv.netns
        ));
    }

    let store = Store::open(&ipam.data_dir, &conf.name)?;
    for ip in &prev.ips {
        let owner = store.owner(ip.address.addr())?;
        if owner != Some((inv.container_id.clone(), inv.ifname.clone())) {
            return fail(format!(
                "lease of {} is not held by this attachment",
                ip.address
            ));
        }
    }

    let Some(seen) = container_if::observe(&mut netns.netlink()?, &inv.ifname)? else {
        return fail(format!("interface {} missing in {}", inv.ifname, inv.netns));
    };
    if let Some(want) = prev
        .interfaces
        .iter()
        .find(|i| i.name == inv.ifname && i.sandbox.is_some())
        && !want.mac.is_empty()
        && !want.mac.eq_ignore_ascii_case(&format_mac(&seen.mac))
    {
        return fail(format!(
            "{} has MAC {}, expected {}",
            inv.ifname,
            format_mac(&seen.mac),
            want.mac
        ));
    }
    for ip in &prev.ips {
        if !seen.addresses.contains(&ip.address) {
            return fail(format!("address {} missing on {}", ip.address, inv.ifname));
        }
    }
    for r in &prev.routes {
        if !seen
            .routes
            .iter()
            .any(|s| s.dst == r.dst.trunc() && s.gw == r.gw)
        {
            return fail(format!("route to {} missing in the container", r.dst));
        }
    }

    let host = nl
        .link_by_name(&record.host_veth)
        .map_err(|e| Error::netlink(format!("looking up {}", record.host_veth), e))?;
    let br = nl
        .link_by_name(&record.bridge)
        .map_err(|e| Error::netlink(format!("looking up {}", record.bridge), e))?;
    match (host, br) {
        (Some(h), Some(b))
            if bridge::is_bridge(&b) && netlink::link_controller(&h) == Some(b.header.index) => {}
        _ => {
            return fail(format!(
                "host veth {} is not on bridge {}",
                record.host_veth, record.bridge
            ));
        }
    }

    if record.ip_masq || !record.port_mappings.is_empty() {
        let nets = subnets(&ipam);
        nft::Table::new(&conf.name, &record.bridge, &nets).check_attachment(
            &record.ips,
            record.ip_masq,
            &record.port_mappings,
        )?;
    }
    Ok(())
}
