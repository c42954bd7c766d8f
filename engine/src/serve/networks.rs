//! The `/networks` and `/volumes` endpoints over the engine's network and volume stores
//! (`crate::network`, `crate::volume`), in docker's shapes (the engine's own inspect
//! documents).

use std::collections::BTreeMap;

use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::http::{Body, MAX_JSON_BODY, Query, decode_json, empty, json, read_body};
use super::{Ctx, blocking};
use crate::network::error::NetworkError;
use crate::network::inspect::inspect as network_doc;
use crate::network::store::{CreateOptions, NetworkStore};
use crate::volume::error::VolumeError;
use crate::volume::store::VolumeStore;

impl From<NetworkError> for ApiError {
    fn from(e: NetworkError) -> Self {
        match &e {
            NetworkError::NotFound(_) => ApiError::not_found(e.to_string()),
            NetworkError::Exists(_) => ApiError::conflict(e.to_string()),
            // dockerd answers 403 for both.
            NetworkError::Predefined(_) | NetworkError::InUse { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, e.to_string())
            }
            NetworkError::InvalidMode { .. }
            | NetworkError::InvalidPublish { .. }
            | NetworkError::InvalidNetwork { .. } => ApiError::bad_request(e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> Self {
        match &e {
            VolumeError::NotFound(_) => ApiError::not_found(e.to_string()),
            VolumeError::InUse { .. } => ApiError::conflict(e.to_string()),
            VolumeError::InvalidSpec { .. } | VolumeError::InvalidName(_) => {
                ApiError::bad_request(e.to_string())
            }
            _ => ApiError::internal(e.to_string()),
        }
    }
}

/// `GET /networks?filters=` (name, id).
pub async fn list(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    let filters = super::filters::parse(q)?;
    super::filters::only(&filters, &["name", "id"], "networks")?;
    let paths = ctx.paths.clone();
    let docs = blocking(move || {
        let store = NetworkStore::open(&paths);
        let mut docs = Vec::new();
        for net in store.list()? {
            let keep = filters.iter().all(|(k, vals)| {
                vals.iter().any(|v| match k.as_str() {
                    "name" => net.name.contains(v.as_str()),
                    _ => net.id.starts_with(v.as_str()),
                })
            });
            if keep {
                docs.push(network_doc(&store, &net)?);
            }
        }
        Ok(docs)
    })
    .await?;
    Ok(json(StatusCode::OK, &docs))
}

/// `GET /networks/{id}`.
pub async fn inspect(ctx: &Ctx, name: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    let doc = blocking(move || {
        let store = NetworkStore::open(&paths);
        let net = store.get(&name)?;
        Ok(network_doc(&store, &net)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &doc))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkCreate {
    name: String,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default, rename = "IPAM")]
    ipam: Option<Ipam>,
    #[serde(default, rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    #[serde(default)]
    internal: Option<bool>,
    // Accepted and without effect on a local bridge: what the docker CLI always sends.
    #[serde(default)]
    #[allow(dead_code)]
    check_duplicate: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    attachable: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    ingress: Option<bool>,
    #[serde(default)]
    options: Option<BTreeMap<String, String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ipam {
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    config: Option<Vec<IpamConfig>>,
    #[serde(default)]
    #[allow(dead_code)]
    options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IpamConfig {
    #[serde(default)]
    subnet: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default, rename = "IPRange")]
    ip_range: Option<String>,
}

/// `POST /networks/create`: 201 `{"Id": ..., "Warning": ""}`. Only what berth's bridge
/// networks do is accepted: driver bridge, one IPv4 subnet and gateway.
pub async fn create(ctx: &Ctx, body: Incoming) -> ApiResult<Response<Body>> {
    let bytes = read_body(body, MAX_JSON_BODY).await?;
    let req: NetworkCreate = decode_json(&bytes, "the network config")?
        .ok_or_else(|| ApiError::bad_request("the network config is empty"))?;
    if let Some(d) = req
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "bridge")
    {
        return Err(ApiError::bad_request(format!(
            "network driver {d:?} is not supported by berth (bridge is)"
        )));
    }
    if req.enable_ipv6 == Some(true) || req.internal == Some(true) {
        return Err(ApiError::bad_request(
            "IPv6 and internal networks are not supported by berth",
        ));
    }
    if req.options.as_ref().is_some_and(|o| !o.is_empty())
        || req.labels.as_ref().is_some_and(|l| !l.is_empty())
    {
        return Err(ApiError::bad_request(
            "network options and labels are not supported by berth",
        ));
    }
    let mut opts = CreateOptions::default();
    if let Some(ipam) = req.ipam {
        if let Some(d) = ipam.driver.filter(|d| !d.is_empty() && d != "default") {
            return Err(ApiError::bad_request(format!(
                "IPAM driver {d:?} is not supported by berth"
            )));
        }
        let configs = ipam.config.unwrap_or_default();
        if configs.len() > 1 {
            return Err(ApiError::bad_request(
                "berth networks take one IPAM config (one IPv4 subnet)",
            ));
        }
        if let Some(c) = configs.into_iter().next() {
            if c.ip_range.is_some_and(|r| !r.is_empty()) {
                return Err(ApiError::bad_request(
                    "--ip-range is not supported by berth",
                ));
            }
            opts.subnet = c
                .subnet
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|e| ApiError::bad_request(format!("invalid subnet {s:?}: {e}")))
                })
                .transpose()?;
            opts.gateway = c
                .gateway
                .filter(|g| !g.is_empty())
                .map(|g| {
                    g.parse()
                        .map_err(|e| ApiError::bad_request(format!("invalid gateway {g:?}: {e}")))
                })
                .transpose()?;
        }
    }
    let paths = ctx.paths.clone();
    let name = req.name;
    let net = blocking(move || Ok(NetworkStore::open(&paths).create(&name, &opts)?)).await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({"Id": net.id, "Warning": ""}),
    ))
}

/// `DELETE /networks/{id}`: 204.
pub async fn remove(ctx: &Ctx, name: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    blocking(move || Ok(NetworkStore::open(&paths).remove(&name).map(|_| ())?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /volumes`: `{"Volumes": [...], "Warnings": []}`.
pub async fn volume_list(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    let filters = super::filters::parse(q)?;
    super::filters::only(&filters, &["name", "dangling"], "volumes")?;
    let paths = ctx.paths.clone();
    let vols = blocking(move || {
        let store = VolumeStore::open(&paths);
        let mut out = Vec::new();
        for v in store.list()? {
            let mut keep = true;
            for (k, vals) in &filters {
                keep &= match k.as_str() {
                    "name" => vals.iter().any(|n| v.name.contains(n.as_str())),
                    _ => {
                        let unused = store.users(&v.name, None)?.is_empty();
                        vals.iter().any(|d| (d == "true" || d == "1") == unused)
                    }
                };
            }
            if keep {
                out.push(v);
            }
        }
        Ok(out)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &json!({"Volumes": vols, "Warnings": []}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct VolumeCreate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create`: 201 and the volume.
pub async fn volume_create(ctx: &Ctx, body: Incoming) -> ApiResult<Response<Body>> {
    let bytes = read_body(body, MAX_JSON_BODY).await?;
    let req: VolumeCreate = decode_json(&bytes, "the volume config")?.unwrap_or_default();
    if let Some(d) = req
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "local")
    {
        return Err(ApiError::bad_request(format!(
            "volume driver {d:?} is not supported by berth (local is)"
        )));
    }
    if req.driver_opts.as_ref().is_some_and(|o| !o.is_empty()) {
        return Err(ApiError::bad_request(
            "volume driver options are not supported by berth",
        ));
    }
    let paths = ctx.paths.clone();
    let name = req.name.filter(|n| !n.is_empty());
    let labels = req.labels.unwrap_or_default();
    let vol =
        blocking(move || Ok(VolumeStore::open(&paths).create(name.as_deref(), labels)?)).await?;
    Ok(json(StatusCode::CREATED, &vol))
}

/// `GET /volumes/{name}`.
pub async fn volume_inspect(ctx: &Ctx, name: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    let vol = blocking(move || Ok(VolumeStore::open(&paths).inspect(&name)?)).await?;
    Ok(json(StatusCode::OK, &vol))
}

/// `DELETE /volumes/{name}`: 204; 409 while a container uses it.
pub async fn volume_remove(ctx: &Ctx, name: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    blocking(move || Ok(VolumeStore::open(&paths).remove(&name, None)?)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /volumes/prune?filters={"all":["true"]}`.
pub async fn volume_prune(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    let filters = super::filters::parse(q)?;
    super::filters::only(&filters, &["all"], "volume prune")?;
    let all = filters
        .iter()
        .any(|(_, v)| v.iter().any(|x| x == "true" || x == "1"));
    let paths = ctx.paths.clone();
    let report = blocking(move || Ok(VolumeStore::open(&paths).prune(all)?)).await?;
    Ok(json(
        StatusCode::OK,
        &json!({"VolumesDeleted": report.removed, "SpaceReclaimed": report.reclaimed}),
    ))
}
