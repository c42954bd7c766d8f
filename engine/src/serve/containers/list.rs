//! `GET /containers/json?all=&limit=&filters=`: `ops::list::list` in docker's summary
//! shape, with the filters docker's CLI sends most (status, name, id, label, ancestor).

use std::collections::HashMap;

use bollard_stubs::models::{
    ContainerSummaryInner, ContainerSummaryInnerHostConfig, ContainerSummaryInnerNetworkSettings,
    Port, PortTypeEnum,
};
use hyper::{Response, StatusCode};

use crate::network::ports::{PortMapping, Protocol};
use crate::ops::display::status_text;
use crate::ops::list::{ContainerSummary, ListOptions};
use crate::serve::Ctx;
use crate::serve::error::ApiResult;
use crate::serve::http::{Body, Query, json};

pub async fn list(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    let filters = Filters::parse(q)?;
    let limit = q.int("limit")?.filter(|n| *n > 0).map(|n| n as usize);
    let opts = ListOptions {
        all: q.flag("all"),
        last: limit,
        latest: false,
    };
    let paths = ctx.paths.clone();
    let found = crate::serve::blocking(move || Ok(crate::ops::list::list(&paths, opts)?)).await?;
    let out: Vec<ContainerSummaryInner> = found
        .iter()
        .filter(|c| filters.matches(c))
        .map(summary)
        .collect();
    Ok(json(StatusCode::OK, &out))
}

fn summary(c: &ContainerSummary) -> ContainerSummaryInner {
    let r = &c.record;
    let network = if r.host.network.is_empty() {
        "bridge".to_string()
    } else {
        r.host.network.clone()
    };
    ContainerSummaryInner {
        id: Some(r.id.clone()),
        names: Some(vec![format!("/{}", r.name)]),
        image: Some(r.image.clone()),
        image_id: Some(r.image_id.clone()),
        command: Some(r.process.args().join(" ")),
        created: Some(r.created.unix_seconds() as i64),
        ports: Some(ports(r)),
        labels: Some(r.process.labels.clone().into_iter().collect()),
        state: Some(c.state.status.as_str().to_string()),
        status: Some(status_text(&c.state)),
        host_config: Some(ContainerSummaryInnerHostConfig {
            network_mode: Some(network),
        }),
        network_settings: Some(ContainerSummaryInnerNetworkSettings {
            networks: Some(HashMap::new()),
        }),
        mounts: Some(Vec::new()),
        size_rw: None,
        size_root_fs: None,
    }
}

/// The published ports of the container's network attachment, as `ps` shows them.
fn ports(r: &crate::container::ContainerRecord) -> Vec<Port> {
    let mappings: Vec<PortMapping> = r
        .network_attachment
        .as_ref()
        .and_then(|a| a.get("ports"))
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .unwrap_or_default();
    mappings
        .into_iter()
        .map(|m| Port {
            ip: Some(
                m.host_ip
                    .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string()),
            ),
            private_port: i64::from(m.container_port),
            public_port: Some(i64::from(m.host_port)),
            typ: Some(match m.protocol {
                Protocol::Tcp => PortTypeEnum::TCP,
                Protocol::Udp => PortTypeEnum::UDP,
            }),
        })
        .collect()
}

/// `filters={"status":["running"],"name":["web"],...}`.
#[derive(Debug, Default)]
struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    fn parse(q: &Query) -> ApiResult<Self> {
        let f = crate::serve::filters::parse(q)?;
        crate::serve::filters::only(
            &f,
            &["status", "name", "id", "label", "ancestor"],
            "containers",
        )?;
        Ok(Self(f))
    }

    fn matches(&self, c: &ContainerSummary) -> bool {
        let r = &c.record;
        self.0.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "status" => c.state.status.as_str() == v,
                "name" => r.name.contains(v.trim_start_matches('/')),
                "id" => r.id.starts_with(v.as_str()),
                "ancestor" => r.image == *v || r.image_id.starts_with(v.as_str()),
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => r.process.labels.get(lk).is_some_and(|x| x == lv),
                    None => r.process.labels.contains_key(v.as_str()),
                },
                _ => false,
            })
        })
    }
}
