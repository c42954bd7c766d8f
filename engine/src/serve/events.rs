//! `GET /events`: what happened to containers (create, start, die, destroy, ...) as
//! docker's JSON lines, live, with the recent past kept in memory for `since`.
//!
//! The events are those this server saw happen: actions taken through the API and the
//! exits of containers it waits for. A container started by the `berth` CLI shows up in
//! `docker ps` (the store is shared) but its events are not in this stream.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::{ApiError, ApiResult};
use super::http::{Body, Query};

/// Events kept for `since`.
const KEPT: usize = 256;

/// One event, already in docker's JSON shape.
#[derive(Debug, Clone)]
pub struct Event {
    pub time_nano: i64,
    pub kind: &'static str,
    pub action: String,
    pub id: String,
    pub json: Value,
}

/// The server's event hub: a live channel and the recent past.
pub struct Events {
    tx: broadcast::Sender<Event>,
    recent: Mutex<VecDeque<Event>>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(KEPT).0,
            recent: Mutex::new(VecDeque::with_capacity(KEPT)),
        }
    }
}

impl Events {
    /// Records a container event; `attrs` are the actor's attributes (image, name, exit
    /// code for die).
    pub fn container(&self, action: &str, id: &str, attrs: &[(&str, String)]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let time_nano = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX);
        let attributes: serde_json::Map<String, Value> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        let from = attrs
            .iter()
            .find(|(k, _)| *k == "image")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let json = json!({
            "status": action, "id": id, "from": from,
            "Type": "container", "Action": action,
            "Actor": {"ID": id, "Attributes": attributes},
            "scope": "local",
            "time": now.as_secs(), "timeNano": time_nano,
        });
        let event = Event {
            time_nano,
            kind: "container",
            action: action.to_string(),
            id: id.to_string(),
            json,
        };
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(event.clone());
        drop(recent);
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }
}

/// The `filters` parameter (`{"type":["container"],"event":["start"]}`).
#[derive(Debug, Default)]
struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    fn parse(q: &Query) -> ApiResult<Self> {
        let f = super::filters::parse(q)?;
        super::filters::only(&f, &["type", "event", "container"], "events")?;
        Ok(Self(f))
    }

    fn matches(&self, e: &Event) -> bool {
        self.0.iter().all(|(k, vals)| match k.as_str() {
            "type" => vals.iter().any(|v| v == e.kind),
            "event" => vals.iter().any(|v| v == &e.action),
            "container" => vals.iter().any(|v| {
                e.id.starts_with(v.as_str())
                    || e.json["Actor"]["Attributes"]["name"].as_str() == Some(v.as_str())
            }),
            _ => false,
        })
    }
}

/// Docker's time parameters: unix seconds with an optional fraction.
fn parse_time(q: &Query, key: &str) -> ApiResult<Option<i64>> {
    let Some(t) = q.get(key).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let secs: f64 = t.parse().map_err(|_| {
        ApiError::bad_request(format!("invalid {key} {t:?}: expected unix seconds"))
    })?;
    Ok(Some((secs * 1e9) as i64))
}

/// `GET /events?since=&until=&filters=`.
pub fn stream(events: &Events, q: &Query) -> ApiResult<Response<Body>> {
    let filters = Filters::parse(q)?;
    let since = parse_time(q, "since")?;
    let until = parse_time(q, "until")?;
    let mut rx = events.tx.subscribe();
    let past: Vec<Event> = match since {
        Some(since) => events
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|e| e.time_nano >= since && until.is_none_or(|u| e.time_nano <= u))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(16);
    tokio::spawn(async move {
        let line = |e: &Event| Bytes::from(format!("{}\n", e.json));
        for e in past.iter().filter(|e| filters.matches(e)) {
            if tx.send(Frame::data(line(e))).await.is_err() {
                return;
            }
        }
        let deadline = until.map(|u| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            Duration::from_nanos(u64::try_from(u).unwrap_or(0)).saturating_sub(now)
        });
        let sleep = tokio::time::sleep(deadline.unwrap_or(Duration::from_secs(u64::MAX / 4)));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                got = rx.recv() => match got {
                    Ok(e) if filters.matches(&e) => {
                        if tx.send(Frame::data(line(&e))).await.is_err() { return; }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let mut r = Response::new(body.boxed());
    *r.status_mut() = StatusCode::OK;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}
