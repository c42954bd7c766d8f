//! berth-exporter against real cgroups, real BPF programs and real workloads.

mod common;

use std::fs;
use std::time::Duration;

use berth_ebpf::{ProbeOptions, Probes};
use berth_metrics::audit::Audit;
use berth_metrics::audit::log_file::LogOptions;
use berth_metrics::audit::policy::Policy;
use berth_metrics::{Exporter, Format};
use berth_testkit::cgroup::TestCgroup;
use berth_testkit::ids::unique_name;
use berth_testkit::root::require_root;
use berth_testkit::scrape::{lines_with, sample};
use berth_testkit::wait::wait_for;
use berth_testkit::workload::{Workload, WorkloadChild, tcp_sink, workload_child_main};
use common::{exporter_with_bpf, options, write_berth_state};

const CHILD: &str = "workload_child";

#[test]
fn workload_child() {
    workload_child_main();
}

#[test]
fn exposition_counts_a_known_workload_for_its_container_and_not_for_others() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let busy = TestCgroup::new("busy", &["memory", "cpu", "cpuacct", "pids"]);
    let idle = TestCgroup::new("idle", &["memory", "pids"]);
    let (busy_id, idle_id) = (unique_name("busy"), unique_name("idle"));
    write_berth_state(state.path(), &busy_id, "busy-web", "busybox:1.36", &busy, 0);
    write_berth_state(state.path(), &idle_id, "idle-db", "alpine:3", &idle, 0);
    let mut exporter = exporter_with_bpf(options(state.path(), None));
    exporter.refresh(); // watch both before the workload starts

    let (port, sink) = tcp_sink();
    let workload = Workload {
        getppid: 20_000,
        failures: 500,
        execs: 5,
        send_bytes: 1_000_000,
        port,
        ..Workload::default()
    };
    let mut child = WorkloadChild::spawn(CHILD, workload, &busy);
    child.run();
    assert!(child.finish().success());
    assert_eq!(sink.join().expect("sink"), 1_000_000);

    let text = exporter.scrape(Format::Prometheus);
    let busy_l = [("name", "busy-web"), ("image", "busybox:1.36")];
    let getppid = [("name", "busy-web"), ("syscall", "getppid")];
    let value =
        |metric: &str, labels: &[(&str, &str)]| sample(&text, metric, labels).unwrap_or(0.0);
    assert!(
        value("berth_container_syscalls_total", &getppid) >= 20_000.0,
        "{text}"
    );
    assert!(value("berth_container_syscall_errors_total", &busy_l) >= 500.0);
    assert!(value("berth_container_execs_total", &busy_l) >= 5.0);
    assert!(value("berth_container_forks_total", &busy_l) >= 5.0);
    assert!(value("container_network_transmit_bytes_total", &busy_l) >= 1_000_000.0);
    assert!(value("container_network_transmit_packets_total", &busy_l) >= 1.0);
    assert!(value("container_cpu_usage_seconds_total", &busy_l) > 0.0);
    assert_eq!(
        value("container_start_time_seconds", &busy_l),
        1_767_323_045.0
    );
    assert!(sample(&text, "container_last_seen", &busy_l).is_some());
    assert!(sample(&text, "berth_exporter_build_info", &[]).is_some());
    assert!(sample(&text, "berth_exporter_scrape_duration_seconds", &[]).is_some());

    // The idle container has cgroup series but none of the busy one's activity.
    let idle_l = [("name", "idle-db")];
    assert!(sample(&text, "container_memory_usage_bytes", &idle_l).is_some());
    assert!(
        value(
            "berth_container_syscalls_total",
            &[("name", "idle-db"), ("syscall", "getppid")]
        ) < 1.0
    );
    assert!(value("berth_container_execs_total", &idle_l) < 1.0);
    assert!(value("container_network_transmit_bytes_total", &idle_l) < 1.0);
}

#[test]
fn per_syscall_labels_can_be_turned_off() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("nolabels", &["memory"]);
    let id = unique_name("nolabels");
    write_berth_state(state.path(), &id, "quiet", "img", &cg, 0);
    let mut opts = options(state.path(), None);
    opts.per_syscall_labels = false;
    let mut exporter = exporter_with_bpf(opts);
    exporter.refresh();
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 3000,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    child.finish();
    let text = exporter.scrape(Format::Prometheus);
    let lines = lines_with(&text, "berth_container_syscalls_total{");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(!lines[0].contains("syscall="));
    assert!(
        sample(
            &text,
            "berth_container_syscalls_total",
            &[("name", "quiet")]
        )
        .unwrap_or(0.0)
            >= 3000.0
    );
}

#[test]
fn working_set_matches_the_cgroup_files() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("wset", &["memory", "pids"]);
    let id = unique_name("wset");
    write_berth_state(state.path(), &id, "wset", "img", &cg, 0);
    let mut exporter = exporter_with_bpf(options(state.path(), None));
    let workload = Workload {
        touch_bytes: 64 << 20,
        linger: true,
        ..Workload::default()
    };
    let mut child = WorkloadChild::spawn(CHILD, workload, &cg);
    child.run();

    let memory = cg.v1_dir("memory").expect("memory cgroup");
    let read = |file: &str| fs::read_to_string(memory.join(file)).expect("reading a memory file");
    let usage: f64 = read("memory.usage_in_bytes").trim().parse().expect("usage");
    let inactive_file: f64 = read("memory.stat")
        .lines()
        .find_map(|l| l.strip_prefix("total_inactive_file "))
        .and_then(|v| v.trim().parse().ok())
        .expect("total_inactive_file");
    let text = exporter.scrape(Format::Prometheus);
    let labels = [("name", "wset")];
    let working_set =
        sample(&text, "container_memory_working_set_bytes", &labels).expect("working set");
    let expected = usage - inactive_file;
    assert!(
        working_set >= 64.0 * 1024.0 * 1024.0,
        "working set {working_set}"
    );
    assert!(
        (working_set - expected).abs() <= expected * 0.05,
        "working set {working_set} vs usage - inactive_file {expected}"
    );
    assert_eq!(sample(&text, "container_processes", &labels), Some(1.0));
    assert!(sample(&text, "container_threads", &labels).unwrap_or(0.0) >= 1.0);
    child.finish();
}

#[test]
fn a_container_hitting_its_memory_limit_raises_oom_events() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("oom", &["memory"]);
    let memory = cg.v1_dir("memory").expect("memory cgroup");
    fs::write(
        memory.join("memory.limit_in_bytes"),
        (32u64 << 20).to_string(),
    )
    .expect("memory limit");
    // (No swap on this host; a memsw limit would be hit first and leave memory.failcnt 0.)
    let id = unique_name("oom");
    write_berth_state(state.path(), &id, "hog", "img", &cg, 0);
    let mut exporter = exporter_with_bpf(options(state.path(), None));
    exporter.refresh();

    let workload = Workload {
        touch_bytes: 256 << 20,
        ..Workload::default()
    };
    let mut child = WorkloadChild::spawn(CHILD, workload, &cg);
    child.run();
    let status = child.finish();
    assert!(
        !status.success(),
        "the hog should have been OOM-killed: {status:?}"
    );

    let text = exporter.scrape(Format::Prometheus);
    let labels = [("name", "hog")];
    assert!(
        sample(&text, "container_oom_events_total", &labels).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "container_spec_memory_limit_bytes", &labels),
        Some(f64::from(32u32 << 20))
    );
    assert!(sample(&text, "container_memory_failcnt_total", &labels).unwrap_or(0.0) >= 1.0);
    assert!(
        sample(
            &text,
            "berth_container_signals_delivered_total",
            &[("name", "hog"), ("signal", "SIGKILL")]
        )
        .unwrap_or(0.0)
            >= 1.0
    );
}

#[test]
fn a_removed_container_disappears_on_the_next_scrape() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("gone", &["memory"]);
    let id = unique_name("gone");
    write_berth_state(state.path(), &id, "ephemeral", "img", &cg, 0);
    let mut exporter = exporter_with_bpf(options(state.path(), None));
    exporter.refresh();
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 100,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    child.finish();
    let cgroup_id = cg.id();
    let text = exporter.scrape(Format::Prometheus);
    assert!(!lines_with(&text, "name=\"ephemeral\"").is_empty());
    let probes = exporter.probes().expect("probes");
    assert!(
        probes
            .syscall_stats()
            .expect("stats")
            .contains_key(&cgroup_id)
    );

    fs::remove_dir_all(state.path().join(&id)).expect("deleting the state");
    cg.remove();
    let text = exporter.scrape(Format::Prometheus);
    assert!(lines_with(&text, "ephemeral").is_empty(), "{text}");
    let probes = exporter.probes().expect("probes");
    assert!(
        !probes
            .syscall_stats()
            .expect("stats")
            .contains_key(&cgroup_id),
        "BPF entries not pruned"
    );
    assert!(
        !probes
            .watched()
            .expect("watch list")
            .contains_key(&cgroup_id)
    );
}

#[test]
fn bad_input_is_logged_counted_and_never_fails_the_scrape() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    // A good container, so the scrape has something to show.
    let good = TestCgroup::new("good", &["memory"]);
    let good_id = unique_name("good");
    write_berth_state(state.path(), &good_id, "fine", "img", &good, 0);
    // A malformed state.json.
    fs::create_dir_all(state.path().join("broken")).expect("mkdir");
    fs::write(
        state.path().join("broken/state.json"),
        "{\"id\": \"broken\", ",
    )
    .expect("write");
    // A container whose memory cgroup vanished (its v2 cgroup is still there).
    let half = TestCgroup::new("half", &["memory"]);
    let half_id = unique_name("half");
    write_berth_state(state.path(), &half_id, "half-gone", "img", &half, 0);
    let memory_dir = half.v1_dir("memory").expect("memory dir").to_path_buf();
    fs::remove_dir(&memory_dir).expect("removing the memory cgroup");
    // An unreadable state dir (a file where a directory should be).
    let not_a_dir = state.path().join("not-a-dir");
    fs::write(&not_a_dir, "x").expect("write");
    let mut opts = options(state.path(), None);
    opts.state_dirs.push(berth_metrics::discovery::StateDir {
        path: not_a_dir,
        format: berth_metrics::discovery::StateFormat::Runc,
    });
    let mut exporter = exporter_with_bpf(opts);

    let text = exporter.scrape(Format::Prometheus);
    assert!(
        sample(&text, "container_memory_usage_bytes", &[("name", "fine")]).is_some(),
        "{text}"
    );
    let discovery_errors = sample(
        &text,
        "berth_exporter_errors_total",
        &[("operation", "discovery")],
    )
    .unwrap_or(0.0);
    assert!(
        discovery_errors >= 2.0,
        "malformed state + unreadable dir: {discovery_errors}"
    );
    let stats_errors = sample(
        &text,
        "berth_exporter_errors_total",
        &[("operation", "cgroup_stats")],
    )
    .unwrap_or(0.0);
    assert!(stats_errors >= 1.0, "vanished cgroup: {stats_errors}");
    // Counted across scrapes.
    let text = exporter.scrape(Format::Prometheus);
    assert!(
        sample(
            &text,
            "berth_exporter_errors_total",
            &[("operation", "discovery")]
        )
        .unwrap_or(0.0)
            >= 4.0
    );
}

#[test]
fn runc_state_is_discovered_with_identity_from_annotations() {
    if !require_root() {
        return;
    }
    let runc_root = tempfile::tempdir().expect("runc root");
    let empty_berth = tempfile::tempdir().expect("berth root");
    let cg = TestCgroup::new("runc", &["memory"]);
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            linger: true,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    // containerd layout: <root>/<namespace>/<id>/state.json, cgroup found from the pid.
    let id = unique_name("runc");
    let dir = runc_root.path().join("k8s.io").join(&id);
    fs::create_dir_all(&dir).expect("mkdir");
    let state = serde_json::json!({
        "id": id,
        "init_process_pid": child.pid(),
        "init_process_start": 1,
        "created": "2026-11-28T10:00:00.123456789Z",
        "config": { "labels": [
            "bundle=/run/containerd/bundle",
            "io.kubernetes.cri.container-name=nginx",
            "io.kubernetes.cri.image-name=docker.io/library/nginx:1.27",
            "io.kubernetes.pod.name=web-0"
        ]},
        "cgroup_paths": { "memory": cg.v1_dir("memory").expect("memory") }
    });
    fs::write(dir.join("state.json"), state.to_string()).expect("write state");
    let mut exporter = exporter_with_bpf(options(empty_berth.path(), Some(runc_root.path())));
    let text = exporter.scrape(Format::Prometheus);
    let labels = [
        ("name", "nginx"),
        ("image", "docker.io/library/nginx:1.27"),
        ("container_label_io_kubernetes_pod_name", "web-0"),
    ];
    let id_label = format!("/berth/{}", cg.name);
    assert!(
        sample(&text, "container_memory_usage_bytes", &labels).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "container_processes", &[("id", &id_label)]) == Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "berth_exporter_containers", &[("runtime", "runc")]),
        Some(1.0)
    );
    child.finish();
}

#[test]
fn audit_records_arrive_in_the_log_with_the_container_identity() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("events", &[]);
    let id = unique_name("events");
    write_berth_state(state.path(), &id, "auditee", "img", &cg, 0);
    let policy = Policy::default();
    let mut probe_options = ProbeOptions::new(berth_testkit::cgroup::cgroup2_root());
    probe_options.audit.events = policy.events;
    let probes = Probes::load(&probe_options).expect("loading the BPF probes");
    let mut exporter = Exporter::new(options(state.path(), None), Some(probes));
    exporter.refresh();
    let log = state.path().join("audit.jsonl");
    let audit = Audit::start(
        exporter.probes().expect("probes"),
        &policy,
        Some(LogOptions {
            path: log.clone(),
            max_bytes: 1 << 20,
            keep: 1,
        }),
        &berth_testkit::cgroup::cgroup2_root(),
    )
    .expect("starting the audit stream");
    audit.update_identities(exporter.containers());
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            execs: 2,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    child.finish();
    let lines: Vec<serde_json::Value> = wait_for(
        "two exec records in the log",
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(&log).ok()?;
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is JSON"))
                .collect();
            (lines.iter().filter(|l| l["type"] == "process_exec").count() >= 2).then_some(lines)
        },
    );
    let execs: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "process_exec")
        .collect();
    assert!(
        execs.iter().all(|l| l["container"]["name"] == "auditee"
            && l["container"]["id"] == id.as_str()
            && l["cgroup_id"] == cg.id()),
        "{execs:?}"
    );
    assert!(
        execs.iter().any(|l| l["process"]["binary"] == "/bin/true"
            && l["process"]["argv"] == serde_json::json!(["/bin/true"])),
        "{execs:?}"
    );
}

#[test]
fn a_briefly_unreadable_state_file_does_not_reset_the_counters() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let cg = TestCgroup::new("flaky", &["memory"]);
    let id = unique_name("flaky");
    write_berth_state(state.path(), &id, "flaky", "img", &cg, 0);
    let mut exporter = exporter_with_bpf(options(state.path(), None));
    exporter.refresh();
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 4000,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    child.finish();
    let getppid = [("name", "flaky"), ("syscall", "getppid")];
    let before = sample(
        &exporter.scrape(Format::Prometheus),
        "berth_container_syscalls_total",
        &getppid,
    )
    .expect("counted");
    assert!(before >= 4000.0);

    // The runtime rewrites the state file: for one scrape it does not parse.
    let file = state.path().join(&id).join("state.json");
    let good = fs::read_to_string(&file).expect("read state");
    fs::write(&file, "{").expect("truncate state");
    let text = exporter.scrape(Format::Prometheus);
    assert!(
        lines_with(&text, "name=\"flaky\"").is_empty(),
        "not discovered, not reported"
    );
    fs::write(&file, good).expect("restore state");
    let after = sample(
        &exporter.scrape(Format::Prometheus),
        "berth_container_syscalls_total",
        &getppid,
    )
    .expect("counted again");
    assert!(after >= before, "counters were reset: {before} -> {after}");
}
