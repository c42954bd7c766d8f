//! `--log`, `--log-format`, `--debug`: where the runtime's own messages go.
//!
//! containerd's runc shim reads the log file as JSON lines with `level`, `msg` and `time`
//! (runc's logrus format) to report why a command failed, so the JSON format is exactly
//! that, not tracing-subscriber's nested one. The text format is logrus's as runc writes
//! it (its stderr not a terminal): `time="..." level=debug msg="..." key=value`.

use std::fmt;
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// logrus's formats, as runc writes them. JSON: one object per line with `level`, `msg`,
/// `time` and the event's other fields, keys sorted. Text: `time`, `level`, `msg`, then the
/// other fields sorted by name; a value is quoted (Go's `%q`) unless it is all letters,
/// digits and `-._/@^+`. Times in RFC 3339 with whole seconds, UTC, as logrus's.
struct Logrus(LogFormat);

impl<S, N> FormatEvent<S, N> for Logrus
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        fields.others.sort();
        let time = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let level = logrus_level(event.metadata().level());
        if self.0 == LogFormat::Json {
            let mut line = serde_json::Map::new();
            for (name, value) in fields.others {
                line.insert(name.into(), value.into());
            }
            line.insert("level".into(), level.into());
            line.insert("msg".into(), fields.msg.into());
            line.insert("time".into(), time.into());
            return writeln!(w, "{}", serde_json::Value::Object(line));
        }
        write!(
            w,
            "time={} level={level} msg={}",
            logrus_value(&time),
            logrus_value(&fields.msg)
        )?;
        for (name, value) in &fields.others {
            write!(w, " {name}={}", logrus_value(value))?;
        }
        writeln!(w)
    }
}

/// logrus's name of a level.
fn logrus_level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// An event's message and its other fields, each as text.
#[derive(Default)]
struct EventFields {
    msg: String,
    others: Vec<(&'static str, String)>,
}

impl tracing::field::Visit for EventFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.record(field, value.to_string());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl EventFields {
    fn record(&mut self, field: &tracing::field::Field, value: String) {
        if field.name() == "message" {
            self.msg = value;
        } else {
            self.others.push((field.name(), value));
        }
    }
}

/// `value` as logrus writes it: bare when every character is one of its safe ones, else
/// quoted and escaped as Go's `strconv.Quote` does.
fn logrus_value(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._/@^+".contains(c);
    if value.chars().all(safe) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Install the subscriber. Without `--log`, messages go to stderr.
pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<()> {
    let level = if debug { Level::DEBUG } else { Level::WARN };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .event_format(Logrus(format));
    match log {
        Some(path) => {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            builder.with_writer(Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::logrus_value;

    #[test]
    fn values_are_quoted_as_logrus_quotes_them() {
        assert_eq!(logrus_value("debug"), "debug");
        assert_eq!(
            logrus_value("/run/berth-1.2_x@y^z+w"),
            "/run/berth-1.2_x@y^z+w"
        );
        assert_eq!(logrus_value(""), "");
        assert_eq!(logrus_value("a b"), "\"a b\"");
        assert_eq!(
            logrus_value("2026-01-02T03:04:05Z"),
            "\"2026-01-02T03:04:05Z\""
        );
        assert_eq!(
            logrus_value("exec: \"/x\"\n\\ \u{1}"),
            "\"exec: \\\"/x\\\"\\n\\\\ \\x01\""
        );
    }
}
