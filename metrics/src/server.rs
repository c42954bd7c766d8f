//! The HTTP side: `/metrics` and `/seccomp-profile?container=ID[&mode=complain]` on
//! one thread, with the BPF event stream drained and discovery refreshed between
//! requests.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Response, Server};

use crate::events::{self, Clock};
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
    /// `--events-file` could not be opened for appending.
    #[error("opening the audit events file {path}: {source}")]
    EventsFile {
        /// The file.
        path: PathBuf,
        /// What opening it failed with.
        source: std::io::Error,
    },
    /// The BPF ring buffer of process events could not be read.
    #[error("subscribing to BPF process events: {0}")]
    Events(#[from] berth_ebpf::Error),
}

/// How often discovery runs between scrapes (keeps the watch list current).
const REFRESH_EVERY: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(100);

/// Serves `/metrics` on `addr` until the process is killed. Process events go to
/// `events_file` as JSON lines when given (and are drained and dropped otherwise, so
/// the ring buffer never fills for lack of a reader).
pub fn serve(
    exporter: &mut Exporter,
    addr: SocketAddr,
    events_file: Option<PathBuf>,
) -> Result<(), ServeError> {
    let server = Server::http(addr).map_err(|e| ServeError::Listen {
        addr,
        message: e.to_string(),
    })?;
    let mut audit: Option<File> = match events_file {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| ServeError::EventsFile { path, source })?,
        ),
        None => None,
    };
    let mut stream = match exporter.probes() {
        Some(probes) => Some(probes.process_events()?),
        None => None,
    };
    let clock = Clock::new();
    tracing::info!(%addr, "serving /metrics");
    let mut last_refresh = Instant::now();
    exporter.refresh();
    loop {
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => handle(exporter, request),
            Ok(None) => {}
            Err(e) => tracing::warn!("accepting an HTTP request: {e}"),
        }
        if last_refresh.elapsed() >= REFRESH_EVERY {
            exporter.refresh();
            last_refresh = Instant::now();
        }
        if let Some(stream) = stream.as_mut() {
            match stream.poll(Duration::ZERO) {
                Ok(batch) => {
                    if let Some(out) = audit.as_mut() {
                        for event in &batch {
                            let record =
                                events::record(event, exporter.container(event.cgroup_id), &clock);
                            if let Err(e) = events::write_line(out, &record) {
                                tracing::warn!("writing an audit event: {e}");
                            }
                        }
                        let _ = out.flush();
                    }
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }
}

fn handle(exporter: &mut Exporter, request: tiny_http::Request) {
    let path = request.url().split('?').next().unwrap_or("");
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
