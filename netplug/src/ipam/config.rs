//! The `ipam` section (host-local format) and its validated form.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use crate::cni::error::Error;
use crate::ipam::range;

pub const DEFAULT_DATA_DIR: &str = "/var/lib/berth/cni/networks";

/// As written in the config: `ranges` (a list of range sets), or the legacy
/// single `subnet` form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpamConf {
    #[serde(rename = "type", default)]
    pub ipam_type: String,
    #[serde(default)]
    pub ranges: Vec<Vec<RangeConf>>,
    #[serde(default)]
    pub subnet: Option<String>,
    #[serde(default)]
    pub range_start: Option<String>,
    #[serde(default)]
    pub range_end: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub routes: Vec<RouteConf>,
    #[serde(default)]
    pub data_dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeConf {
    pub subnet: String,
    #[serde(default)]
    pub range_start: Option<String>,
    #[serde(default)]
    pub range_end: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RouteConf {
    pub dst: String,
    #[serde(default)]
    pub gw: Option<String>,
}

/// One range: allocate from `start..=end` inside `subnet`, never `gateway`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub subnet: IpNet,
    pub start: IpAddr,
    pub end: IpAddr,
    pub gateway: IpAddr,
}

impl Range {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let n = range::to_u128(ip);
        self.subnet.contains(&ip)
            && range::to_u128(self.start) <= n
            && n <= range::to_u128(self.end)
    }
}

/// Ranges of one family; an attachment gets one address per range set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet(pub Vec<Range>);

impl RangeSet {
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|r| r.subnet.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn range_of(&self, ip: IpAddr) -> Option<&Range> {
        self.0.iter().find(|r| r.contains(ip))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNet,
    pub gw: Option<IpAddr>,
}

/// The validated IPAM configuration.
#[derive(Debug, Clone)]
pub struct Ipam {
    pub range_sets: Vec<RangeSet>,
    pub routes: Vec<Route>,
    pub data_dir: PathBuf,
}

fn parse_ip(what: &str, s: &str) -> Result<IpAddr, Error> {
    s.parse()
        .map_err(|_| Error::InvalidConfig(format!("ipam: {what} {s:?} is not an IP address")))
}

impl IpamConf {
    pub fn validate(&self) -> Result<Ipam, Error> {
        if !matches!(self.ipam_type.as_str(), "berth-ipam" | "host-local" | "") {
            return Err(Error::InvalidConfig(format!(
                "ipam type {:?} is not supported (use berth-ipam or host-local)",
                self.ipam_type
            )));
        }
        let mut sets = self.ranges.clone();
        if let Some(subnet) = &self.subnet {
            sets.insert(
                0,
                vec![RangeConf {
                    subnet: subnet.clone(),
                    range_start: self.range_start.clone(),
                    range_end: self.range_end.clone(),
                    gateway: self.gateway.clone(),
                }],
            );
        }
        if sets.is_empty() || sets.iter().any(Vec::is_empty) {
            return Err(Error::InvalidConfig("ipam: no ranges given".into()));
        }
        let mut range_sets = Vec::with_capacity(sets.len());
        for set in &sets {
            let ranges = set
                .iter()
                .map(validate_range)
                .collect::<Result<Vec<_>, _>>()?;
            let v4 = ranges[0].subnet.addr().is_ipv4();
            if ranges.iter().any(|r| r.subnet.addr().is_ipv4() != v4) {
                return Err(Error::InvalidConfig(
                    "ipam: a range set mixes IPv4 and IPv6".into(),
                ));
            }
            for (i, a) in ranges.iter().enumerate() {
                for b in &ranges[i + 1..] {
                    if a.contains(b.start) || a.contains(b.end) || b.contains(a.start) {
                        return Err(Error::InvalidConfig(format!(
                            "ipam: ranges {} and {} overlap",
                            a.subnet, b.subnet
                        )));
                    }
                }
            }
            range_sets.push(RangeSet(ranges));
        }
        let routes = self
            .routes
            .iter()
            .map(|r| {
                Ok(Route {
                    dst: r.dst.parse().map_err(|_| {
                        Error::InvalidConfig(format!("ipam: route dst {:?} does not parse", r.dst))
                    })?,
                    gw: r
                        .gw
                        .as_deref()
                        .map(|g| parse_ip("route gw", g))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Ipam {
            range_sets,
            routes,
            data_dir: PathBuf::from(self.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR)),
        })
    }
}

fn validate_range(rc: &RangeConf) -> Result<Range, Error> {
    let subnet: IpNet = rc.subnet.parse().map_err(|_| {
        Error::InvalidConfig(format!("ipam: subnet {:?} does not parse", rc.subnet))
    })?;
    let subnet = subnet.trunc();
    let host_bits = u32::from(subnet.max_prefix_len() - subnet.prefix_len());
    if host_bits < 2 {
        return Err(Error::InvalidConfig(format!(
            "ipam: subnet {subnet} is too small"
        )));
    }
    let net = subnet.network();
    let first = range::add(net, 1);
    // IPv4 keeps the broadcast address out; IPv6 has none.
    let last = match subnet {
        IpNet::V4(_) => range::sub(subnet.broadcast(), 1),
        IpNet::V6(_) => subnet.broadcast(),
    };
    let in_subnet = |what: &str, ip: IpAddr| {
        if subnet.contains(&ip) {
            Ok(ip)
        } else {
            Err(Error::InvalidConfig(format!(
                "ipam: {what} {ip} is outside {subnet}"
            )))
        }
    };
    let start = match &rc.range_start {
        Some(s) => in_subnet("rangeStart", parse_ip("rangeStart", s)?)?,
        None => first,
    };
    let end = match &rc.range_end {
        Some(s) => in_subnet("rangeEnd", parse_ip("rangeEnd", s)?)?,
        None => last,
    };
    if range::to_u128(start) > range::to_u128(end) {
        return Err(Error::InvalidConfig(format!(
            "ipam: rangeStart {start} is after rangeEnd {end}"
        )));
    }
    let gateway = match &rc.gateway {
        Some(g) => in_subnet("gateway", parse_ip("gateway", g)?)?,
        None => first,
    };
    Ok(Range {
        subnet,
        start,
        end,
        gateway,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(json: &str) -> Result<Ipam, Error> {
        let c: IpamConf = serde_json::from_str(json).map_err(|source| Error::Decode {
            what: "test",
            source,
        })?;
        c.validate()
    }

    #[test]
    fn defaults_follow_host_local() -> Result<(), Error> {
        let ipam = conf(r#"{"type":"berth-ipam","subnet":"10.5.0.0/24"}"#)?;
        let r = &ipam.range_sets[0].0[0];
        assert_eq!(r.start.to_string(), "10.5.0.1");
        assert_eq!(r.end.to_string(), "10.5.0.254");
        assert_eq!(r.gateway.to_string(), "10.5.0.1");
        Ok(())
    }

    #[test]
    fn unparseable_subnet_is_invalid_config() {
        let e = conf(r#"{"ranges":[[{"subnet":"10.5.0.0/33"}]]}"#).err();
        assert!(matches!(e, Some(Error::InvalidConfig(_))), "{e:?}");
    }

    #[test]
    fn dual_stack_sets_and_mixed_set_refused() {
        assert!(
            conf(r#"{"ranges":[[{"subnet":"10.5.0.0/24"}],[{"subnet":"fd00:5::/64"}]]}"#).is_ok()
        );
        assert!(
            conf(r#"{"ranges":[[{"subnet":"10.5.0.0/24"},{"subnet":"fd00:5::/64"}]]}"#).is_err()
        );
    }
}
