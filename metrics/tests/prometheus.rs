//! The exporter binary as Prometheus sees it: `promtool check metrics` on a real scrape,
//! and a real Prometheus server (Debian's `prometheus` package) scraping it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testkit::cgroup::TestCgroup;
use berth_testkit::child::Spawned;
use berth_testkit::ids::unique_name;
use berth_testkit::root::require_root;
use berth_testkit::scrape::{free_port, http_get};
use berth_testkit::tools::require_tool;
use berth_testkit::wait::wait_for;
use berth_testkit::workload::{Workload, WorkloadChild, workload_child_main};
use common::promtool::check_metrics;
use common::{exporter_binary, write_berth_state};

const CHILD: &str = "workload_child";

#[test]
fn workload_child() {
    workload_child_main();
}

/// Arguments pointing the exporter at `state` only, counting every container's
/// syscalls (the default counts annotated ones only).
fn exporter_args(state: &Path, empty: &Path) -> Vec<String> {
    vec![
        "--syscalls=all".into(),
        "--berth-root".into(),
        state.display().to_string(),
        "--runc-root".into(),
        empty.display().to_string(),
        "--crun-root".into(),
        empty.display().to_string(),
    ]
}

#[test]
fn promtool_check_metrics_passes_on_a_real_scrape() {
    if !require_root() {
        return;
    }
    require_tool("promtool", "prometheus");
    let state = tempfile::tempdir().expect("state dir");
    let empty = tempfile::tempdir().expect("empty dir");
    let cg = TestCgroup::new("promtool", &["memory", "cpu", "cpuacct", "pids"]);
    let id = unique_name("promtool");
    write_berth_state(state.path(), &id, "linted", "busybox:1.36", &cg, 0);
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 10,
            linger: true,
            ..Workload::default()
        },
        &cg,
    );
    child.run();

    let output = Command::new(exporter_binary())
        .arg("--once")
        .args(exporter_args(state.path(), empty.path()))
        .output()
        .expect("running berth-exporter --once");
    assert!(
        output.status.success(),
        "berth-exporter --once: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8 exposition");
    assert!(text.contains("name=\"linted\""), "{text}");

    if let Err(report) = check_metrics(&text) {
        panic!("promtool check metrics failed:\n{report}\n--- exposition ---\n{text}");
    }
    child.finish();
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_exporter_and_its_api_returns_the_container_series() {
    if !require_root() {
        return;
    }
    require_tool("prometheus", "prometheus");
    let state = tempfile::tempdir().expect("state dir");
    let empty = tempfile::tempdir().expect("empty dir");
    let cg = TestCgroup::new("prom", &["memory", "pids"]);
    let id = unique_name("prom");
    let name = format!("scraped-{}", std::process::id());
    write_berth_state(state.path(), &id, &name, "busybox:1.36", &cg, 0);
    // A neighbour named with the injection of issue 9 (2.8): Prometheus must still take
    // the whole scrape and store no series of the name's making.
    let hostile_cg = TestCgroup::new("prom-injection", &["memory", "pids"]);
    let hostile = "x\"} 0\nforged_series{id=\"x\"} 1\n";
    let hostile_id = unique_name("prom-injection");
    write_berth_state(state.path(), &hostile_id, hostile, hostile, &hostile_cg, 0);

    let exporter_port = free_port();
    let _exporter = Spawned(
        Command::new(exporter_binary())
            .args(["--listen", &format!("127.0.0.1:{exporter_port}")])
            .args(exporter_args(state.path(), empty.path()))
            .stdout(Stdio::null())
            .spawn()
            .expect("starting berth-exporter"),
    );
    let plain = wait_for("the exporter to answer", Duration::from_secs(30), || {
        http_get(exporter_port, "/metrics", None)
            .ok()
            .filter(|r| r.contains(&name))
    });
    assert!(plain.contains("text/plain; version=0.0.4"), "{plain}");
    let om = http_get(
        exporter_port,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0"),
    )
    .expect("OpenMetrics scrape");
    assert!(
        om.contains("application/openmetrics-text") && om.trim_end().ends_with("# EOF"),
        "{om}"
    );

    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 5000,
            linger: true,
            ..Workload::default()
        },
        &cg,
    );
    child.run();

    let data = tempfile::tempdir().expect("prometheus data dir");
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: berth\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        ),
    )
    .expect("writing prometheus.yml");
    let prometheus_port = free_port();
    let _prometheus = Spawned(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prometheus"),
    );

    let query = |q: &str| {
        let path = format!("/api/v1/query?query={}", url_encode(q));
        http_get(prometheus_port, &path, None)
            .ok()
            .filter(|r| r.contains("\"status\":\"success\"") && r.contains(&name))
    };
    let last_seen = wait_for(
        "Prometheus to hold the container's series",
        Duration::from_secs(60),
        || query(&format!("container_last_seen{{name=\"{name}\"}}")),
    );
    assert!(
        last_seen.contains("\"image\":\"busybox:1.36\""),
        "{last_seen}"
    );
    let syscalls = wait_for(
        "the container's getppid count",
        Duration::from_secs(30),
        || {
            query(&format!(
                "berth_container_syscalls_total{{name=\"{name}\",syscall=\"getppid\"}} >= 5000"
            ))
        },
    );
    assert!(syscalls.contains("getppid"), "{syscalls}");

    let answer = |q: &str| {
        let path = format!("/api/v1/query?query={}", url_encode(q));
        http_get(prometheus_port, &path, None)
            .ok()
            .filter(|r| r.contains("\"status\":\"success\""))
    };
    // PromQL strings take the same escapes as the exposition.
    let injected = r#"container_last_seen{name="x\"} 0\nforged_series{id=\"x\"} 1\n"}"#;
    wait_for(
        "the injected container's series",
        Duration::from_secs(30),
        || answer(injected).filter(|r| r.contains("\"result\":[{")),
    );
    let up = answer(r#"up{job="berth"}"#).expect("querying up");
    assert!(up.contains(r#""1"]"#), "the scrape failed: {up}");
    let forged = answer(r#"{__name__=~"forged.*"}"#).expect("querying forged series");
    assert!(forged.contains(r#""result":[]"#), "{forged}");
    child.finish();
}
