//! `--log`, `--log-format`, `--debug`: where the runtime's own messages go.
//!
//! containerd's runc shim reads the log file as JSON lines with `level`, `msg` and `time`
//! (runc's logrus format) to report why a command failed, so the JSON format is exactly
//! that, not tracing-subscriber's nested one.

use std::fmt;
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

struct RuncJson;

impl<S, N> FormatEvent<S, N> for RuncJson
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
        let mut msg = MessageVisitor(String::new());
        event.record(&mut msg);
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let line = serde_json::json!({
            "level": level,
            "msg": msg.0,
            "time": berth_state::Timestamp::now().to_string(),
        });
        writeln!(w, "{line}")
    }
}

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(&format!("{}={value:?}", field.name()));
        }
    }
}

/// Install the subscriber. Without `--log`, messages go to stderr.
pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<()> {
    let level = if debug { Level::DEBUG } else { Level::WARN };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false);
    match (log, format) {
        (Some(path), f) => {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            let builder = builder.with_writer(Mutex::new(file));
            match f {
                LogFormat::Json => builder.event_format(RuncJson).init(),
                LogFormat::Text => builder.init(),
            }
        }
        (None, LogFormat::Json) => builder
            .with_writer(std::io::stderr)
            .event_format(RuncJson)
            .init(),
        (None, LogFormat::Text) => builder
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .init(),
    }
    Ok(())
}
