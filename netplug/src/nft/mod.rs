//! Masquerade and port mappings in nftables, one `inet` table per network.
//!
//! The table's rules never change per container: they match against sets and
//! maps (`masq4`, `ports4`, ...), and ADD/DEL only add or delete elements.
//! The table is created once per network by `nft -f -` (readable rules, one
//! transaction); elements then go over nfnetlink directly (`nft/wire.rs`), so an
//! ADD or DEL spawns no process.

mod wire;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use ipnet::IpNet;

use crate::cni::config::PortMapping;
use crate::cni::error::Error;
use wire::{Element, Nfnl};

/// An element as `nft` writes it (for CHECK) and as it goes on the wire.
struct Entry {
    text: String,
    wire: Element,
}

/// The chain that drops what arrives from the bridge for or from 127.0.0.0/8
/// (the guard that makes the bridge's route_localnet safe); the last chain a
/// berth version added, so its presence says the table's rules are current.
const GUARD_CHAIN: &str = "localnet";

/// The nftables table of one network.
pub struct Table<'a> {
    pub name: String,
    pub bridge: &'a str,
    pub subnets: &'a [IpNet],
}

/// `berth_<network>`; nft identifiers allow only letters, digits and `_`.
pub fn table_name(network: &str) -> String {
    let clean: String = network
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("berth_{clean}")
}

impl<'a> Table<'a> {
    pub fn new(network: &str, bridge: &'a str, subnets: &'a [IpNet]) -> Self {
        Self {
            name: table_name(network),
            bridge,
            subnets,
        }
    }

    /// Table, sets and maps; `add` of an existing one is a no-op.
    fn declare(&self, b: &mut String) {
        let t = &self.name;
        let _ = writeln!(b, "add table inet {t}");
        let _ = writeln!(b, "add set inet {t} masq4 {{ type ipv4_addr; }}");
        let _ = writeln!(b, "add set inet {t} masq6 {{ type ipv6_addr; }}");
        for (fam, ty) in [("4", "ipv4_addr"), ("6", "ipv6_addr")] {
            let _ = writeln!(
                b,
                "add map inet {t} ports{fam} {{ type inet_proto . inet_service : {ty} . inet_service; }}"
            );
            let _ = writeln!(
                b,
                "add map inet {t} hports{fam} {{ type {ty} . inet_proto . inet_service : {ty} . inet_service; }}"
            );
        }
    }

    /// Chains and rules, flushed and rewritten whole in the setup batch, so
    /// two first ADDs racing to set the table up converge on one copy
    /// instead of appending duplicates.
    fn rules(&self, b: &mut String) {
        let t = &self.name;
        let _ = writeln!(
            b,
            "add chain inet {t} prerouting {{ type nat hook prerouting priority dstnat; }}"
        );
        let _ = writeln!(
            b,
            "add chain inet {t} output {{ type nat hook output priority -100; }}"
        );
        let _ = writeln!(
            b,
            "add chain inet {t} postrouting {{ type nat hook postrouting priority srcnat; }}"
        );
        // Before conntrack and nat (raw priority), for the localhost guard below.
        let _ = writeln!(
            b,
            "add chain inet {t} {GUARD_CHAIN} {{ type filter hook prerouting priority raw; }}"
        );
        for chain in ["prerouting", "output", "postrouting", GUARD_CHAIN] {
            let _ = writeln!(b, "flush chain inet {t} {chain}");
        }
        for chain in ["prerouting", "output"] {
            for (ip, fam) in [("ip", "4"), ("ip6", "6")] {
                let _ = writeln!(
                    b,
                    "add rule inet {t} {chain} fib daddr type local dnat {ip} to {ip} daddr . meta l4proto . th dport map @hports{fam}"
                );
                let _ = writeln!(
                    b,
                    "add rule inet {t} {chain} fib daddr type local dnat {ip} to meta l4proto . th dport map @ports{fam}"
                );
            }
        }
        let br = self.bridge;
        for (ip, fam, mcast) in [("ip", true, "224.0.0.0/4"), ("ip6", false, "ff00::/8")] {
            let nets: Vec<String> = self
                .subnets
                .iter()
                .filter(|n| n.addr().is_ipv4() == fam)
                .map(ToString::to_string)
                .collect();
            if nets.is_empty() {
                continue;
            }
            let nets = nets.join(", ");
            let set = if fam { "masq4" } else { "masq6" };
            let _ = writeln!(
                b,
                "add rule inet {t} postrouting {ip} saddr @{set} {ip} daddr != {{ {nets}, {mcast} }} masquerade"
            );
            // A container reaching a sibling through a host port: without
            // this the sibling would answer directly over the bridge.
            let _ = writeln!(
                b,
                "add rule inet {t} postrouting ct status dnat {ip} saddr {{ {nets} }} oifname \"{br}\" masquerade"
            );
            if fam {
                // The host reaching a mapped port at 127.0.0.1 (`-p 127.0.0.1:8080:80`,
                // then `curl localhost:8080`): the output chain's DNAT sends a packet
                // from 127.0.0.1 to the bridge, which route_localnet on the bridge lets
                // through (sysctl::enable_route_localnet) and this gives the bridge's
                // own address, so the container's answer comes back.
                let _ = writeln!(
                    b,
                    "add rule inet {t} postrouting oifname \"{br}\" ip saddr 127.0.0.0/8 masquerade"
                );
                // route_localnet would also let a container reach the host's
                // localhost-only services by sending to 127.0.0.1 over the bridge
                // (CVE-2020-8558, kube-proxy's), and pass a packet from a loopback
                // source the kernel otherwise drops as martian (a UDP datagram
                // "from 127.0.0.2" to a host service that trusts localhost):
                // nothing from the bridge may be for or from 127.0.0.0/8. Replies to
                // the host's own connections arrive from the container's address to
                // the bridge's (masqueraded above); this runs before conntrack undoes
                // that, so they pass.
                for dir in ["daddr", "saddr"] {
                    let _ = writeln!(
                        b,
                        "add rule inet {t} {GUARD_CHAIN} iifname \"{br}\" ip {dir} 127.0.0.0/8 drop"
                    );
                }
            }
        }
    }

    /// The elements of one attachment.
    fn entries(ips: &[IpAddr], masq: bool, ports: &[PortMapping]) -> Vec<Entry> {
        let mut out = Vec::new();
        for ip in ips {
            let fam = if ip.is_ipv4() { "4" } else { "6" };
            if masq {
                let mut key = Vec::new();
                wire::ip_field(&mut key, *ip);
                out.push(Entry {
                    text: format!("masq{fam} {{ {ip} }}"),
                    wire: Element {
                        set: format!("masq{fam}"),
                        key,
                        data: None,
                    },
                });
            }
            for pm in ports {
                let proto = &pm.protocol;
                let (hp, cp) = (pm.host_port, pm.container_port);
                let host_ip = pm
                    .host_ip
                    .as_deref()
                    .and_then(|h| h.parse::<IpAddr>().ok())
                    .filter(|h| !h.is_unspecified());
                let mut key = Vec::new();
                let (set, text) = match host_ip {
                    Some(h) if h.is_ipv4() == ip.is_ipv4() => {
                        wire::ip_field(&mut key, h);
                        (
                            format!("hports{fam}"),
                            format!("hports{fam} {{ {h} . {proto} . {hp} : {ip} . {cp} }}"),
                        )
                    }
                    // A host IP of the other family does not apply to this address.
                    Some(_) => continue,
                    None => (
                        format!("ports{fam}"),
                        format!("ports{fam} {{ {proto} . {hp} : {ip} . {cp} }}"),
                    ),
                };
                wire::field(&mut key, &[wire::proto_number(proto)]);
                wire::field(&mut key, &hp.to_be_bytes());
                let mut data = Vec::new();
                wire::ip_field(&mut data, *ip);
                wire::field(&mut data, &cp.to_be_bytes());
                out.push(Entry {
                    text,
                    wire: Element {
                        set,
                        key,
                        data: Some(data),
                    },
                });
            }
        }
        out
    }

    /// Creates the table with its sets, maps, chains and rules (through
    /// `nft -f`, once per network: later ADDs find its guard chain and skip this).
    fn setup(&self) -> Result<(), Error> {
        let mut b = String::new();
        self.declare(&mut b);
        self.rules(&mut b);
        run(&b).map_err(Error::Nft)
    }

    /// Adds the attachment's masquerade and port mapping elements, in one
    /// atomic nfnetlink batch.
    pub fn add_attachment(
        &self,
        ips: &[IpAddr],
        masq: bool,
        ports: &[PortMapping],
    ) -> Result<(), Error> {
        let wire: Vec<Element> = Self::entries(ips, masq, ports)
            .into_iter()
            .map(|e| e.wire)
            .collect();
        let nl_err = |e: std::io::Error| Error::netlink(format!("nftables table {}", self.name), e);
        let mut nf = Nfnl::open().map_err(nl_err)?;
        // The guard chain, not just the table: a table set up by a berth that
        // predates the guard is rewritten before route_localnet can be enabled on
        // its bridge (setup flushes and rewrites every chain, so this converges).
        if !nf.chain_exists(&self.name, GUARD_CHAIN).map_err(nl_err)? {
            self.setup()?;
        }
        let mut result = nf.elements(&self.name, &wire, true);
        if result
            .as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENOENT))
        {
            // The table went away between the check and the batch (a
            // concurrent teardown): set it up again and retry once.
            self.setup()?;
            result = Nfnl::open().and_then(|mut nf| nf.elements(&self.name, &wire, true));
        }
        result.map_err(|e| {
            if e.raw_os_error() == Some(libc::EEXIST) {
                let list: Vec<String> = ports
                    .iter()
                    .map(|p| format!("{}/{}", p.protocol, p.host_port))
                    .collect();
                Error::InUse(format!("a host port among {}", list.join(", ")))
            } else {
                nl_err(e)
            }
        })
    }

    /// Removes the attachment's elements; succeeds when they are gone already.
    pub fn remove_attachment(
        &self,
        ips: &[IpAddr],
        masq: bool,
        ports: &[PortMapping],
    ) -> Result<(), Error> {
        let wire: Vec<Element> = Self::entries(ips, masq, ports)
            .into_iter()
            .map(|e| e.wire)
            .collect();
        if wire.is_empty() {
            return Ok(());
        }
        let nl_err = |e: std::io::Error| Error::netlink(format!("nftables table {}", self.name), e);
        let gone = |e: &std::io::Error| e.raw_os_error() == Some(libc::ENOENT);
        match Nfnl::open().and_then(|mut nf| nf.elements(&self.name, &wire, false)) {
            Ok(()) => Ok(()),
            // Some element (or the table) is gone already: delete the rest
            // one by one, each in its own batch, so one miss does not abort
            // the others.
            Err(e) if gone(&e) => {
                for el in &wire {
                    match Nfnl::open()
                        .and_then(|mut nf| nf.elements(&self.name, std::slice::from_ref(el), false))
                    {
                        Ok(()) => {}
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(nl_err(e)),
                    }
                }
                Ok(())
            }
            Err(e) => Err(nl_err(e)),
        }
    }

    /// Whether every element of the attachment is present.
    pub fn check_attachment(
        &self,
        ips: &[IpAddr],
        masq: bool,
        ports: &[PortMapping],
    ) -> Result<(), Error> {
        for e in Self::entries(ips, masq, ports).into_iter().map(|e| e.text) {
            // Maps are queried by key only.
            let key = e.split(" : ").next().unwrap_or(&e);
            let key = if key.ends_with('}') {
                key.to_string()
            } else {
                format!("{key} }}")
            };
            let out = Command::new("nft")
                .arg(format!("get element inet {} {key}", self.name))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| Error::io("running nft", e))?;
            if !out.success() {
                return Err(Error::CheckFailed(format!(
                    "nftables element {e} missing in table {}",
                    self.name
                )));
            }
        }
        Ok(())
    }
}

/// Deletes the network's table (network removal, tests).
pub fn delete_table(network: &str) -> Result<(), Error> {
    let t = table_name(network);
    // add-then-delete: no error when the table is already gone.
    run(&format!("add table inet {t}\ndelete table inet {t}\n")).map_err(Error::Nft)
}

/// Feeds one batch to `nft -f -`; the batch is a single transaction.
fn run(batch: &str) -> Result<(), String> {
    tracing::debug!(batch, "nft");
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(batch.as_bytes())
            .map_err(|e| format!("writing to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
