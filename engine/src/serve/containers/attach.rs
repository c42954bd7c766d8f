//! `POST /containers/{id}/attach?stream=1&stdin=&stdout=&stderr=` (hijacked) and
//! `POST /containers/{id}/resize?h=&w=` (`ops::resize`), both through the monitor's
//! attach socket (`crate::monitor::attach` documents its handshake): the monitor
//! already speaks docker's framing, so the server only splices bytes.
//!
//! The docker CLI attaches BEFORE it starts a container (`run`, `start -a`). Such an
//! attach is [`Pending`] until the container's monitor is up: `start` then asks the
//! monitor to wait for it before the process runs (no output is missed), and the attach
//! connects as soon as the socket answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::container::status;
use crate::container::store::{self, ContainerFiles};
use crate::monitor::attach::{AttachRequest, Resize, connect};
use crate::serve::Ctx;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::hijack;
use crate::serve::http::{Body, Query, empty};

/// How long an attach made before `start` waits for the container's monitor.
const PENDING_LIMIT: Duration = Duration::from_secs(60);
/// How often it tries the socket meanwhile.
const RETRY: Duration = Duration::from_millis(5);

/// Attaches waiting for their container's start, by container id: how many, and the
/// signal that the start failed (they give up and close their connection, so the
/// client reports the start's error instead of waiting).
#[derive(Debug, Default)]
pub struct Pending(Mutex<HashMap<String, (usize, Arc<AtomicBool>)>>);

impl Pending {
    fn add(&self, id: &str) -> Arc<AtomicBool> {
        let mut m = self.lock();
        let entry = m.entry(id.to_string()).or_default();
        entry.0 += 1;
        entry.1.clone()
    }

    fn done(&self, id: &str) {
        let mut m = self.lock();
        if let Some(entry) = m.get_mut(id) {
            entry.0 -= 1;
            if entry.0 == 0 {
                m.remove(id);
            }
        }
    }

    /// True when some attach waits for `id`'s start.
    pub fn any(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// `id`'s start failed: its waiting attaches end.
    pub fn start_failed(&self, id: &str) {
        if let Some((_, gave_up)) = self.lock().get(id) {
            gave_up.store(true, Ordering::SeqCst);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (usize, Arc<AtomicBool>)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub async fn attach(
    ctx: Arc<Ctx>,
    mut req: Request<Incoming>,
    query: String,
    q: &Query,
) -> ApiResult<Response<Body>> {
    let want = AttachRequest {
        stdin: q.flag("stdin"),
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        resize: None,
    };
    let paths = ctx.paths.clone();
    let (id, running) = crate::serve::blocking(move || {
        let id = store::resolve(&paths, &query)?;
        let record = store::load(&paths, &id)?;
        Ok((id.clone(), status::derive(&paths, &record)?.is_running()))
    })
    .await?;
    let gave_up = (!running).then(|| ctx.attach.add(&id));
    let socket = ContainerFiles::new(&ctx.paths, &id).attach_socket();
    let stdin = want.stdin;
    let task_ctx = ctx.clone();
    let pending_id = id.clone();
    let response = hijack::upgrade(&mut req, move |client| async move {
        let conn = connect_when_up(socket, want, gave_up).await;
        if !running {
            task_ctx.attach.done(&id);
        }
        match conn {
            Ok(backend) => hijack::splice(client, backend, stdin).await,
            Err(e) => tracing::warn!("attaching to container {id}: {e}"),
        }
    });
    if response.is_err() && !running {
        // Not hijacked: nothing waits for the start.
        ctx.attach.done(&pending_id);
    }
    response
}

/// Connects to the monitor's socket, retrying while it is not up yet (the container is
/// being started), for at most [`PENDING_LIMIT`].
async fn connect_when_up(
    socket: std::path::PathBuf,
    want: AttachRequest,
    gave_up: Option<Arc<AtomicBool>>,
) -> std::io::Result<tokio::net::UnixStream> {
    let started = Instant::now();
    loop {
        if gave_up.as_ref().is_some_and(|g| g.load(Ordering::SeqCst)) {
            return Err(std::io::Error::other("the container's start failed"));
        }
        let (s, w) = (socket.clone(), want.clone());
        let tried = tokio::task::spawn_blocking(move || connect(&s, &w))
            .await
            .map_err(std::io::Error::other)?;
        match tried {
            Ok((stream, _tty)) => {
                stream.set_nonblocking(true)?;
                return tokio::net::UnixStream::from_std(stream);
            }
            Err(e) if started.elapsed() >= PENDING_LIMIT => return Err(e),
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    }
}

/// `POST /containers/{id}/resize?h=&w=`: the pty's new size, through the monitor.
pub async fn resize(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let dim = |k: &str| -> ApiResult<u16> {
        let v = q.int(k)?.unwrap_or(0);
        u16::try_from(v).map_err(|_| ApiError::bad_request(format!("invalid {k}: {v}")))
    };
    let size = Resize {
        height: dim("h")?,
        width: dim("w")?,
    };
    let paths = ctx.paths.clone();
    crate::serve::blocking(move || Ok(crate::ops::resize::resize(&paths, &query, size)?)).await?;
    Ok(empty(StatusCode::OK))
}
