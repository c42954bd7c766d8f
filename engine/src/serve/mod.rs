//! `berth serve`: the Docker Engine API (v1.41) on a unix socket, so the stock `docker`
//! CLI, compose and every Docker SDK drive berth. It is a second front end over the same
//! engine library as the `berth` CLI: every handler calls the library's verb (never a
//! copy), the containers' state is the store on disk, and the monitors own stdio, logs
//! and exit codes; so a restarted server loses nothing and containers started by `berth`
//! and through the API are the same containers.
//!
//! tokio and hyper live only here: the CLI's other verbs stay synchronous.
//!
//! - [`listen`]: `--host` parsing, the socket (0660, group `berth`), TCP with a warning.
//! - [`router`]: version prefix, dispatch by method and path, docker's 404 for the rest.
//! - [`version`]: the served API version and its bounds.
//! - [`http`]: bodies (size-limited), JSON in and out, query strings.
//! - [`error`]: `{"message": ...}` with docker's status codes.
//! - [`hijack`]: `Upgrade: tcp` -> 101 and splicing streams (attach, exec).
//! - [`system`]: `_ping`, `version`, `info`.
//! - [`images`]: `/images/...` over berth-images.
//! - [`filters`]: docker's `filters` parameter.
//! - [`exec`]: `/containers/{id}/exec`, `/exec/...` over the engine's exec.
//! - [`networks`]: `/networks/...` and `/volumes/...` over the engine's stores.
//! - [`events`]: `/events`, container events as JSON lines.
//! - [`containers`]: the `/containers/...` endpoints.

pub mod containers;
pub mod error;
pub mod events;
pub mod exec;
pub mod filters;
pub mod hijack;
pub mod http;
pub mod images;
pub mod listen;
pub mod networks;
pub mod router;
pub mod system;
pub mod version;

use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::paths::StorePaths;
use listen::{Host, ListenError, Listener};

/// What the handlers share: the store's paths (every request reopens what it needs, so
/// the store on disk stays the only truth).
pub struct Ctx {
    pub paths: StorePaths,
    pub events: events::Events,
    /// Attaches made before their container's start (the docker CLI's order).
    pub attach: containers::attach::Pending,
    /// Exit codes the monitors of containers started here reported.
    pub exits: containers::wait::Exits,
}

/// Runs a blocking engine or store call on tokio's blocking pool.
pub async fn blocking<T, F>(f: F) -> error::ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> error::ApiResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| error::ApiError::internal(format!("a request's worker failed: {e}")))?
}

/// `berth serve`'s options.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (`unix:///...` or `tcp://HOST:PORT`); empty = the default socket.
    pub hosts: Vec<String>,
}

/// Failures that stop the server (a failed request never does).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("starting the server's async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("waiting for signals: {0}")]
    Signal(std::io::Error),
}

/// Serves the API until SIGINT or SIGTERM, then removes its unix sockets.
pub fn run(paths: StorePaths, opts: &ServeOptions) -> Result<(), ServeError> {
    let hosts = if opts.hosts.is_empty() {
        vec![Host::parse(listen::DEFAULT_HOST)?]
    } else {
        opts.hosts
            .iter()
            .map(|h| Host::parse(h))
            .collect::<Result<Vec<_>, _>>()?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(serve_until_signal(
        Arc::new(Ctx {
            paths,
            events: events::Events::default(),
            attach: Default::default(),
            exits: Default::default(),
        }),
        hosts,
    ))
}

async fn serve_until_signal(ctx: Arc<Ctx>, hosts: Vec<Host>) -> Result<(), ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    let mut sockets = Vec::new();
    for host in &hosts {
        let listener = listen::bind(host).await?;
        if let Listener::Unix(_, path) = &listener {
            sockets.push(path.clone());
        }
        tracing::info!("serving the Docker Engine API on {host:?}");
        tokio::spawn(accept_loop(ctx.clone(), listener));
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    for path in sockets {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

async fn accept_loop(ctx: Arc<Ctx>, listener: Listener) {
    loop {
        let accepted = match &listener {
            Listener::Unix(l, _) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| Conn::Tcp(s)),
        };
        match accepted {
            Ok(Conn::Unix(s)) => serve_connection(ctx.clone(), s),
            Ok(Conn::Tcp(s)) => serve_connection(ctx.clone(), s),
            Err(e) => {
                // EMFILE and the like: keep serving the connections we have.
                tracing::warn!("accepting a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

fn serve_connection<S>(ctx: Arc<Ctx>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = service_fn(move |req| {
            let ctx = ctx.clone();
            async move { Ok::<_, std::convert::Infallible>(router::handle(ctx, req).await) }
        });
        if let Err(e) = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await
        {
            tracing::debug!("connection ended: {e}");
        }
    });
}
