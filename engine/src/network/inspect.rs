//! `network inspect`'s document, in docker's shape (the Docker API's `Network` object),
//! for the CLI and the API server alike.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::network::endpoints;
use crate::network::error::NetworkError;
use crate::network::store::{Network, NetworkStore};

/// docker's `network inspect` object of `net`, with the containers attached to it now.
pub fn inspect(store: &NetworkStore, net: &Network) -> Result<NetworkDoc, NetworkError> {
    let mut containers = Map::new();
    for ep in endpoints::list(store, net)? {
        containers.insert(
            ep.id.clone(),
            json!({
                "Name": ep.name,
                "EndpointID": "",
                "MacAddress": ep.mac.unwrap_or_default(),
                "IPv4Address": format!("{}/{}", ep.ip, net.subnet.prefix_len()),
                "IPv6Address": "",
            }),
        );
    }
    Ok(NetworkDoc {
        name: net.name.clone(),
        id: net.id.clone(),
        created: net.created.to_string(),
        scope: "local".into(),
        driver: net.driver.clone(),
        enable_ipv6: false,
        ipam: json!({
            "Driver": "default",
            "Options": {},
            "Config": [{"Subnet": net.subnet.to_string(), "Gateway": net.gateway.to_string()}],
        }),
        internal: false,
        attachable: false,
        ingress: false,
        config_from: json!({"Network": ""}),
        config_only: false,
        containers,
        options: json!({
            "com.docker.network.bridge.name": net.bridge,
            "com.docker.network.bridge.enable_ip_masquerade": "true",
        }),
        labels: json!({}),
    })
}

/// The document, serialized in docker's field order (a struct keeps it; a JSON map
/// would sort the keys).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkDoc {
    pub name: String,
    pub id: String,
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Value,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub config_from: Value,
    pub config_only: bool,
    pub containers: Map<String, Value>,
    pub options: Value,
    pub labels: Value,
}
