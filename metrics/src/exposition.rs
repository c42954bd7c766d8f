//! The two text formats served: OpenMetrics (what `prometheus-client` encodes, and what
//! Prometheus asks for) and the classic Prometheus text format 0.0.4 (for clients that
//! do not ask for OpenMetrics, and for `promtool check metrics`).

/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
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

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }
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
    fn prometheus_asks_for_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
