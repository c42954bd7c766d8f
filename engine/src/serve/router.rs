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
use super::{containers, events, system};

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
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("the request path is not UTF-8"))?
        .into_owned();
    if path.contains('\0') {
        return Err(ApiError::bad_request(
            "the request path contains a NUL byte",
        ));
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let q = Query::parse(req.uri().query());
    match (&method, segs.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(system::ping(&method)),
        (&Method::GET, ["version"]) => Ok(system::version()),
        (&Method::GET, ["info"]) => Ok(system::info(&ctx, &system::Counts::default())),
        (&Method::GET, ["events"]) => events::stream(&ctx.events, &q),
        (&Method::POST, ["containers", "create"]) => {
            let body = read_body(req.into_body(), MAX_JSON_BODY).await?;
            let _create = containers::create_body::decode(&body)?;
            Err(ApiError::not_implemented("containers/create"))
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}
