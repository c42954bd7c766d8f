//! Hijacked connections, as docker's attach and exec start use them: the client sends
//! `Connection: Upgrade` + `Upgrade: tcp`, the server answers `101 UPGRADED` and from then
//! on the connection carries the container's streams (raw with a TTY, docker's 8-byte
//! frames without one); the client's bytes are stdin, and its write-half shutdown
//! (`CloseWrite`) is stdin's EOF.

use std::future::Future;

use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::error::{ApiError, ApiResult};
use super::http::{Body, full};

/// The client's side of a hijacked connection.
pub type Hijacked = TokioIo<Upgraded>;

/// Answers `req` with 101 and runs `handler` on the upgraded connection once hyper hands
/// it over. A request that does not ask for the upgrade is a 400: the streams need it.
pub fn upgrade<F, Fut>(req: &mut Request<Incoming>, handler: F) -> ApiResult<Response<Body>>
where
    F: FnOnce(Hijacked) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let asks = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    if !asks {
        return Err(ApiError::bad_request(
            "this endpoint streams over a hijacked connection: send 'Connection: Upgrade' and \
             'Upgrade: tcp'",
        ));
    }
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => handler(TokioIo::new(upgraded)).await,
            Err(e) => tracing::warn!("hijacking the connection failed: {e}"),
        }
    });
    let mut r = Response::new(full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("tcp"));
    // API 1.41 names both framings raw-stream (multiplexed-stream came with 1.42).
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    Ok(r)
}

/// Splices a hijacked client onto a backend stream (the monitor's attach socket, an exec's
/// streams): backend bytes go to the client until the backend ends, then the client's
/// write half is shut so its reader ends. With `stdin`, client bytes go to the backend and
/// the client's EOF becomes the backend's write-half shutdown; without, the client's
/// bytes are not read. Returns when the backend's output ends.
pub async fn splice<C, B>(client: C, backend: B, stdin: bool)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    B: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut backend_r, mut backend_w) = tokio::io::split(backend);
    let input = stdin.then(|| {
        tokio::spawn(async move {
            if let Err(e) = tokio::io::copy(&mut client_r, &mut backend_w).await {
                tracing::debug!("forwarding stdin ended: {e}");
            }
            // The client closed its write half: the container's stdin sees EOF.
            let _ = backend_w.shutdown().await;
        })
    });
    if let Err(e) = tokio::io::copy(&mut backend_r, &mut client_w).await {
        tracing::debug!("forwarding output ended: {e}");
    }
    let _ = client_w.shutdown().await;
    if let Some(input) = input {
        input.abort();
    }
}
