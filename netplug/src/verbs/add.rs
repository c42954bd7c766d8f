//! ADD: lease addresses, plumb bridge and veth, configure the container side,
//! add masquerade and port mappings, record what was done.

use std::net::IpAddr;
use std::path::Path;

use crate::addr::RouteEntry;
use crate::attachment::{self, Record};
use crate::cni::config::{NetConf, format_mac, parse_mac};
use crate::cni::error::Error;
use crate::cni::invocation::Invocation;
use crate::cni::result::{AddResult, Interface, IpConfig, Route};
use crate::ipam::store::Store;
use crate::ipam::{self, Ipam, Lease};
use crate::netlink::Netlink;
use crate::netns::NetNs;
use crate::verbs::{gateway_nets, ipam_of, network_dir, parse_requested, subnets};
use crate::{bridge, claim, container_if, nft, sysctl, teardown, veth};

pub fn add(inv: &Invocation, conf: &NetConf) -> Result<AddResult, Error> {
    let ipam = ipam_of(conf)?;
    let mut requested = conf
        .requested_ips()
        .iter()
        .map(|s| parse_requested(s))
        .collect::<Result<Vec<IpAddr>, _>>()?;
    if let Some(ips) = inv.arg("IP") {
        for s in ips.split(',') {
            requested.push(parse_requested(s)?);
        }
    }
    let mac = conf
        .requested_mac()
        .or_else(|| inv.arg("MAC"))
        .map(parse_mac)
        .transpose()?;
    let netns = NetNs::open(&inv.netns)?;
    let ifname = inv.ifname.as_str();
    // One socket inside the container serves the whole ADD.
    let mut cnl = netns.netlink()?;
    // Refuse before leasing anything, so a failed ADD leaves no trace.
    if container_if::exists(&mut cnl, ifname)? {
        return Err(Error::InterfaceExists {
            ifname: ifname.to_string(),
            netns: inv.netns.clone(),
        });
    }

    let dir = network_dir(&ipam, conf);
    let mut record = Record {
        container_id: inv.container_id.clone(),
        ifname: ifname.to_string(),
        host_veth: veth::host_name(&inv.container_id, ifname),
        bridge: conf.bridge_name().to_string(),
        ips: Vec::new(),
        ip_masq: conf.ip_masq,
        port_mappings: conf.runtime_config.port_mappings.clone(),
        netns: inv.netns.clone(),
        netns_id: Some(netns.id()),
    };
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    // Claim the name first: a live attachment of it elsewhere refuses this
    // ADD before anything is touched (see crate::claim).
    let store = Store::open(&ipam.data_dir, &conf.name)?;
    let prior = claim::claim(&store, &dir, &record, &netns, &mut nl)?;
    // What a stale or earlier run of this attachment left goes before its
    // name (host veth) and owner (leases) are reused.
    if let Some(old) = &prior
        && let Err(e) = teardown::undo(conf, &ipam, &mut nl, old, Some(&netns))
    {
        // Put its record back: it names what is left, for DEL or GC.
        if let Err(e) = attachment::save(&dir, old) {
            tracing::warn!(error = %e, "restoring the replaced attachment record");
        }
        return Err(e);
    }
    let mut undo = Undo {
        ipam: &ipam,
        conf,
        inv,
        record_dir: Some(&dir),
        ips: Vec::new(),
        veth: None,
        nft: false,
    };
    let leases = ipam::allocate(&ipam, &conf.name, &inv.container_id, ifname, &requested)?;
    undo.ips = leases.iter().map(|l| l.address.addr()).collect();
    // Recorded before plumbing, so a crash from here on leaves a record
    // naming the addresses to release.
    record.ips = undo.ips.clone();
    attachment::save(&dir, &record)?;
    let container = Container {
        netns: &netns,
        netlink: &mut cnl,
        mac,
    };
    let result = plumb(&mut undo, &mut nl, &leases, container)?;
    undo.disarm();
    Ok(result)
}

/// The container's side of an ADD: its namespace, a netlink socket inside
/// it, the MAC asked for.
struct Container<'a> {
    netns: &'a NetNs,
    netlink: &'a mut Netlink,
    mac: Option<[u8; 6]>,
}

/// Everything after the leases; `undo` (which also carries the invocation
/// and config) records each object made, for rollback. `nl` is a socket of
/// the host namespace.
fn plumb(
    undo: &mut Undo<'_>,
    nl: &mut Netlink,
    leases: &[Lease],
    container: Container<'_>,
) -> Result<AddResult, Error> {
    let (inv, conf, ipam) = (undo.inv, undo.conf, undo.ipam);
    let Container {
        netns,
        netlink: cnl,
        mac,
    } = container;
    let ifname = inv.ifname.as_str();
    let br = bridge::ensure(nl, conf.bridge_name(), conf.mtu, conf.promisc_mode)?;
    if conf.gateway_mode() {
        bridge::ensure_gateways(nl, &br, &gateway_nets(leases), conf.force_address)?;
        sysctl::enable_forwarding(
            leases.iter().any(|l| l.address.addr().is_ipv4()),
            leases.iter().any(|l| l.address.addr().is_ipv6()),
        )?;
    }

    let host = veth::host_name(&inv.container_id, ifname);
    let host_mac = veth::host_mac(&inv.container_id, ifname);
    veth::create(
        nl,
        &veth::VethSpec {
            host_name: &host,
            host_mac,
            bridge_index: br.index,
            mtu: conf.mtu,
            container_ifname: ifname,
            container_mac: mac,
            netns,
        },
    )?;
    undo.veth = Some(host.clone());
    if conf.hairpin_mode {
        veth::set_hairpin(nl, &host)?;
    }
    let routes = container_routes(conf, ipam, leases);
    let addresses: Vec<_> = leases.iter().map(|l| l.address).collect();
    let cif = container_if::configure(cnl, ifname, &addresses, &routes)?;

    let ips: Vec<IpAddr> = leases.iter().map(|l| l.address.addr()).collect();
    let ports = &conf.runtime_config.port_mappings;
    if conf.ip_masq || !ports.is_empty() {
        let nets = subnets(ipam);
        // The batch is atomic: on error nothing was added, nothing to undo.
        nft::Table::new(&conf.name, &br.name, &nets).add_attachment(&ips, conf.ip_masq, ports)?;
        undo.nft = true;
    }
    // Only now that the table (with its guard chain) is in place: route_localnet
    // on a bridge without the guard opens the host's localhost to every
    // container on it, even for a moment.
    if !ports.is_empty() && ips.iter().any(IpAddr::is_ipv4) {
        sysctl::enable_route_localnet(&br.name)?;
    }
    Ok(AddResult {
        interfaces: vec![
            Interface {
                name: br.name.clone(),
                mac: format_mac(&br.mac),
                sandbox: None,
            },
            Interface {
                name: host,
                mac: format_mac(&host_mac),
                sandbox: None,
            },
            Interface {
                name: ifname.to_string(),
                mac: format_mac(&cif.mac),
                sandbox: Some(inv.netns.clone()),
            },
        ],
        ips: leases
            .iter()
            .map(|l| IpConfig {
                address: l.address,
                gateway: Some(l.gateway),
                interface: Some(2),
            })
            .collect(),
        routes: routes
            .iter()
            .map(|r| Route {
                dst: r.dst,
                gw: r.gw,
            })
            .collect(),
        dns: conf.dns.clone(),
    })
}

/// The IPAM routes (a route without `gw` goes via the gateway of its family,
/// as in the reference plugins) plus, with isDefaultGateway, default routes.
fn container_routes(conf: &NetConf, ipam: &Ipam, leases: &[Lease]) -> Vec<RouteEntry> {
    let gw_for = |v4: bool| {
        leases
            .iter()
            .find(|l| l.address.addr().is_ipv4() == v4)
            .map(|l| l.gateway)
    };
    let mut out: Vec<RouteEntry> = ipam
        .routes
        .iter()
        .map(|r| RouteEntry {
            dst: r.dst,
            gw: r.gw.or_else(|| gw_for(r.dst.addr().is_ipv4())),
        })
        .collect();
    if conf.is_default_gateway {
        for l in leases {
            let dst = container_if::default_dst(l.gateway);
            if !out.iter().any(|r| r.dst == dst) {
                out.push(RouteEntry {
                    dst,
                    gw: Some(l.gateway),
                });
            }
        }
    }
    out
}

/// Rolls back a failed ADD: veth, nftables elements, leases, and the claim.
struct Undo<'a> {
    ipam: &'a Ipam,
    conf: &'a NetConf,
    inv: &'a Invocation,
    /// Where this ADD's claim is, until it succeeds.
    record_dir: Option<&'a Path>,
    ips: Vec<IpAddr>,
    veth: Option<String>,
    nft: bool,
}

impl Undo<'_> {
    fn disarm(mut self) {
        self.veth = None;
        self.nft = false;
        self.ips.clear();
        self.record_dir = None;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(host) = &self.veth {
            // Deleting the host end takes the container end with it.
            match Netlink::open().and_then(|mut nl| nl.delete_link(host)) {
                Ok(_) => {}
                Err(e) => tracing::warn!(host, error = %e, "rollback: deleting veth"),
            }
        }
        if self.nft {
            let nets = subnets(self.ipam);
            let t = nft::Table::new(&self.conf.name, self.conf.bridge_name(), &nets);
            let ports = &self.conf.runtime_config.port_mappings;
            if let Err(e) = t.remove_attachment(&self.ips, self.conf.ip_masq, ports) {
                tracing::warn!(error = %e, "rollback: removing nftables elements");
            }
        }
        if !self.ips.is_empty()
            && let Err(e) = ipam::release(
                self.ipam,
                &self.conf.name,
                &self.inv.container_id,
                &self.inv.ifname,
                Some(&self.ips),
            )
        {
            tracing::warn!(error = %e, "rollback: releasing leases");
        }
        // Last: the claim keeps the name this ADD's until its objects are gone.
        if let Some(dir) = self.record_dir
            && let Err(e) = attachment::remove(dir, &self.inv.container_id, &self.inv.ifname)
        {
            tracing::warn!(error = %e, "rollback: removing the attachment record");
        }
    }
}
