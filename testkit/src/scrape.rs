//! Scraping an exporter over HTTP and reading samples out of the text exposition.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

/// A plain HTTP/1.0 GET of `path` on 127.0.0.1:`port`, with `Accept: accept` when
/// given: the whole response (status line, headers, body). Reads time out after 10 s.
pub fn http_get(port: u16, path: &str, accept: Option<&str>) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{accept}\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The body of `/metrics` on 127.0.0.1:`port`; None while nothing answers there (or the
/// answer has no header/body separator), for tests that wait for an exporter to serve.
pub fn metrics_body(port: u16) -> Option<String> {
    let response = http_get(port, "/metrics", None).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// The value of the first sample of `metric` carrying every label in `labels`.
pub fn sample(exposition: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        if !labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        {
            return None;
        }
        rest.rsplit(' ').next()?.parse().ok()
    })
}

/// Every line mentioning `needle`.
pub fn lines_with<'a>(exposition: &'a str, needle: &str) -> Vec<&'a str> {
    exposition.lines().filter(|l| l.contains(needle)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_needs_the_metric_name_whole_and_every_label() {
        let text = "m_total{a=\"1\",b=\"2\"} 3\nm_total_x{a=\"1\"} 9\nm 4\n";
        assert_eq!(
            sample(text, "m_total", &[("a", "1"), ("b", "2")]),
            Some(3.0)
        );
        assert_eq!(sample(text, "m_total", &[("a", "2")]), None);
        assert_eq!(sample(text, "m", &[]), Some(4.0));
        assert_eq!(lines_with(text, "a=\"1\"").len(), 2);
    }
}
