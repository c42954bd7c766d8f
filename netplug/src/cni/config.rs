//! The network configuration on stdin: one plugin entry of a conflist, with
//! the runtime's additions (`runtimeConfig`, `prevResult`, `args`).

use std::net::IpAddr;

use serde::Deserialize;

use crate::cni::error::Error;
use crate::cni::version::Version;
use crate::ipam::config::IpamConf;

pub const DEFAULT_BRIDGE: &str = "berth0";

/// The plugin's configuration (a superset of the reference `bridge` plugin's).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetConf {
    pub cni_version: String,
    pub name: String,
    #[serde(rename = "type", default)]
    pub plugin_type: String,
    #[serde(default)]
    pub bridge: Option<String>,
    #[serde(default)]
    pub is_gateway: bool,
    #[serde(default)]
    pub is_default_gateway: bool,
    #[serde(default)]
    pub force_address: bool,
    #[serde(default)]
    pub ip_masq: bool,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub hairpin_mode: bool,
    #[serde(default)]
    pub promisc_mode: bool,
    pub ipam: Option<IpamConf>,
    #[serde(default)]
    pub dns: Option<serde_json::Value>,
    #[serde(default)]
    pub runtime_config: RuntimeConfig,
    #[serde(default)]
    pub args: Option<ConfArgs>,
    #[serde(default)]
    pub prev_result: Option<serde_json::Value>,
    /// GC: the attachments the runtime still uses.
    #[serde(rename = "cni.dev/valid-attachments", default)]
    pub valid_attachments: Option<Vec<ValidAttachment>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub mac: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub host_port: u16,
    pub container_port: u16,
    #[serde(default = "default_protocol")]
    pub protocol: String,
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

fn default_protocol() -> String {
    "tcp".into()
}

/// `args` in the config (CONVENTIONS.md): `{"cni": {"ips": [...], "mac": ...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfArgs {
    #[serde(default)]
    pub cni: Option<CniArgs>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CniArgs {
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub mac: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidAttachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

impl NetConf {
    /// Parses stdin; refuses an unknown `cniVersion` before anything else.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let conf: Self = serde_json::from_slice(bytes).map_err(|source| Error::Decode {
            what: "network config",
            source,
        })?;
        Version::parse(&conf.cni_version)?;
        conf.validate()?;
        Ok(conf)
    }

    pub fn version(&self) -> Version {
        // parse() checked it; a config built in process falls back to latest.
        Version::parse(&self.cni_version).unwrap_or(Version::V1_1_0)
    }

    pub fn bridge_name(&self) -> &str {
        self.bridge.as_deref().unwrap_or(DEFAULT_BRIDGE)
    }

    /// The reference plugin treats isDefaultGateway as implying isGateway.
    pub fn gateway_mode(&self) -> bool {
        self.is_gateway || self.is_default_gateway
    }

    fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(Error::InvalidConfig(format!(
                "network name {:?} must be non-empty alphanumeric with _ . -",
                self.name
            )));
        }
        crate::cni::invocation::validate_ifname(self.bridge_name()).map_err(|_| {
            Error::InvalidConfig(format!("bad bridge name {:?}", self.bridge_name()))
        })?;
        if let Some(mtu) = self.mtu
            && !(68..=65535).contains(&mtu)
        {
            return Err(Error::InvalidConfig(format!("mtu {mtu} out of range")));
        }
        for pm in &self.runtime_config.port_mappings {
            if !matches!(pm.protocol.as_str(), "tcp" | "udp" | "sctp") {
                return Err(Error::InvalidConfig(format!(
                    "port mapping protocol {:?} is not tcp, udp or sctp",
                    pm.protocol
                )));
            }
            if pm.host_port == 0 || pm.container_port == 0 {
                return Err(Error::InvalidConfig("port mapping with port 0".into()));
            }
            if let Some(ip) = &pm.host_ip
                && !ip.is_empty()
                && ip.parse::<IpAddr>().is_err()
            {
                return Err(Error::InvalidConfig(format!(
                    "hostIP {ip:?} does not parse"
                )));
            }
        }
        Ok(())
    }

    /// Addresses the runtime asks for: runtimeConfig.ips, then args.cni.ips.
    pub fn requested_ips(&self) -> Vec<String> {
        let mut ips = self.runtime_config.ips.clone();
        if let Some(cni) = self.args.as_ref().and_then(|a| a.cni.as_ref()) {
            ips.extend(cni.ips.iter().cloned());
        }
        ips
    }

    pub fn requested_mac(&self) -> Option<&str> {
        self.runtime_config.mac.as_deref().or_else(|| {
            self.args
                .as_ref()
                .and_then(|a| a.cni.as_ref())
                .and_then(|c| c.mac.as_deref())
        })
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6], Error> {
    let bad = || Error::InvalidConfig(format!("MAC address {s:?} does not parse"));
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next().ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(out)
}

pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
