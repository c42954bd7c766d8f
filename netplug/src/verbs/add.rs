//! ADD: lease addresses, plumb bridge and veth, configure the container side,
//! add masquerade and port mappings, record what was done.

use std::net::IpAddr;

use crate::addr::RouteEntry;
use crate::attachment::{self, Record};
use crate::cni::config::{NetConf, format_mac, parse_mac};
use crate::cni::error::Error;
use crate::cni::invocation::Invocation;
use crate::cni::result::{AddResult, Interface, IpConfig, Route};
use crate::ipam::{self, Ipam, Lease};
use crate::netlink::Netlink;
use crate::netns::NetNs;
use crate::verbs::{gateway_nets, ipam_of, network_dir, parse_requested, subnets};
use crate::{bridge, container_if, nft, sysctl, veth};

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

    let leases = ipam::allocate(&ipam, &conf.name, &inv.container_id, ifname, &requested)?;
    let mut undo = Undo {
        ipam: &ipam,
        conf,
        inv,
        leases: &leases,
        veth: None,
        nft: false,
    };
    let container = Container {
        netns: &netns,
        netlink: &mut cnl,
        mac,
    };
    let result = plumb(&mut undo, container)?;
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

/// Everything after the leases; `undo` (which also carries the invocation,
/// config and leases) records each object made, for rollback.
fn plumb(undo: &mut Undo<'_>, container: Container<'_>) -> Result<AddResult, Error> {
    let (inv, conf, ipam, leases) = (undo.inv, undo.conf, undo.ipam, undo.leases);
    let Container {
        netns,
        netlink: cnl,
        mac,
    } = container;
    let ifname = inv.ifname.as_str();
    let mut nl = Netlink::open().map_err(|e| Error::netlink("opening netlink", e))?;
    let br = bridge::ensure(&mut nl, conf.bridge_name(), conf.mtu, conf.promisc_mode)?;
    if conf.gateway_mode() {
        bridge::ensure_gateways(&mut nl, &br, &gateway_nets(leases), conf.force_address)?;
        sysctl::enable_forwarding(
            leases.iter().any(|l| l.address.addr().is_ipv4()),
            leases.iter().any(|l| l.address.addr().is_ipv6()),
        )?;
    }

    let host = veth::host_name(&inv.container_id, ifname);
    let host_mac = veth::host_mac(&inv.container_id, ifname);
    veth::create(
        &mut nl,
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
        veth::set_hairpin(&mut nl, &host)?;
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
    attachment::save(
        &network_dir(ipam, conf),
        &Record {
            container_id: inv.container_id.clone(),
            ifname: ifname.to_string(),
            host_veth: host.clone(),
            bridge: br.name.clone(),
            ips,
            ip_masq: conf.ip_masq,
            port_mappings: ports.clone(),
        },
    )?;

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

/// Rolls back a failed ADD: veth, nftables elements, leases.
struct Undo<'a> {
    ipam: &'a Ipam,
    conf: &'a NetConf,
    inv: &'a Invocation,
    leases: &'a [Lease],
    veth: Option<String>,
    nft: bool,
}

impl Undo<'_> {
    fn disarm(mut self) {
        self.veth = None;
        self.nft = false;
        self.leases = &[];
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
        let ips: Vec<IpAddr> = self.leases.iter().map(|l| l.address.addr()).collect();
        if self.nft {
            let nets = subnets(self.ipam);
            let t = nft::Table::new(&self.conf.name, self.conf.bridge_name(), &nets);
            let ports = &self.conf.runtime_config.port_mappings;
            if let Err(e) = t.remove_attachment(&ips, self.conf.ip_masq, ports) {
                tracing::warn!(error = %e, "rollback: removing nftables elements");
            }
        }
        if !ips.is_empty()
            && let Err(e) = ipam::release(
                self.ipam,
                &self.conf.name,
                &self.inv.container_id,
                &self.inv.ifname,
                Some(&ips),
            )
        {
            tracing::warn!(error = %e, "rollback: releasing leases");
        }
    }
}
