//! The `/images/...` endpoints over berth-images' [`ImageStore`]: list, inspect, tag,
//! delete, load (a `docker save` archive or an OCI layout in the body). Every handler runs
//! the store's blocking call on tokio's blocking pool.

use std::collections::HashMap;

use berth_images::registry::{ProgressEvent, ProgressSink};
use berth_images::{Image, ImageError, ImageStore};
use bollard_stubs::models::{
    ContainerConfig, GraphDriverData, Image as ImageInspect, ImageDeleteResponseItem, ImageRootFs,
    ImageSummary,
};
use hyper::{Response, StatusCode};

use super::error::{ApiError, ApiResult};
use super::http::{Body, Query, json};
use super::{Ctx, blocking};

/// Docker's status for each image failure (404 "No such image: ..." makes the CLI pull).
impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> Self {
        match &e {
            ImageError::NotFound { name } => ApiError::no_such_image(name),
            ImageError::Ambiguous { .. }
            | ImageError::InvalidReference { .. }
            | ImageError::InvalidDigest { .. }
            | ImageError::Malformed { .. }
            | ImageError::HostileEntry { .. }
            | ImageError::DigestMismatch { .. }
            | ImageError::DiffIdMismatch { .. } => ApiError::bad_request(e.to_string()),
            ImageError::InUse { .. } | ImageError::Conflict { .. } | ImageError::Raced { .. } => {
                ApiError::conflict(e.to_string())
            }
            _ => ApiError::internal(e.to_string()),
        }
    }
}

fn open(ctx: &Ctx) -> ApiResult<ImageStore> {
    Ok(ImageStore::open(&ctx.paths.root)?)
}

/// Docker shows names in their familiar form (`busybox:latest`).
fn familiar(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| berth_images::reference::familiar_name(n))
        .collect()
}

fn created_unix(image: &Image) -> i64 {
    image.created.map(|t| t.unix_seconds() as i64).unwrap_or(0)
}

fn labels(image: &Image) -> HashMap<String, String> {
    image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default()
}

fn summary(image: &Image) -> ImageSummary {
    let size = i64::try_from(image.size).unwrap_or(i64::MAX);
    ImageSummary {
        id: image.id.clone(),
        parent_id: String::new(),
        repo_tags: familiar(&image.repo_tags),
        repo_digests: familiar(&image.repo_digests),
        created: created_unix(image),
        size,
        shared_size: -1,
        virtual_size: size,
        labels: labels(image),
        containers: -1,
    }
}

/// `GET /images/json?all=&filters=`: reference= and dangling= filters.
pub async fn list(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    let store = open(ctx)?;
    let filters = ListFilters::parse(q)?;
    let images = blocking(move || Ok(store.list()?)).await?;
    let out: Vec<ImageSummary> = images
        .iter()
        .filter(|i| filters.matches(i))
        .map(summary)
        .collect();
    Ok(json(StatusCode::OK, &out))
}

#[derive(Default)]
struct ListFilters {
    reference: Vec<String>,
    dangling: Option<bool>,
}

impl ListFilters {
    fn parse(q: &Query) -> ApiResult<Self> {
        let filters = super::filters::parse(q)?;
        super::filters::only(&filters, &["reference", "dangling"], "images")?;
        let mut f = Self::default();
        for (name, values) in filters {
            match name.as_str() {
                "reference" => f.reference = values,
                _ => f.dangling = values.first().map(|v| v == "true" || v == "1"),
            }
        }
        Ok(f)
    }

    fn matches(&self, image: &Image) -> bool {
        if let Some(d) = self.dangling
            && d != image.repo_tags.is_empty()
        {
            return false;
        }
        self.reference.is_empty()
            || self.reference.iter().any(|r| {
                let pattern = r.as_str();
                image.repo_tags.iter().any(|t| {
                    let fam = berth_images::reference::familiar_name(t);
                    let repo = fam.rsplit_once(':').map(|(r, _)| r).unwrap_or(&fam);
                    fam == pattern || repo == pattern || t == pattern
                })
            })
    }
}

/// `GET /images/{name}/json`.
pub async fn inspect(ctx: &Ctx, name: String) -> ApiResult<Response<Body>> {
    let store = open(ctx)?;
    let image = blocking(move || Ok(store.resolve(&name)?)).await?;
    Ok(json(StatusCode::OK, &inspect_body(&image)))
}

fn inspect_body(image: &Image) -> ImageInspect {
    let cfg = &image.config;
    let size = i64::try_from(image.size).unwrap_or(i64::MAX);
    let config = cfg.config().as_ref().map(|c| ContainerConfig {
        user: c.user().clone(),
        env: c.env().clone(),
        cmd: c.cmd().clone(),
        entrypoint: c.entrypoint().clone(),
        working_dir: c.working_dir().clone(),
        labels: c.labels().clone().map(|l| l.into_iter().collect()),
        stop_signal: c.stop_signal().clone(),
        exposed_ports: c
            .exposed_ports()
            .clone()
            .map(|ports| ports.into_iter().map(|p| (p, HashMap::new())).collect()),
        volumes: c
            .volumes()
            .clone()
            .map(|v| v.into_iter().map(|p| (p, HashMap::new())).collect()),
        ..Default::default()
    });
    let layers: Vec<String> = cfg
        .rootfs()
        .diff_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    ImageInspect {
        id: image.id.clone(),
        repo_tags: Some(familiar(&image.repo_tags)),
        repo_digests: Some(familiar(&image.repo_digests)),
        parent: String::new(),
        comment: String::new(),
        created: image.created.map(|t| t.to_string()).unwrap_or_default(),
        container: String::new(),
        container_config: None,
        docker_version: String::new(),
        author: cfg.author().clone().unwrap_or_default(),
        config,
        architecture: cfg.architecture().to_string(),
        os: cfg.os().to_string(),
        os_version: cfg.os_version().clone(),
        size,
        virtual_size: size,
        graph_driver: GraphDriverData {
            name: "overlay".into(),
            data: HashMap::new(),
        },
        root_fs: ImageRootFs {
            typ: "layers".into(),
            layers: Some(layers),
            base_layer: None,
        },
        metadata: None,
    }
}

/// `POST /images/{name}/tag?repo=&tag=`: 201 as docker answers.
pub async fn tag(ctx: &Ctx, name: String, q: &Query) -> ApiResult<Response<Body>> {
    let repo = q
        .get("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("repository name (repo) must be given"))?;
    let target = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    let store = open(ctx)?;
    blocking(move || Ok(store.tag(&name, &target)?)).await?;
    Ok(super::http::empty(StatusCode::CREATED))
}

/// `DELETE /images/{name}?force=`: docker's Untagged/Deleted list.
pub async fn remove(ctx: &Ctx, name: String, q: &Query) -> ApiResult<Response<Body>> {
    let force = q.flag("force");
    let store = open(ctx)?;
    let paths = ctx.paths.clone();
    // The same rule as `berth rmi`: an image a container uses is a 409 conflict.
    let removed = blocking(move || {
        let users = crate::image_users::ContainersOf(&paths);
        Ok(store.remove_unless_used(&name, force, &users)?)
    })
    .await?;
    let out: Vec<ImageDeleteResponseItem> = removed
        .into_iter()
        .map(|r| match r {
            berth_images::Removed::Untagged(n) => ImageDeleteResponseItem {
                untagged: Some(n),
                deleted: None,
            },
            berth_images::Removed::Deleted(d) => ImageDeleteResponseItem {
                untagged: None,
                deleted: Some(d),
            },
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}

/// The largest image archive `load` accepts (the body is spooled to a file first).
const MAX_LOAD_BODY: u64 = 64 << 30;

/// `POST /images/load?quiet=`: the body (a `docker save` archive, an OCI layout tar) is
/// spooled to a file under the store, then loaded; the reply is docker's JSON stream
/// (`{"stream":"Loaded image: busybox:latest\n"}`).
pub async fn load(ctx: &Ctx, body: hyper::body::Incoming) -> ApiResult<Response<Body>> {
    let tmp_dir = ctx.paths.root.join("tmp");
    std::fs::create_dir_all(&tmp_dir)
        .map_err(|e| ApiError::internal(format!("creating {}: {e}", tmp_dir.display())))?;
    let spool = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| {
        ApiError::internal(format!(
            "creating a spool file in {}: {e}",
            tmp_dir.display()
        ))
    })?;
    spool_body(body, spool.path(), MAX_LOAD_BODY).await?;
    let store = open(ctx)?;
    let images = blocking(move || {
        let loaded = store.load(spool.path(), &berth_images::NoProgress)?;
        drop(spool);
        Ok(loaded)
    })
    .await?;
    let mut out = String::new();
    for image in &images {
        let line = if image.repo_tags.is_empty() {
            format!("Loaded image ID: {}\n", image.id)
        } else {
            familiar(&image.repo_tags)
                .iter()
                .map(|t| format!("Loaded image: {t}\n"))
                .collect()
        };
        out.push_str(&format!("{}\n", serde_json::json!({ "stream": line })));
    }
    let mut r = Response::new(super::http::full(out));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// Writes a request body to `path`, refusing it (413) past `limit` bytes.
async fn spool_body(
    mut body: hyper::body::Incoming,
    path: &std::path::Path,
    limit: u64,
) -> ApiResult<()> {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| ApiError::internal(format!("opening {}: {e}", path.display())))?;
    let mut written: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            written += data.len() as u64;
            if written > limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {limit} bytes"),
                ));
            }
            file.write_all(&data)
                .await
                .map_err(|e| ApiError::internal(format!("writing {}: {e}", path.display())))?;
        }
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal(format!("writing {}: {e}", path.display())))?;
    Ok(())
}

/// `POST /images/create?fromImage=&tag=`: a pull through berth-images' registry client,
/// answered as docker's JSON-lines progress stream (headers at once): the pull's own
/// reports (`Pulling from`, each layer's state and bytes, `Digest`, `Status`) as they
/// happen; a failure mid-way is an `{"error": ...}` line, as dockerd sends it.
pub async fn create(ctx: &Ctx, q: &Query) -> ApiResult<Response<Body>> {
    if q.get("fromSrc").is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::not_implemented("image import (fromSrc)"));
    }
    let from = q
        .get("fromImage")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("fromImage must be given"))?;
    let name = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(_) if from.contains('@') => from.to_string(),
        Some(d) if d.starts_with("sha256:") => format!("{from}@{d}"),
        Some(t) => format!("{from}:{t}"),
        None => from.to_string(),
    };
    // A malformed reference is a 400 before any stream starts.
    berth_images::reference::normalize(&name)?;
    let store = open(ctx)?;
    let (tx, response) = super::http::streaming("application/json");
    // The reports come from the registry client's own async tasks, which must not block:
    // an unbounded queue, drained into the reply.
    let (report_tx, mut report_rx) = tokio::sync::mpsc::unbounded_channel::<bytes::Bytes>();
    tokio::spawn(async move {
        while let Some(line) = report_rx.recv().await {
            if tx.send(line).await.is_err() {
                return;
            }
        }
    });
    let line = |v: serde_json::Value| bytes::Bytes::from(format!("{v}\n"));
    let sink_tx = report_tx.clone();
    let sink = ProgressSink(std::sync::Arc::new(move |ev: ProgressEvent<'_>| {
        let v = match ev {
            ProgressEvent::Line(text) => serde_json::json!({ "status": text }),
            ProgressEvent::Layer {
                id,
                status,
                current,
                total,
            } => {
                // Bytes only while they move: the CLI drops a line with a progress bar
                // when its output is not a terminal, as it should only "Downloading".
                let detail = if total > 0 && current > 0 && current < total {
                    serde_json::json!({"current": current, "total": total})
                } else {
                    serde_json::json!({})
                };
                serde_json::json!({"status": status, "progressDetail": detail, "id": id})
            }
        };
        let _ = sink_tx.send(line(v));
    }));
    // The registry client runs a tokio runtime of its own: a plain thread, not one of
    // this runtime's blocking threads (nested runtimes are refused).
    std::thread::spawn(move || {
        let opts = berth_images::registry::PullOptions {
            quiet: true,
            sink: Some(sink),
            ..Default::default()
        };
        if let Err(e) = berth_images::registry::pull(&store, &name, &opts) {
            let msg = serde_json::json!({"errorDetail": {"message": e.to_string()}, "error": e.to_string()});
            let _ = report_tx.send(line(msg));
        }
    });
    Ok(response)
}

/// `POST /images/{name}/push?tag=`: a push through berth-images' registry client, as
/// docker's JSON-lines stream (`The push refers to repository [...]`, then
/// `TAG: digest: sha256:... size: N`, or an error line).
pub async fn push(ctx: &Ctx, name: String, q: &Query) -> ApiResult<Response<Body>> {
    let name = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name,
    };
    let full = berth_images::reference::normalize(&name)?;
    let store = open(ctx)?;
    let (tx, response) = super::http::streaming("application/json");
    let line = |v: serde_json::Value| bytes::Bytes::from(format!("{v}\n"));
    // As for pulls: the registry client runs a runtime of its own, on a plain thread.
    std::thread::spawn(move || {
        let (repo, tag) = berth_images::reference::split_tag(&full);
        let _ = tx.blocking_send(line(serde_json::json!({
            "status": format!("The push refers to repository [{repo}]")
        })));
        let msg = match berth_images::registry::push(&store, &name, true) {
            Ok(p) => {
                let tag = tag.unwrap_or("latest");
                // Two lines, as dockerd sends them: the CLI prints the status and hands
                // the aux line (which it does not print) to its callback.
                let _ = tx.blocking_send(line(serde_json::json!({
                    "status": format!("{tag}: digest: {} size: {}", p.digest, p.size),
                })));
                serde_json::json!({
                    "progressDetail": {},
                    "aux": {"Tag": tag, "Digest": p.digest, "Size": p.size},
                })
            }
            Err(e) => {
                serde_json::json!({"errorDetail": {"message": e.to_string()}, "error": e.to_string()})
            }
        };
        let _ = tx.blocking_send(line(msg));
    });
    Ok(response)
}
