//! The CNI commands, one file each, and [`run`], which dispatches an
//! invocation to them.

pub mod add;
pub mod check;
pub mod del;
pub mod gc;
pub mod status;

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use crate::cni::config::NetConf;
use crate::cni::error::Error;
use crate::cni::invocation::{Command, Invocation};
use crate::cni::version::{self, Version};
use crate::ipam::{Ipam, Lease};

/// What the binary prints on success.
#[derive(Debug)]
pub enum Outcome {
    /// A JSON document for stdout (ADD result, VERSION reply).
    Print(serde_json::Value),
    /// Nothing on stdout (DEL, CHECK, GC, STATUS).
    Silent,
}

/// Runs one invocation with the config bytes from stdin.
pub fn run(inv: &Invocation, stdin: &[u8]) -> Result<Outcome, Error> {
    // VERSION must answer whatever the config says, even nothing.
    let conf = match inv.command {
        Command::Version => {
            let requested = serde_json::from_slice::<serde_json::Value>(stdin)
                .ok()
                .and_then(|v| v.get("cniVersion")?.as_str().map(String::from));
            return Ok(Outcome::Print(version::version_reply(requested.as_deref())));
        }
        _ => NetConf::parse(stdin)?,
    };
    let needs_1_1 = |verb: &str| {
        if conf.version() < Version::V1_1_0 {
            Err(Error::IncompatibleVersion(format!(
                "{verb} needs cniVersion 1.1.0, got {}",
                conf.cni_version
            )))
        } else {
            Ok(())
        }
    };
    match inv.command {
        Command::Add => add::add(inv, &conf).map(|r| Outcome::Print(r.to_json(conf.version()))),
        Command::Del => del::del(inv, &conf).map(|()| Outcome::Silent),
        Command::Check => check::check(inv, &conf).map(|()| Outcome::Silent),
        Command::Gc => needs_1_1("GC")
            .and_then(|()| gc::gc(&conf))
            .map(|()| Outcome::Silent),
        Command::Status => needs_1_1("STATUS")
            .and_then(|()| status::status(&conf))
            .map(|()| Outcome::Silent),
        // Answered above; kept total so no arm can panic.
        Command::Version => Ok(Outcome::Silent),
    }
}

/// The validated `ipam` section; required by every verb but VERSION.
pub(crate) fn ipam_of(conf: &NetConf) -> Result<Ipam, Error> {
    conf.ipam
        .as_ref()
        .ok_or_else(|| Error::InvalidConfig("missing ipam section".into()))?
        .validate()
}

/// `<dataDir>/<network>`: leases and attachment records.
pub(crate) fn network_dir(ipam: &Ipam, conf: &NetConf) -> PathBuf {
    ipam.data_dir.join(&conf.name)
}

/// Gateways on the bridge: each lease's gateway with its subnet's prefix.
pub(crate) fn gateway_nets(leases: &[Lease]) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = Vec::new();
    for l in leases {
        if let Ok(n) = IpNet::new(l.gateway, l.address.prefix_len())
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// Every subnet of the network (for nftables).
pub(crate) fn subnets(ipam: &Ipam) -> Vec<IpNet> {
    ipam.range_sets
        .iter()
        .flat_map(|s| s.0.iter().map(|r| r.subnet))
        .collect()
}

/// Parses "10.1.0.5" or "10.1.0.5/24".
pub(crate) fn parse_requested(s: &str) -> Result<IpAddr, Error> {
    let addr = s.split('/').next().unwrap_or(s);
    addr.parse()
        .map_err(|_| Error::InvalidConfig(format!("requested IP {s:?} does not parse")))
}
