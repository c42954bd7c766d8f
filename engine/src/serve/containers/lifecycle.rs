//! Inspect, start, stop, kill, restart and delete: each the engine's verb
//! (`crate::ops`), with docker's replies (204, 304 for "already so", 404, 409) and the
//! container events they cause.

use std::sync::Arc;

use hyper::{Response, StatusCode};

use crate::container::store::{self, ContainerFiles};
use crate::container::{ContainerRecord, status};
use crate::monitor::attach::{AttachRequest, connect};
use crate::ops::remove::RemoveOptions;
use crate::serve::Ctx;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::http::{Body, Query, empty, json};

/// `GET /containers/{id}/json`: the engine's inspect document (docker's shape).
pub async fn inspect(ctx: &Ctx, query: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    let doc =
        crate::serve::blocking(move || Ok(crate::ops::inspect::inspect(&paths, &query)?)).await?;
    Ok(json(StatusCode::OK, &doc))
}

/// The container's record and whether it runs now.
async fn current(ctx: &Ctx, query: String) -> ApiResult<(ContainerRecord, bool)> {
    let paths = ctx.paths.clone();
    crate::serve::blocking(move || {
        let id = store::resolve(&paths, &query)?;
        let record = store::load(&paths, &id)?;
        let running = status::derive(&paths, &record)?.is_running();
        Ok((record, running))
    })
    .await
}

fn actor(record: &ContainerRecord) -> [(&'static str, String); 2] {
    [
        ("image", record.image.clone()),
        ("name", record.name.clone()),
    ]
}

/// `POST /containers/{id}/start`: 204, or 304 when it runs already.
///
/// The engine's `start_attached` is used every time: its monitor handle reports the exit
/// code, which this server keeps for `/wait` (an `--rm` container's record is gone by
/// then) and turns into the `die` event. When no client's attach waits for this start,
/// the server itself satisfies the monitor's wait for one with an attach that takes no
/// stream.
pub async fn start(ctx: Arc<Ctx>, query: String) -> ApiResult<Response<Body>> {
    let (record, running) = current(&ctx, query).await?;
    if running {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    let someone_attaches = ctx.attach.any(&record.id);
    let paths = ctx.paths.clone();
    let id = record.id.clone();
    let started = crate::serve::blocking(move || {
        let (id, mut handle) = crate::ops::start::start_attached(&paths, &id)?;
        if !someone_attaches {
            let socket = ContainerFiles::new(&paths, &id).attach_socket();
            connect(&socket, &AttachRequest::default()).map_err(|e| {
                ApiError::internal(format!("releasing the monitor of container {id}: {e}"))
            })?;
        }
        handle.wait_started()?;
        Ok(handle)
    })
    .await;
    let handle = match started {
        Ok(h) => h,
        Err(e) => {
            ctx.attach.start_failed(&record.id);
            return Err(e);
        }
    };
    ctx.events.container("start", &record.id, &actor(&record));
    let watcher = ctx.clone();
    std::thread::spawn(move || {
        let mut handle = handle;
        let code = match handle.wait_exited() {
            Ok(code) => code,
            Err(e) => {
                tracing::warn!("container {}: {e}", record.id);
                crate::container::status::LOST_EXIT_CODE
            }
        };
        watcher.exits.record(&record.id, code);
        let [image, name] = actor(&record);
        watcher.events.container(
            "die",
            &record.id,
            &[image, name, ("exitCode", code.to_string())],
        );
        if record.host.auto_remove {
            watcher
                .events
                .container("destroy", &record.id, &actor(&record));
        }
    });
    Ok(empty(StatusCode::NO_CONTENT))
}

fn stop_timeout(q: &Query) -> ApiResult<Option<u32>> {
    // `t` (API <= 1.41); `-1` means wait forever in docker, berth caps it.
    Ok(q.int("t")?
        .map(|t| u32::try_from(t.max(0)).unwrap_or(u32::MAX)))
}

/// `POST /containers/{id}/stop?t=`: 204, or 304 when it is not running.
pub async fn stop(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let timeout = stop_timeout(q)?;
    let (record, running) = current(ctx, query).await?;
    if !running {
        return Ok(empty(StatusCode::NOT_MODIFIED));
    }
    let paths = ctx.paths.clone();
    let id = record.id.clone();
    crate::serve::blocking(move || Ok(crate::ops::stop::stop(&paths, &id, timeout)?)).await?;
    ctx.events.container("stop", &record.id, &actor(&record));
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/kill?signal=`: 204; 409 when it is not running.
pub async fn kill(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let signal = q
        .get("signal")
        .filter(|s| !s.is_empty())
        .unwrap_or("SIGKILL")
        .to_string();
    let paths = ctx.paths.clone();
    let sig = signal.clone();
    let id =
        crate::serve::blocking(move || Ok(crate::ops::kill::kill(&paths, &query, &sig)?)).await?;
    ctx.events.container("kill", &id, &[("signal", signal)]);
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/restart?t=`: stop (if running), then start.
pub async fn restart(ctx: Arc<Ctx>, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let timeout = stop_timeout(q)?;
    let paths = ctx.paths.clone();
    let id = crate::serve::blocking(move || Ok(crate::ops::stop::stop(&paths, &query, timeout)?))
        .await?;
    start(ctx, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE /containers/{id}?force=&v=`: 204; 409 for a running one without force.
pub async fn remove(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let opts = RemoveOptions {
        force: q.flag("force"),
        volumes: q.flag("v"),
    };
    let (record, _) = current(ctx, query).await?;
    let paths = ctx.paths.clone();
    let id = record.id.clone();
    crate::serve::blocking(move || Ok(crate::ops::remove::remove(&paths, &id, opts)?)).await?;
    ctx.events.container("destroy", &record.id, &actor(&record));
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/rename?name=`: 204; 409 when the name is taken.
pub async fn rename(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let name = q
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("a new name (name) must be given"))?
        .to_string();
    let paths = ctx.paths.clone();
    let new = name.clone();
    let id = crate::serve::blocking(move || Ok(crate::ops::rename::rename(&paths, &query, &new)?))
        .await?;
    ctx.events.container("rename", &id, &[("name", name)]);
    Ok(empty(StatusCode::NO_CONTENT))
}
