//! `POST /containers/{id}/wait?condition=not-running|next-exit|removed`. The reply's
//! headers go out at once and the body (`{"StatusCode": N, "Error": null}`) when the
//! condition is met: the docker CLI sends `start` only after `/wait`'s headers arrive.
//!
//! Exit codes come from the container's state (its exit record) or, for containers this
//! server started, from their monitor's own report ([`Exits`]), which outlives an
//! `--rm` container's removal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use crate::container::{status, store};
use crate::serve::Ctx;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::http::{Body, Query};

/// How often a waiter looks at the container's state.
const POLL: Duration = Duration::from_millis(20);

/// Exit codes reported by the monitors of containers this server started, with a
/// sequence number per container (a `next-exit` waiter wants a later one).
#[derive(Debug, Default)]
pub struct Exits(Mutex<HashMap<String, (u64, i32)>>);

impl Exits {
    /// Records container `id`'s exit `code`.
    pub fn record(&self, id: &str, code: i32) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: only the recent past matters to waiters.
        if m.len() > 4096 {
            m.clear();
        }
        let seq = m.get(id).map_or(1, |(s, _)| s + 1);
        m.insert(id.to_string(), (seq, code));
    }

    /// The last exit recorded for `id`: (sequence, code).
    pub fn last(&self, id: &str) -> Option<(u64, i32)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }
}

/// The exit code an auto-removed container's monitor kept for waiters, if any.
fn kept_exit_code(paths: &crate::StorePaths, id: &str) -> Option<i32> {
    let kept = crate::ops::remove::kept_exit(paths, id);
    crate::atomic_file::read_json::<crate::container::exit::ExitRecord>(&kept)
        .ok()
        .flatten()
        .map(|exit| exit.exit_code)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

pub async fn wait(ctx: Arc<Ctx>, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let condition = match q.get("condition").unwrap_or("") {
        "" | "not-running" => Condition::NotRunning,
        "next-exit" => Condition::NextExit,
        "removed" => Condition::Removed,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid condition: {other:?} (not-running, next-exit or removed)"
            )));
        }
    };
    let paths = ctx.paths.clone();
    let (id, state) = crate::serve::blocking(move || {
        let id = store::resolve(&paths, &query)?;
        let record = store::load(&paths, &id)?;
        let state = status::derive(&paths, &record)?;
        Ok((id, state))
    })
    .await?;
    let seen_exit = ctx.exits.last(&id).map(|(s, _)| s).unwrap_or(0);
    let first_finish = state.finished_at;
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(1);
    let waiter = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let ctx = waiter;
        let mut last_code = state.exit_code;
        let code = loop {
            let reported = ctx.exits.last(&id).filter(|(s, _)| *s > seen_exit);
            let current = match store::load(&ctx.paths, &id) {
                Ok(r) => status::derive(&ctx.paths, &r).ok(),
                // Gone: removed (by `--rm`'s monitor or a DELETE).
                Err(_) => None,
            };
            let Some(st) = current else {
                // The monitor's report to this server can trail the removal by an
                // `--rm` monitor; the code the monitor kept for waiters is on disk
                // before the container's directory goes (ops::remove::kept_exit).
                break reported
                    .map(|(_, c)| c)
                    .or_else(|| kept_exit_code(&ctx.paths, &id))
                    .unwrap_or(last_code);
            };
            let starting = st.status == status::Status::Created && st.monitor.is_some();
            let stopped = !st.is_running() && !starting;
            if stopped {
                last_code = st.exit_code;
            }
            let exited_since = reported.is_some()
                || (stopped && st.finished_at.is_some() && st.finished_at != first_finish);
            match condition {
                Condition::NotRunning if stopped => break st.exit_code,
                Condition::NextExit if exited_since => {
                    break reported.map(|(_, c)| c).unwrap_or(st.exit_code);
                }
                _ => {}
            }
            std::thread::sleep(POLL);
        };
        let body = format!(
            "{}\n",
            serde_json::json!({"StatusCode": code, "Error": null})
        );
        let _ = tokio::runtime::Handle::current().block_on(tx.send_data(Bytes::from(body)));
    });
    let mut r = Response::new(body.boxed());
    *r.status_mut() = StatusCode::OK;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}
