//! The HTTP side: `/metrics`, `/seccomp-profile?container=ID[&mode=complain]` and
//! `/events[?container=..][&type=..]` (the audit stream, see [`crate::audit`]) on one
//! listener; requests are answered on this thread (each `/events` subscriber then gets
//! a writer thread of its own), with discovery refreshed between requests: every
//! second, at once when a state directory changes (a container created: its syscalls
//! are counted before its process starts), and when the audit stream holds records of
//! a cgroup it does not know yet.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Response, Server};

use crate::audit::Audit;
use crate::audit::subscribers::Filter;
use crate::discovery::watch::StateWatch;
use crate::exporter::Exporter;
use crate::exposition::Format;
use crate::seccomp_advice::{self, Mode};

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("listening on {addr}: {message}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What binding it failed with.
        message: String,
    },
}

/// How often discovery runs between scrapes (keeps the watch list current).
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// The shortest gap between two discoveries the audit stream asks for.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_millis(100);
/// How long one wait for a request lasts: also how late a state change is noticed.
const POLL: Duration = Duration::from_millis(10);

/// Serves `/metrics` (and `/events` when `audit` runs) on `addr` until the process is
/// killed.
pub fn serve(
    exporter: &mut Exporter,
    addr: SocketAddr,
    audit: Option<Audit>,
) -> Result<(), ServeError> {
    let server = Server::http(addr).map_err(|e| ServeError::Listen {
        addr,
        message: e.to_string(),
    })?;
    let roots: Vec<_> = exporter
        .options()
        .state_dirs
        .iter()
        .map(|d| d.path.clone())
        .collect();
    let mut state_watch = StateWatch::new(&roots);
    tracing::info!(%addr, "serving /metrics");
    let mut last_refresh = Instant::now();
    refresh(exporter, audit.as_ref());
    loop {
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => handle(exporter, audit.as_ref(), request),
            Ok(None) => {}
            Err(e) => tracing::warn!("accepting an HTTP request: {e}"),
        }
        let changed = state_watch.as_mut().is_some_and(StateWatch::changed);
        // The audit stream's wish waits a little after the last discovery: it asks
        // again as long as records wait.
        let wanted = last_refresh.elapsed() >= REFRESH_AT_MOST_EVERY
            && audit.as_ref().is_some_and(Audit::refresh_wanted);
        if changed || wanted || last_refresh.elapsed() >= REFRESH_EVERY {
            refresh(exporter, audit.as_ref());
            last_refresh = Instant::now();
        }
    }
}

fn refresh(exporter: &mut Exporter, audit: Option<&Audit>) {
    exporter.refresh();
    if let Some(audit) = audit {
        audit.update_identities(exporter.containers());
    }
}

fn handle(exporter: &mut Exporter, audit: Option<&Audit>, request: tiny_http::Request) {
    let path = request.url().split('?').next().unwrap_or("");
    if (request.method(), path) == (&Method::Get, "/events") {
        return events(audit, request);
    }
    let (status, content_type, body) = match (request.method(), path) {
        (Method::Get, "/metrics") => {
            let accept = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_string());
            let format = Format::negotiate(accept.as_deref());
            (200, format.content_type(), exporter.scrape(format))
        }
        (Method::Get, seccomp_advice::client::PATH) => seccomp_profile(exporter, request.url()),
        (Method::Get, "/") => (200, TEXT, "berth-exporter: see /metrics\n".to_string()),
        _ => (404, TEXT, "not found\n".to_string()),
    };
    let mut response = Response::from_string(body).with_status_code(status);
    // Both parts are ASCII constants, which from_bytes accepts.
    if let Ok(header) = Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        response.add_header(header);
    }
    if let Err(e) = request.respond(response) {
        tracing::debug!("answering an HTTP request: {e}");
    }
}

/// `GET /events`: the audit stream from now on, filtered as the query says.
fn events(audit: Option<&Audit>, request: tiny_http::Request) {
    let query = request
        .url()
        .split_once('?')
        .map_or("", |(_, q)| q)
        .to_string();
    let refusal = match (audit, Filter::parse(&query)) {
        (Some(audit), Ok(filter)) => {
            audit.subscribers.serve(request, filter);
            return;
        }
        (None, _) => (
            404,
            "no audit stream: the exporter runs without BPF\n".to_string(),
        ),
        (_, Err(reason)) => (400, reason + "\n"),
    };
    let response = Response::from_string(refusal.1).with_status_code(refusal.0);
    if let Err(e) = request.respond(response) {
        tracing::debug!("answering an HTTP request: {e}");
    }
}

/// The answer to `GET /seccomp-profile?container=ID[&mode=complain]`: the profile as
/// JSON, or a status with a message saying why not
/// ([`seccomp_advice::AdviceError::http_status`]).
fn seccomp_profile(exporter: &mut Exporter, url: &str) -> (u16, &'static str, String) {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut container = None;
    let mut mode = Mode::Enforce;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(value) = seccomp_advice::client::decode(value) else {
            return (400, TEXT, format!("bad percent-encoding in {pair}\n"));
        };
        match (key, value.as_str()) {
            ("container", id) if !id.is_empty() => container = Some(value.clone()),
            ("mode", "complain") => mode = Mode::Complain,
            ("mode", "enforce") => mode = Mode::Enforce,
            _ => return (400, TEXT, format!("unknown query parameter {pair}\n")),
        }
    }
    let Some(id) = container else {
        return (400, TEXT, "missing ?container=ID\n".to_string());
    };
    let advice = seccomp_advice::advise(exporter, &id, mode);
    match advice.map(|a| serde_json::to_string_pretty(&a.profile)) {
        Ok(Ok(json)) => (200, JSON, json + "\n"),
        Ok(Err(e)) => (500, TEXT, format!("encoding the profile: {e}\n")),
        Err(e) => {
            tracing::info!(container = %id, "no seccomp advice: {e}");
            (e.http_status(), TEXT, format!("{e}\n"))
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
