//! The two text formats served: OpenMetrics (what `prometheus-client` encodes, and what
//! Prometheus asks for) and the classic Prometheus text format 0.0.4 (for clients that
//! do not ask for OpenMetrics, and for `promtool check metrics`).
//!
//! Label values come from containers (names, images, annotations, cgroup paths) and
//! are untrusted: every one is a [`LabelValue`], which escapes itself.

use std::fmt;

use prometheus_client::encoding::text::encode as encode_openmetrics;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::families::{Families, label};

/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text ([`OPENMETRICS_CONTENT_TYPE`]).
    OpenMetrics,
    /// Prometheus text format 0.0.4 ([`PROMETHEUS_CONTENT_TYPE`]).
    Prometheus,
}

impl Format {
    /// The format for an HTTP `Accept` header.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The HTTP `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }
}

/// `families` as one exposition in `format`, with `berth_exporter_build_info` last.
/// Families come in the order [`Families`] declares them, and each family's series in
/// the byte order of their sample lines (prometheus-client writes them in hash-map
/// order), so the same families always give the same text.
pub fn encode(families: &Families, format: Format) -> String {
    let mut registry = Registry::default();
    families.register(&mut registry);
    registry.register(
        "berth_exporter_build",
        "berth-exporter version",
        Info::new(vec![label("version", env!("CARGO_PKG_VERSION"))]),
    );
    let mut openmetrics = String::new();
    if let Err(e) = encode_openmetrics(&mut openmetrics, &registry) {
        // Writing into a String fails only on a formatting bug.
        tracing::error!("encoding the exposition: {e}");
    }
    let openmetrics = sort_series(&openmetrics);
    match format {
        Format::OpenMetrics => openmetrics,
        Format::Prometheus => openmetrics_to_prometheus(&openmetrics),
    }
}

/// Sorts the sample lines between two `#` lines (one family's series). Every series
/// here is one line (counters without `_created`, gauges, an info), and a line's label
/// set ends before its value, so no two lines sort by their values.
fn sort_series(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut samples: Vec<&str> = Vec::new();
    for line in openmetrics.lines() {
        if line.starts_with('#') {
            push_sorted(&mut out, &mut samples);
            out.push_str(line);
            out.push('\n');
        } else {
            samples.push(line);
        }
    }
    push_sorted(&mut out, &mut samples);
    out
}

/// Appends `lines` to `out` in byte order, one a line, and empties `lines`.
fn push_sorted(out: &mut String, lines: &mut Vec<&str>) {
    lines.sort_unstable();
    for line in lines.drain(..) {
        out.push_str(line);
        out.push('\n');
    }
}

/// A label value, escaped when encoded. prometheus-client writes label values as they
/// are (prometheus/client_rust#151), so a `"` or a line feed in a container's name
/// would end the value early and let the rest of the name write series of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelValue(String);

impl LabelValue {
    /// The value as given, unescaped.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for LabelValue {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for LabelValue {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        write_escaped_label_value(encoder, &self.0)
    }
}

/// Writes `value` between a label's quotes: `\` as `\\`, `"` as `\"`, line feed as
/// `\n`, every other character as it is. The Prometheus text format 0.0.4 and
/// OpenMetrics 1.0 both define exactly these three escapes for label values, so one
/// encoding serves both formats (and [`openmetrics_to_prometheus`] keeps sample lines).
pub fn write_escaped_label_value<W: fmt::Write + ?Sized>(out: &mut W, value: &str) -> fmt::Result {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '\n']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

/// Whether `help` can be written as it is in both formats: HELP text escapes `\\` and
/// line feed in both, and `"` in OpenMetrics only, so help with none of them needs no
/// escaping (prometheus-client writes it raw). Checked at compile time for every family.
pub const fn help_needs_no_escaping(help: &str) -> bool {
    let bytes = help.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b'\\' | b'"' | b'\n') {
            return false;
        }
        i += 1;
    }
    true
}

/// Rewrites an OpenMetrics exposition as Prometheus text: counter families are named
/// with their `_total` suffix, info families become gauges named `_info`, `# UNIT`
/// and `# EOF` lines go.
pub fn openmetrics_to_prometheus(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // Written once the TYPE line tells the family's sample name.
            pending_help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "gaugehistogram" | "stateset" | "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            if let Some(help) = pending_help.take() {
                let text = help.split_once(' ').map_or("", |(_, text)| text);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_infos_get_their_sample_names() {
        let om = "\
# HELP container_cpu_usage_seconds Cumulative CPU time.
# TYPE container_cpu_usage_seconds counter
# UNIT container_cpu_usage_seconds seconds
container_cpu_usage_seconds_total{id=\"/berth/a\"} 1.5
# HELP berth_exporter_build Build.
# TYPE berth_exporter_build info
berth_exporter_build_info{version=\"0.1.0\"} 1
# EOF
";
        let text = openmetrics_to_prometheus(om);
        assert_eq!(
            text,
            "\
# HELP container_cpu_usage_seconds_total Cumulative CPU time.
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{id=\"/berth/a\"} 1.5
# HELP berth_exporter_build_info Build.
# TYPE berth_exporter_build_info gauge
berth_exporter_build_info{version=\"0.1.0\"} 1
"
        );
    }

    #[test]
    fn series_are_sorted_within_their_family_and_families_keep_their_order() {
        let om = "\
# HELP b_gauge B.
# TYPE b_gauge gauge
b_gauge{id=\"z\"} 1
b_gauge{id=\"a\\\"} 0\"} 3
b_gauge{id=\"a\"} 2
# HELP a_gauge A.
# TYPE a_gauge gauge
a_gauge{id=\"y\"} 9
a_gauge{id=\"x\"} 8
# EOF
";
        assert_eq!(
            sort_series(om),
            "\
# HELP b_gauge B.
# TYPE b_gauge gauge
b_gauge{id=\"a\"} 2
b_gauge{id=\"a\\\"} 0\"} 3
b_gauge{id=\"z\"} 1
# HELP a_gauge A.
# TYPE a_gauge gauge
a_gauge{id=\"x\"} 8
a_gauge{id=\"y\"} 9
# EOF
"
        );
    }

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        write_escaped_label_value(&mut out, value).expect("writing into a String");
        out
    }

    #[test]
    fn label_values_escape_backslash_quote_and_line_feed_only() {
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped(r#"a"b"#), r#"a\"b"#);
        assert_eq!(escaped(r"a\b"), r"a\\b");
        assert_eq!(escaped("a\nb"), r"a\nb");
        assert_eq!(escaped(r#"\""#), r#"\\\""#);
        // Neither format escapes anything else: CR, tab, NUL and non-ASCII stay.
        assert_eq!(
            escaped("\r\t\0é\u{2028}\u{fffd}"),
            "\r\t\0é\u{2028}\u{fffd}"
        );
        assert_eq!(
            escaped("x\"} 0\nforged_series{id=\"x\"} 1"),
            r#"x\"} 0\nforged_series{id=\"x\"} 1"#
        );
    }

    #[test]
    fn help_with_quote_backslash_or_line_feed_is_refused() {
        assert!(help_needs_no_escaping("Cumulative cpu time (seconds)"));
        assert!(!help_needs_no_escaping("a \"b\""));
        assert!(!help_needs_no_escaping(r"a\b"));
        assert!(!help_needs_no_escaping("a\nb"));
    }

    #[test]
    fn prometheus_asks_for_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
