//! One request's path: version prefix -> route by method and path -> handler -> docker's
//! headers. Handler errors become `{"message": ...}` replies; nothing here ends the server.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::http::{Body, error_response};
use super::http::{MAX_JSON_BODY, Query, read_body};
use super::version::split_version;
use super::{containers, events, exec, images, networks, system};

/// Answers one request.
pub async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let mut resp = match route(ctx, req).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!("{method} {uri}: {}", e.message);
            } else {
                tracing::debug!("{method} {uri}: {} {}", e.status, e.message);
            }
            error_response(&e)
        }
    };
    system::add_server_headers(&mut resp);
    resp
}

async fn route(ctx: Arc<Ctx>, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let raw_path = req.uri().path().to_string();
    let (_version, path) = split_version(&raw_path)?;
    // Split, then decode each segment: an escaped `/` (`..%2F..%2Fetc`) stays inside its
    // segment, a name to look up, never a path.
    let owned: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|seg| {
            let s = percent_encoding::percent_decode_str(seg)
                .decode_utf8()
                .map_err(|_| ApiError::bad_request("the request path is not UTF-8"))?;
            if s.contains('\0') {
                return Err(ApiError::bad_request(
                    "the request path contains a NUL byte",
                ));
            }
            Ok(s.into_owned())
        })
        .collect::<ApiResult<_>>()?;
    let segs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let method = req.method().clone();
    let q = Query::parse(req.uri().query());
    match (&method, segs.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(system::ping(&method)),
        (&Method::GET, ["version"]) => Ok(system::version()),
        (&Method::GET, ["info"]) => Ok(system::info(&ctx, &system::counts(&ctx).await?)),
        (&Method::GET, ["events"]) => events::stream(&ctx.events, &q),
        (&Method::GET, ["networks"]) => networks::list(&ctx, &q).await,
        (&Method::POST, ["networks", "create"]) => networks::create(&ctx, req.into_body()).await,
        (&Method::GET, ["networks", id]) => networks::inspect(&ctx, id.to_string()).await,
        (&Method::DELETE, ["networks", id]) => networks::remove(&ctx, id.to_string()).await,
        (&Method::GET, ["volumes"]) => networks::volume_list(&ctx, &q).await,
        (&Method::POST, ["volumes", "create"]) => {
            networks::volume_create(&ctx, req.into_body()).await
        }
        (&Method::POST, ["volumes", "prune"]) => networks::volume_prune(&ctx, &q).await,
        (&Method::GET, ["volumes", name]) => networks::volume_inspect(&ctx, name.to_string()).await,
        (&Method::DELETE, ["volumes", name]) => {
            networks::volume_remove(&ctx, name.to_string()).await
        }
        (&Method::GET, ["images", "json"]) => images::list(&ctx, &q).await,
        (&Method::POST, ["images", "create"]) => images::create(&ctx, &q).await,
        (&Method::POST, ["images", "load"]) => images::load(&ctx, req.into_body()).await,
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            images::inspect(&ctx, name.join("/")).await
        }
        (&Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            images::tag(&ctx, name.join("/"), &q).await
        }
        (&Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            images::push(&ctx, name.join("/"), &q).await
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            images::remove(&ctx, name.join("/"), &q).await
        }
        (&Method::POST, ["containers", "create"]) => {
            let body = read_body(req.into_body(), MAX_JSON_BODY).await?;
            let body = containers::create_body::decode(&body)?;
            containers::create::create(&ctx, &q, body).await
        }
        (&Method::GET, ["containers", "json"]) => containers::list::list(&ctx, &q).await,
        (&Method::GET, ["containers", id, "json"]) => {
            containers::lifecycle::inspect(&ctx, id.to_string()).await
        }
        (&Method::POST, ["containers", id, "start"]) => {
            containers::lifecycle::start(ctx.clone(), id.to_string()).await
        }
        (&Method::POST, ["containers", id, "stop"]) => {
            containers::lifecycle::stop(&ctx, id.to_string(), &q).await
        }
        (&Method::POST, ["containers", id, "kill"]) => {
            containers::lifecycle::kill(&ctx, id.to_string(), &q).await
        }
        (&Method::POST, ["containers", id, "restart"]) => {
            containers::lifecycle::restart(ctx.clone(), id.to_string(), &q).await
        }
        (&Method::DELETE, ["containers", id]) => {
            containers::lifecycle::remove(&ctx, id.to_string(), &q).await
        }
        (&Method::POST, ["containers", id, "wait"]) => {
            containers::wait::wait(ctx.clone(), id.to_string(), &q).await
        }
        (&Method::POST, ["containers", id, "attach"]) => {
            let id = id.to_string();
            containers::attach::attach(ctx.clone(), req, id, &q).await
        }
        (&Method::POST, ["containers", id, "resize"]) => {
            containers::attach::resize(&ctx, id.to_string(), &q).await
        }
        (&Method::POST, ["containers", id, "exec"]) => {
            let id = id.to_string();
            exec::create(&ctx, id, req.into_body()).await
        }
        (&Method::POST, ["exec", id, "start"]) => {
            let id = id.to_string();
            exec::start(ctx.clone(), req, id).await
        }
        (&Method::POST, ["exec", id, "resize"]) => exec::resize(id.to_string(), &q).await,
        (&Method::GET, ["exec", id, "json"]) => exec::inspect(&ctx, id.to_string()).await,
        (&Method::POST, ["containers", id, "rename"]) => {
            containers::lifecycle::rename(&ctx, id.to_string(), &q).await
        }
        (&Method::GET, ["containers", id, "top"]) => {
            containers::observe::top(&ctx, id.to_string()).await
        }
        (&Method::GET, ["containers", id, "stats"]) => {
            containers::observe::stats(&ctx, id.to_string(), &q).await
        }
        (&Method::GET, ["containers", id, "logs"]) => {
            containers::logs::logs(&ctx, id.to_string(), &q).await
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}
