//! The ADD result, rendered in the version the runtime asked for, and read
//! back from `prevResult` for CHECK.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::cni::error::Error;
use crate::cni::version::Version;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    /// The netns path for interfaces inside the container.
    pub sandbox: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    pub address: IpNet,
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    pub interface: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNet,
    pub gw: Option<IpAddr>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddResult {
    pub interfaces: Vec<Interface>,
    pub ips: Vec<IpConfig>,
    pub routes: Vec<Route>,
    pub dns: Option<Value>,
}

impl AddResult {
    /// 0.4.0 carries `"version"` on each IP; 1.x dropped it.
    pub fn to_json(&self, version: Version) -> Value {
        let interfaces: Vec<Value> = self
            .interfaces
            .iter()
            .map(|i| {
                let mut o = Map::new();
                o.insert("name".into(), json!(i.name));
                o.insert("mac".into(), json!(i.mac));
                if let Some(s) = &i.sandbox {
                    o.insert("sandbox".into(), json!(s));
                }
                Value::Object(o)
            })
            .collect();
        let ips: Vec<Value> = self
            .ips
            .iter()
            .map(|ip| {
                let mut o = Map::new();
                if version == Version::V0_4_0 {
                    let v = if ip.address.addr().is_ipv4() {
                        "4"
                    } else {
                        "6"
                    };
                    o.insert("version".into(), json!(v));
                }
                o.insert("address".into(), json!(ip.address.to_string()));
                if let Some(gw) = ip.gateway {
                    o.insert("gateway".into(), json!(gw.to_string()));
                }
                if let Some(i) = ip.interface {
                    o.insert("interface".into(), json!(i));
                }
                Value::Object(o)
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("dst".into(), json!(r.dst.to_string()));
                if let Some(gw) = r.gw {
                    o.insert("gw".into(), json!(gw.to_string()));
                }
                Value::Object(o)
            })
            .collect();
        json!({
            "cniVersion": version.as_str(),
            "interfaces": interfaces,
            "ips": ips,
            "routes": routes,
            "dns": self.dns.clone().unwrap_or_else(|| json!({})),
        })
    }

    /// Reads a result of any supported version (prevResult for CHECK).
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let bad = |what: &str| Error::InvalidConfig(format!("prevResult: {what}"));
        let str_of = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let mut out = AddResult::default();
        for i in v
            .get("interfaces")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.interfaces.push(Interface {
                name: str_of(i, "name").ok_or_else(|| bad("interface without name"))?,
                mac: str_of(i, "mac").unwrap_or_default(),
                sandbox: str_of(i, "sandbox").filter(|s| !s.is_empty()),
            });
        }
        for ip in v.get("ips").and_then(Value::as_array).into_iter().flatten() {
            let address = str_of(ip, "address")
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| bad("ip without a valid address"))?;
            out.ips.push(IpConfig {
                address,
                gateway: str_of(ip, "gateway").and_then(|g| g.parse().ok()),
                interface: ip
                    .get("interface")
                    .and_then(Value::as_u64)
                    .map(|i| i as usize),
            });
        }
        for r in v
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.routes.push(Route {
                dst: str_of(r, "dst")
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| bad("route without a valid dst"))?,
                gw: str_of(r, "gw").and_then(|g| g.parse().ok()),
            });
        }
        out.dns = v.get("dns").cloned();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v040_has_ip_versions_and_round_trips() -> Result<(), Error> {
        let r = AddResult {
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: "02:00:00:00:00:01".into(),
                sandbox: Some("/run/netns/x".into()),
            }],
            ips: vec![IpConfig {
                address: "10.1.0.2/24"
                    .parse()
                    .map_err(|_| Error::InvalidConfig("t".into()))?,
                gateway: "10.1.0.1".parse().ok(),
                interface: Some(0),
            }],
            routes: vec![],
            dns: None,
        };
        let v = r.to_json(Version::V0_4_0);
        assert_eq!(v["ips"][0]["version"], "4");
        assert!(
            r.to_json(Version::V1_1_0)["ips"][0]
                .get("version")
                .is_none()
        );
        let back = AddResult::from_json(&v)?;
        assert_eq!(back.ips, r.ips);
        Ok(())
    }
}
