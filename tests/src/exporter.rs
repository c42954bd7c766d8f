//! A running `berth-exporter` for end-to-end tests: watching a test runtime's state root
//! (and no runc/crun roots), on a free loopback port, killed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use berth_testkit::child::Spawned;
use berth_testkit::scrape::{free_port, http_get, metrics_body};
use berth_testkit::wait::wait_for;
use serde_json::Value;

use crate::{Runtime, bin};

/// How long the exporter may take to serve.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A running exporter.
pub struct Exporter {
    _child: Spawned,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
}

impl Exporter {
    /// Starts one discovering `rt`'s containers.
    pub fn start(rt: &Runtime) -> Self {
        Self::start_with(rt, &[])
    }

    /// Starts one discovering `rt`'s containers, with `extra` arguments.
    pub fn start_with(rt: &Runtime, extra: &[&str]) -> Self {
        let port = free_port();
        let child = Spawned(
            Command::new(bin("berth-exporter"))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--berth-root")
                .arg(rt.root.path())
                .args(["--runc-root", "/nonexistent", "--crun-root", "/nonexistent"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawning berth-exporter"),
        );
        let exporter = Self {
            _child: child,
            port,
        };
        wait_for("the exporter to serve", START_LIMIT, || metrics_body(port));
        exporter
    }

    /// Status and body of `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        let response = http_get(self.port, path, None).expect("GET from the exporter");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("an HTTP status");
        (status, body.to_string())
    }

    /// Subscribes to `GET /events?query`: each JSON line arrives on the receiver (from a
    /// reader thread that ends with the connection). Returns once the answer's head
    /// was read (the subscription is in place).
    pub fn subscribe(&self, query: &str) -> Receiver<Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting");
        write!(
            stream,
            "GET /events?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        .expect("sending the request");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).expect("reading the head");
            assert!(!line.is_empty(), "the exporter closed /events");
            if line == "\r\n" {
                break;
            }
            if line.starts_with("HTTP/") {
                assert!(line.contains(" 200 "), "GET /events?{query}: {line}");
            }
        }
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if !line.trim().is_empty() {
                    let value = serde_json::from_str(&line).expect("each line is JSON");
                    if sender.send(value).is_err() {
                        return;
                    }
                }
                line.clear();
            }
        });
        lines
    }
}

/// The JSON lines of the audit log at `path` (and nothing when it does not exist).
pub fn audit_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each audit log line is JSON"))
        .collect()
}
