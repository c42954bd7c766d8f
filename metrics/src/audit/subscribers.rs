//! `GET /events[?container=ID|NAME][&type=T[,T...]]`: the stream over HTTP,
//! newline-delimited JSON, one writer thread per subscriber.
//!
//! The dispatcher never waits for a subscriber: each has a bounded queue, filled with
//! `try_send`; a subscriber whose queue is full is dropped (its writer thread ends the
//! response and closes the connection once its pending write returns), so a slow or
//! stalled consumer can cost only itself.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_ebpf::EventType;

use super::record::Record;

/// Lines a subscriber may be behind before it is disconnected.
pub const QUEUE_LINES: usize = 16 * 1024;

/// Which records a subscriber wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this container (its id or its name).
    pub container: Option<String>,
    /// Only these types (empty: all).
    pub types: Vec<EventType>,
}

impl Filter {
    /// The filter of query string `query` (`container=...&type=a,b`); an unknown
    /// parameter or type is an error naming it.
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut filter = Filter::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = crate::seccomp_advice::client::decode(value)
                .ok_or_else(|| format!("bad percent-encoding in {pair}"))?;
            match key {
                "container" if !value.is_empty() => filter.container = Some(value),
                "type" => {
                    for name in value.split(',').filter(|n| !n.is_empty()) {
                        let t = EventType::from_name(name)
                            .ok_or_else(|| format!("unknown event type {name:?}"))?;
                        filter.types.push(t);
                    }
                }
                _ => return Err(format!("unknown query parameter {pair}")),
            }
        }
        Ok(filter)
    }

    /// Whether `record` passes.
    pub fn matches(&self, record: &Record) -> bool {
        if !self.types.is_empty() && !self.types.iter().any(|t| t.name() == record.event_type) {
            return false;
        }
        match &self.container {
            None => true,
            Some(want) => record
                .container
                .as_ref()
                .is_some_and(|c| &c.id == want || &c.name == want),
        }
    }
}

struct Subscriber {
    filter: Filter,
    queue: SyncSender<Arc<str>>,
}

/// The subscribers of the HTTP stream.
#[derive(Default)]
pub struct Subscribers {
    list: Mutex<Vec<Subscriber>>,
}

impl Subscribers {
    /// Queues `line` (the JSON of `record`, with its newline) for every subscriber
    /// whose filter passes it; drops those whose queue is full or whose connection
    /// is gone.
    pub fn publish(&self, record: &Record, line: &Arc<str>) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|s| {
            if !s.filter.matches(record) {
                return true;
            }
            match s.queue.try_send(Arc::clone(line)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(filter = ?s.filter, "an /events subscriber fell {QUEUE_LINES} lines behind: disconnected");
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    /// How many are connected.
    pub fn len(&self) -> usize {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers `request` with the stream of records `filter` passes, from a thread of
    /// its own, until the client goes away or falls behind.
    pub fn serve(&self, request: tiny_http::Request, filter: Filter) {
        let lines = self.add(filter, QUEUE_LINES);
        let spawned = std::thread::Builder::new()
            .name("events-subscriber".into())
            .spawn(move || write_stream(request.into_writer(), &lines));
        if let Err(e) = spawned {
            tracing::warn!("starting an /events writer thread: {e}");
        }
    }
}

impl Subscribers {
    /// A new subscriber whose queue holds `capacity` lines: the lines `filter` passes
    /// arrive on the receiver until it falls `capacity` behind.
    fn add(&self, filter: Filter, capacity: usize) -> Receiver<Arc<str>> {
        let (queue, lines) = mpsc::sync_channel(capacity);
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Subscriber { filter, queue });
        lines
    }
}

fn write_stream(mut out: Box<dyn Write + Send>, lines: &Receiver<Arc<str>>) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    if out
        .write_all(head.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return;
    }
    loop {
        // A newline now and then finds a closed connection while nothing happens.
        let first = match lines.recv_timeout(Duration::from_secs(15)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if out.write_all(b"\n").and_then(|()| out.flush()).is_err() {
                    return;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut result = out.write_all(first.as_bytes());
        for line in lines.try_iter() {
            if result.is_err() {
                break;
            }
            result = out.write_all(line.as_bytes());
        }
        if result.and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(container: &str) -> Record {
        let event = berth_ebpf::AuditEvent {
            event_type: EventType::ProcessExec,
            task: berth_ebpf::EventTask {
                timestamp_ns: 0,
                cgroup_id: 1,
                pid: 1,
                ppid: 0,
                uid: 0,
                comm: "sh".into(),
            },
            detail: berth_ebpf::EventDetail::Exec {
                filename: "/bin/sh".into(),
                argv: vec!["sh".into()],
                argv_truncated: false,
            },
        };
        let mut record =
            super::super::record::from_kernel(&event, None, &Default::default(), None, None);
        record.container = Some(super::super::record::ContainerInfo {
            id: container.into(),
            name: format!("{container}-name"),
            image: String::new(),
            runtime: "berth",
        });
        record
    }

    #[test]
    fn a_subscriber_that_falls_behind_is_dropped_without_blocking_the_others() {
        let subscribers = Subscribers::default();
        let slow = subscribers.add(Filter::default(), 2);
        let web = subscribers.add(
            Filter {
                container: Some("web-name".into()),
                types: Vec::new(),
            },
            100,
        );
        for container in ["web", "db", "web", "db"] {
            let r = record_of(container);
            subscribers.publish(&r, &Arc::from(format!("{container}\n")));
        }
        // The slow one got its 2 lines, then was dropped (not waited for).
        assert_eq!(subscribers.len(), 1);
        let got: Vec<Arc<str>> = slow.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert!(matches!(
            slow.try_recv(),
            Err(mpsc::TryRecvError::Disconnected)
        ));
        // The filtered one saw only its container's lines, by name.
        let got: Vec<String> = web.try_iter().map(|l| l.to_string()).collect();
        assert_eq!(got, ["web\n", "web\n"]);
    }

    #[test]
    fn query_strings_parse_or_name_the_fault() {
        let f = Filter::parse("container=web&type=process_exec,network_connect").expect("valid");
        assert_eq!(f.container.as_deref(), Some("web"));
        assert_eq!(f.types, [EventType::ProcessExec, EventType::NetworkConnect]);
        assert!(
            Filter::parse("type=nope")
                .expect_err("unknown type")
                .contains("nope")
        );
        assert!(
            Filter::parse("colour=red")
                .expect_err("unknown key")
                .contains("colour")
        );
        assert_eq!(Filter::parse("").expect("empty"), Filter::default());
    }
}
