//! `top` and `stats`: the engine's readings (`ops::top`, `ops::stats`) in the Docker API's
//! shapes; `stats` samples once a second while streaming, as dockerd does.

use std::time::Duration;

use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use crate::ops::stats::StatsSample;
use crate::serve::error::ApiResult;
use crate::serve::http::{Body, Query, json as json_reply, streaming};
use crate::serve::{Ctx, blocking};

/// `GET /containers/{id}/top`: `{"Titles": [...], "Processes": [[...]]}`.
pub async fn top(ctx: &Ctx, query: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    let t = blocking(move || Ok(crate::ops::top::top(&paths, &query)?)).await?;
    Ok(json_reply(
        StatusCode::OK,
        &json!({"Titles": t.titles, "Processes": t.processes}),
    ))
}

/// How long between two samples (docker's collection interval).
const INTERVAL: Duration = Duration::from_secs(1);

/// `GET /containers/{id}/stats?stream=&one-shot=`: with `stream=false` one document
/// (its `precpu_stats` from a sample a second earlier unless `one-shot`, so that the CLI
/// computes a CPU %), else one per second until the client goes away or the container
/// ends.
pub async fn stats(ctx: &Ctx, query: String, q: &Query) -> ApiResult<Response<Body>> {
    let stream = q.get("stream").is_none_or(|_| q.flag("stream"));
    let one_shot = q.flag("one-shot");
    let paths = ctx.paths.clone();
    let first = blocking(move || Ok(crate::ops::stats::sample(&paths, &query)?)).await?;
    if !stream {
        let paths = ctx.paths.clone();
        let (pre, cur) = if one_shot {
            (None, first)
        } else {
            let id = first.id.clone();
            tokio::time::sleep(INTERVAL).await;
            let cur = blocking(move || Ok(crate::ops::stats::sample(&paths, &id)?)).await?;
            (Some(first), cur)
        };
        return Ok(json_reply(StatusCode::OK, &document(pre.as_ref(), &cur)));
    }
    let (tx, response) = streaming("application/json");
    let paths = ctx.paths.clone();
    tokio::task::spawn_blocking(move || {
        let mut pre: Option<StatsSample> = None;
        let mut cur = first;
        loop {
            let line = format!("{}\n", document(pre.as_ref(), &cur));
            if tx.blocking_send(line.into()).is_err() || !cur.running {
                return;
            }
            std::thread::sleep(INTERVAL);
            match crate::ops::stats::sample(&paths, &cur.id) {
                Ok(next) => pre = Some(std::mem::replace(&mut cur, next)),
                // Removed meanwhile: the stream ends.
                Err(_) => return,
            }
        }
    });
    Ok(response)
}

fn rfc3339(at: f64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_secs_f64(at.max(0.0));
    berth_state::Timestamp::from(t).to_string()
}

fn cpu(s: Option<&StatsSample>) -> Value {
    match s {
        Some(s) => json!({
            "cpu_usage": {"total_usage": s.cpu_usage_ns, "usage_in_kernelmode": 0,
                          "usage_in_usermode": 0},
            "system_cpu_usage": s.system_cpu_ns,
            "online_cpus": s.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        }),
        None => json!({"cpu_usage": {"total_usage": 0}, "throttling_data": {}}),
    }
}

/// docker's stats document (the fields its CLI reads).
fn document(pre: Option<&StatsSample>, s: &StatsSample) -> Value {
    json!({
        "read": rfc3339(s.read_at),
        "preread": pre.map(|p| rfc3339(p.read_at)).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "id": s.id,
        "name": format!("/{}", s.name),
        "pids_stats": {"current": s.pids},
        "cpu_stats": cpu(Some(s)),
        "precpu_stats": cpu(pre),
        // The engine's usage already leaves the inactive page cache out (docker's MEM
        // USAGE), so no `stats` for the CLI to subtract.
        "memory_stats": {"usage": s.memory_usage, "limit": s.memory_limit, "stats": {}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": s.block_read},
            {"major": 0, "minor": 0, "op": "write", "value": s.block_write},
        ]},
        "networks": {"eth0": {"rx_bytes": s.net_rx, "tx_bytes": s.net_tx, "rx_packets": 0,
            "tx_packets": 0, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0,
            "tx_dropped": 0}},
    })
}
