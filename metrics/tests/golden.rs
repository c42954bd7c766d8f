//! The whole exposition from fixed readings, compared with golden files byte for byte:
//! a change of any family's name, type, help, labels, series order or value fails here,
//! with no root, no cgroup and no BPF needed (the readings are what the collectors'
//! kernel side would have read).
//!
//! After an intended change, regenerate the files and review their diff:
//!
//!     BERTH_UPDATE_GOLDEN=1 cargo test -p berth-metrics --test golden
//!
//! When `promtool` is installed, Prometheus's own parsers also read the golden text:
//! `promtool check metrics` (text format) and its OpenMetrics parser (backfill).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use berth_cgroups::{CgroupPlacement, CgroupStats, CpuStats, MemoryStats, PidsStats};
use berth_ebpf::{NetCounts, ProcessCounts, SyscallStats};
use berth_metrics::Format;
use berth_metrics::discovery::Container;
use berth_metrics::exporter::bpf_collector::BpfReadings;
use berth_metrics::exporter::cgroup_collector::CgroupReading;
use berth_metrics::exporter::error_counts::{ErrorCounts, Operation};
use berth_metrics::exporter::index::ContainerIndex;
use berth_metrics::exporter::{Readings, record};
use berth_metrics::exposition::encode;
use berth_metrics::families::Families;
use berth_testkit::tools::installed;
use common::promtool;

/// The injection of issue 9: a name that closes its label set, ends the sample and
/// writes a series of its own. Escaped, it stays inside its label value.
const INJECTION: &str = "x\"} 0\nforged_series{id=\"x\"} 1\n";

/// When the scrape ran (`container_last_seen`): 2026-01-03T01:46:40Z.
const NOW: f64 = 1_767_404_800.0;

const WEB: u64 = 1001;
const HOSTILE: u64 = 2002;
const UNREADABLE: u64 = 3003;
/// A watched cgroup that is no container (a subtree, or one gone from discovery):
/// its BPF counters are left out.
const NOT_A_CONTAINER: u64 = 9999;

fn container(
    runtime: &'static str,
    id: &str,
    name: &str,
    image: &str,
    cgroup_path: &str,
    cgroup_id: Option<u64>,
) -> Container {
    Container {
        id: id.to_string(),
        runtime,
        name: name.to_string(),
        image: image.to_string(),
        labels: BTreeMap::new(),
        pid: None,
        created: None,
        cgroup: CgroupPlacement {
            relative_path: PathBuf::from(cgroup_path),
            v2_dir: None,
            v2_id: cgroup_id,
            v1_dirs: BTreeMap::new(),
        },
        count_syscalls: true,
    }
}

/// A berth container with a pod label, a runc one with hostile identity, a crun one
/// whose cgroup files were unreadable, and one without a cgroup v2 id (no BPF).
fn containers() -> Vec<Container> {
    let mut web = container(
        "berth",
        "web-1",
        "web",
        "nginx:1.27",
        "/berth/web-1",
        Some(WEB),
    );
    web.labels
        .insert("io.kubernetes.pod.name".into(), "web-0".into());
    web.created = Some(1_767_323_045.0);

    let mut hostile = container(
        "runc",
        "hostile",
        INJECTION,
        "reg\\istry/img:\"tag\"\n",
        "/ctr\"} 1\n/x\\y é\u{fffd}",
        Some(HOSTILE),
    );
    for (key, value) in [
        ("odd key\"\\\n.é", "v\"\n\\"),
        ("a-b", "first"),
        ("a.b", "second: same label name, left out"),
    ] {
        hostile.labels.insert(key.into(), value.into());
    }

    let unreadable = container("crun", "gone", "gone", "", "/crun/gone", Some(UNREADABLE));
    let v1_only = container("berth", "v1", "v1-only", "busybox", "/berth/v1", None);
    vec![web, hostile, unreadable, v1_only]
}

fn cgroup_reading(id: &str) -> Option<CgroupReading> {
    let reading = match id {
        "web-1" => CgroupReading {
            stats: CgroupStats {
                cpu: CpuStats {
                    usage_ns: 1_500_000_000,
                    user_ns: 1_000_000_000,
                    system_ns: 500_000_000,
                    periods: 40,
                    throttled_periods: 3,
                    quota_us: Some(50_000),
                    period_us: 100_000,
                    ..CpuStats::default()
                },
                memory: MemoryStats {
                    usage: 52_428_800,
                    working_set: 41_943_040,
                    rss: 31_457_280,
                    cache: 10_485_760,
                    failcnt: 7,
                    limit: Some(268_435_456),
                    oom_kill_events: 2,
                    ..MemoryStats::default()
                },
                pids: PidsStats {
                    current: 5,
                    limit: Some(100),
                },
                ..CgroupStats::default()
            },
            processes: Some(3),
            threads: 5,
        },
        // No limit, no quota, processes unlistable, no creation time.
        "hostile" => CgroupReading {
            stats: CgroupStats {
                cpu: CpuStats {
                    usage_ns: 250_000_000,
                    ..CpuStats::default()
                },
                memory: MemoryStats {
                    usage: 4096,
                    oom_kill_events: 1,
                    ..MemoryStats::default()
                },
                ..CgroupStats::default()
            },
            processes: None,
            threads: 1,
        },
        "v1" => CgroupReading {
            stats: CgroupStats {
                memory: MemoryStats {
                    usage: 1_048_576,
                    working_set: 524_288,
                    ..MemoryStats::default()
                },
                ..CgroupStats::default()
            },
            processes: Some(1),
            threads: 2,
        },
        _ => return None,
    };
    Some(reading)
}

fn bpf_readings() -> BpfReadings {
    let syscalls = |by_number: &[(u32, u64)], errors| SyscallStats {
        by_number: by_number.iter().copied().collect(),
        errors,
    };
    BpfReadings {
        syscalls: HashMap::from([
            // read, write, execve, and a number without a name.
            (WEB, syscalls(&[(0, 10), (1, 20), (59, 1), (999, 4)], 3)),
            (HOSTILE, syscalls(&[(60, 1)], 0)),
            (UNREADABLE, syscalls(&[(0, 2)], 1)),
            (NOT_A_CONTAINER, syscalls(&[(0, 1000)], 1000)),
        ]),
        processes: HashMap::from([
            (
                WEB,
                ProcessCounts {
                    execs: 2,
                    forks: 3,
                    exits: 1,
                },
            ),
            (NOT_A_CONTAINER, ProcessCounts::default()),
        ]),
        net: HashMap::from([(
            WEB,
            NetCounts {
                rx_bytes: 1500,
                rx_packets: 3,
                tx_bytes: 600,
                tx_packets: 2,
            },
        )]),
        // More than the hostile container's cgroup files say (5 > 1): BPF wins; fewer
        // than web's (1 < 2): the cgroup count stays.
        oom_kills: HashMap::from([(WEB, 1), (HOSTILE, 5)]),
        signals: HashMap::from([(WEB, BTreeMap::from([(9, 1), (15, 2), (40, 3)]))]),
        map_entries: vec![
            ("watched_cgroups", 4),
            ("syscall_counts", 7),
            ("net_counts", 1),
        ],
        events_lost: [("process_exec", 2), ("process_exit", 0)]
            .into_iter()
            .collect(),
    }
}

/// The exposition of the fixed readings, as a scrape encodes it.
fn exposition(format: Format, per_syscall_labels: bool) -> String {
    let index = ContainerIndex::new(containers());
    let readings = Readings {
        now: NOW,
        cgroups: index.all().map(|c| (c, cgroup_reading(&c.id))).collect(),
        bpf: Some(bpf_readings()),
    };
    let mut errors = ErrorCounts::default();
    errors.count(Operation::Discovery, &"a state file was unreadable");
    errors.count(Operation::Bpf, &"a map was unreadable");
    errors.count(Operation::Bpf, &"a map was unreadable");
    let families = Families::new();
    record(&families, &readings, &index, per_syscall_labels, &errors);
    families.scrape_duration.set(0.125);
    encode(&families, format)
}

fn golden_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file)
}

/// Compares `actual` with the golden `file`, or writes it there under
/// `BERTH_UPDATE_GOLDEN=1`.
fn assert_golden(file: &str, actual: &str) {
    let path = golden_path(file);
    if std::env::var_os("BERTH_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual)
            .unwrap_or_else(|e| panic!("writing golden file {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading golden file {}: {e} (create it with BERTH_UPDATE_GOLDEN=1)",
            path.display()
        )
    });
    if actual == expected {
        return;
    }
    let (expected_lines, actual_lines): (Vec<_>, Vec<_>) =
        (expected.lines().collect(), actual.lines().collect());
    let at = expected_lines
        .iter()
        .zip(&actual_lines)
        .position(|(e, a)| e != a)
        .unwrap_or(expected_lines.len().min(actual_lines.len()));
    panic!(
        "the exposition differs from {} from line {}:\n  golden: {:?}\n  now:    {:?}\n\
         ({} lines golden, {} now; if the change is intended, regenerate with \
         BERTH_UPDATE_GOLDEN=1 and review the diff)\n--- now ---\n{actual}",
        path.display(),
        at + 1,
        expected_lines.get(at),
        actual_lines.get(at),
        expected_lines.len(),
        actual_lines.len(),
    );
}

fn promtool_installed() -> bool {
    let found = installed("promtool");
    if !found {
        eprintln!(
            "promtool not installed (apt-get install prometheus): Prometheus's parsers skipped"
        );
    }
    found
}

/// `promtool check metrics` on a text exposition, when promtool is installed.
fn check_with_promtool(text: &str) {
    if promtool_installed()
        && let Err(report) = promtool::check_metrics(text)
    {
        panic!("promtool check metrics refused the golden text:\n{report}");
    }
}

#[test]
fn prometheus_text_of_fixed_readings_matches_the_golden_file() {
    let text = exposition(Format::Prometheus, true);
    assert_golden("exposition.prom", &text);
    check_with_promtool(&text);
}

#[test]
fn openmetrics_of_fixed_readings_matches_the_golden_file() {
    let openmetrics = exposition(Format::OpenMetrics, true);
    assert_golden("exposition.openmetrics", &openmetrics);
    if promtool_installed() {
        let work = tempfile::tempdir().expect("a temporary directory");
        let series = promtool::openmetrics_series(&openmetrics, work.path());
        let samples = openmetrics.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(series.len(), samples, "one stored series per sample line");
        let hostile: Vec<_> = series
            .iter()
            .filter(|s| s.get("name").map(String::as_str) == Some(INJECTION))
            .collect();
        assert!(!hostile.is_empty(), "the hostile name is read back whole");
        assert!(
            series
                .iter()
                .all(|s| s.get("__name__").map(String::as_str) != Some("forged_series")),
            "no series forged by a label value"
        );
    }
}

#[test]
fn without_syscall_labels_the_text_matches_its_golden_file() {
    let text = exposition(Format::Prometheus, false);
    assert_golden("exposition-no-syscall-labels.prom", &text);
    check_with_promtool(&text);
}

#[test]
fn the_same_readings_always_give_the_same_text() {
    // Series sit in hash maps until encoded: the order must not follow them.
    let first = exposition(Format::OpenMetrics, true);
    for _ in 0..5 {
        assert_eq!(exposition(Format::OpenMetrics, true), first);
    }
}
