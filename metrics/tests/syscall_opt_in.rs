//! Syscall counting is opt-in per container: only containers annotated
//! `berth.io/syscalls=count` are counted (or all with `--syscalls=all`), and the
//! syscall programs are attached only while one is.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use berth_metrics::Format;
use berth_metrics::discovery::SYSCALLS_ANNOTATION;
use berth_metrics::exporter::SyscallMode;
use berth_testkit::cgroup::TestCgroup;
use berth_testkit::ids::unique_name;
use berth_testkit::root::require_root;
use berth_testkit::scrape::{lines_with, sample};
use berth_testkit::workload::{Workload, WorkloadChild, workload_child_main};
use common::{exporter_binary, exporter_with_bpf, options, write_berth_state};

const CHILD: &str = "workload_child";

#[test]
fn workload_child() {
    workload_child_main();
}

/// Sets (or, with `None`, removes) the syscall annotation in `<root>/<id>/state.json`.
fn annotate(root: &Path, id: &str, value: Option<&str>) {
    let file = root.join(id).join("state.json");
    let text = fs::read_to_string(&file).expect("reading state.json");
    let mut state: serde_json::Value = serde_json::from_str(&text).expect("parsing state.json");
    let annotations = state["annotations"]
        .as_object_mut()
        .expect("state.json has annotations");
    match value {
        Some(v) => annotations.insert(SYSCALLS_ANNOTATION.to_string(), v.into()),
        None => annotations.remove(SYSCALLS_ANNOTATION),
    };
    fs::write(&file, state.to_string()).expect("writing state.json");
}

fn run_getppid(cgroup: &TestCgroup, n: u64) {
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: n,
            execs: 1,
            ..Workload::default()
        },
        cgroup,
    );
    child.run();
    assert!(child.finish().success());
}

#[test]
fn only_annotated_containers_are_counted_and_the_programs_attached_only_while_one_is() {
    if !require_root() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let (a, b) = (
        TestCgroup::new("optin-a", &["memory"]),
        TestCgroup::new("optin-b", &["memory"]),
    );
    let (a_id, b_id) = (unique_name("optin-a"), unique_name("optin-b"));
    write_berth_state(state.path(), &a_id, "opted-in", "img", &a, 0);
    write_berth_state(state.path(), &b_id, "not-opted-in", "img", &b, 0);
    let mut opts = options(state.path(), None);
    opts.syscalls = SyscallMode::Annotated;
    let mut exporter = exporter_with_bpf(opts);

    // Nobody opted in: nothing attached, no syscall series, the rest still counts.
    annotate(state.path(), &b_id, Some("no"));
    exporter.refresh();
    let attached = |e: &berth_metrics::Exporter| e.probes().expect("probes").syscalls_attached();
    assert!(!attached(&exporter), "attached with no container opted in");
    run_getppid(&a, 1000);
    let text = exporter.scrape(Format::Prometheus);
    assert!(
        lines_with(&text, "berth_container_syscall").is_empty(),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "berth_container_execs_total",
            &[("name", "opted-in")]
        )
        .unwrap_or(0.0)
            >= 1.0
    );

    // One opts in: attached, counted from then on; the other is not counted.
    annotate(state.path(), &a_id, Some("count"));
    exporter.refresh();
    assert!(attached(&exporter));
    run_getppid(&a, 3000);
    run_getppid(&b, 3000);
    let text = exporter.scrape(Format::Prometheus);
    let getppid = |name: &str| {
        sample(
            &text,
            "berth_container_syscalls_total",
            &[("name", name), ("syscall", "getppid")],
        )
    };
    let counted = getppid("opted-in").expect("the opted-in container is counted");
    assert!((3000.0..4000.0).contains(&counted), "{counted}: {text}");
    assert_eq!(getppid("not-opted-in"), None, "{text}");

    // It opts out again: detached, its syscall series gone.
    annotate(state.path(), &a_id, None);
    exporter.refresh();
    assert!(!attached(&exporter), "still attached after the opt-out");
    let text = exporter.scrape(Format::Prometheus);
    assert!(
        lines_with(&text, "berth_container_syscall").is_empty(),
        "{text}"
    );

    // --syscalls=all counts both, annotated or not.
    let mut opts = options(state.path(), None);
    opts.syscalls = SyscallMode::All;
    let mut all = exporter_with_bpf(opts);
    all.refresh();
    assert!(attached(&all));
    run_getppid(&b, 500);
    let text = all.scrape(Format::Prometheus);
    assert!(
        sample(
            &text,
            "berth_container_syscalls_total",
            &[("name", "not-opted-in"), ("syscall", "getppid")]
        )
        .unwrap_or(0.0)
            >= 500.0,
        "{text}"
    );
}

#[test]
fn the_syscalls_flag_takes_off_annotated_or_all_and_no_syscalls_conflicts_with_it() {
    let run = |args: &[&str]| {
        Command::new(exporter_binary())
            .args(args)
            .output()
            .expect("running berth-exporter")
    };
    let bad = run(&["--syscalls=some", "--once"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("'some'") && stderr.contains("annotated"),
        "{stderr}"
    );
    let both = run(&["--syscalls=all", "--no-syscalls", "--once"]);
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{both:?}"
    );
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("--syscalls <SYSCALLS>") && help.contains("[default: annotated]"),
        "{help}"
    );
}
