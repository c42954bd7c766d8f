//! `GET /containers/{id}/logs?follow=&stdout=&stderr=&tail=&timestamps=&since=`:
//! `ops::logs::logs` streamed as docker's frames (raw for a TTY container, whose
//! output is one stream), each entry as it is read; with `follow` the reply ends when
//! the container stops.

use bytes::Bytes;
use hyper::Response;

use crate::container::store;
use crate::monitor::attach::frame_header;
use crate::monitor::logfile::LogEntry;
use crate::ops::logs::{LogsOptions, parse_since};
use crate::serve::Ctx;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::http::{Body, Query, streaming};

pub async fn logs(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let (stdout, stderr) = (q.flag("stdout"), q.flag("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let timestamps = q.flag("timestamps");
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(n.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("invalid tail {n:?}: a number or \"all\""))
        })?),
    };
    let since = match q.get("since").filter(|s| !s.is_empty() && *s != "0") {
        Some(s) => Some(parse_since(s)?),
        None => None,
    };
    let opts = LogsOptions {
        follow: q.flag("follow"),
        tail,
        since,
    };
    let paths = ctx.paths.clone();
    let (id, tty) = crate::serve::blocking(move || {
        let id = store::resolve(&paths, &query)?;
        let tty = store::load(&paths, &id)?.process.tty;
        Ok((id, tty))
    })
    .await?;
    let (tx, response) = streaming("application/vnd.docker.raw-stream");
    let paths = ctx.paths.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = |e: &LogEntry| -> std::io::Result<()> {
            let stream = if e.stream == "stderr" { 2 } else { 1 };
            if (stream == 1 && !stdout) || (stream == 2 && !stderr) {
                return Ok(());
            }
            let mut payload = Vec::with_capacity(e.log.len() + 40);
            if timestamps {
                payload.extend_from_slice(e.time.as_bytes());
                payload.push(b' ');
            }
            payload.extend_from_slice(e.log.as_bytes());
            let mut chunk = Vec::with_capacity(payload.len() + 8);
            if !tty {
                chunk.extend_from_slice(&frame_header(stream, payload.len()));
            }
            chunk.extend_from_slice(&payload);
            tx.blocking_send(Bytes::from(chunk))
                .map_err(|_| std::io::Error::other("the client went away"))
        };
        if let Err(e) = crate::ops::logs::logs(&paths, &id, &opts, &mut sink) {
            tracing::warn!("reading the log of container {id}: {e}");
        }
    });
    Ok(response)
}
