//! berth-exporter watching real berth-runtime containers: a container's execs and
//! resources show up under its name, and its series are gone after delete.

use std::process::{Command, Stdio};
use std::time::Duration;

use berth_testkit::child::Spawned;
use berth_testkit::scrape::{free_port, metrics_body, sample};
use berth_testkit::wait::wait_for;
use berth_tests::{Runtime, TestBundle, bin, require_root, unique_id};
use serde_json::json;

/// How long each wait below may take.
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn exporter_reports_a_berth_container_and_forgets_it_after_delete() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let port = free_port();
    let exporter = Spawned(
        Command::new(bin("berth-exporter"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--berth-root")
            .arg(rt.root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning berth-exporter"),
    );
    wait_for("the exporter to serve", LIMIT, || metrics_body(port));

    let id = unique_id("e2e");
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; while :; do sleep 1; done",
    ]);
    b.edit(|c| {
        // berth.io/syscalls=count: the exporter counts the syscalls of opted-in
        // containers only (its default, --syscalls=annotated).
        c["annotations"] = json!({
            "berth.name": "e2e-web",
            "berth.image": "busybox:fixture",
            "berth.io/syscalls": "count",
        })
    });
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);

    let who = [("name", "e2e-web"), ("image", "busybox:fixture")];
    // Syscall counting starts when the exporter has seen the opted-in container (its
    // programs are attached only then): wait for both counts, not just the execs.
    let text = wait_for("the container's exec and syscall counts", LIMIT, || {
        let text = metrics_body(port)?;
        (sample(&text, "berth_container_execs_total", &who)? >= 10.0
            && sample(&text, "berth_container_syscalls_total", &who)? > 0.0)
            .then_some(text)
    });
    assert!(
        sample(&text, "container_memory_usage_bytes", &who).is_some_and(|v| v > 0.0),
        "{text}"
    );
    assert!(
        sample(&text, "container_processes", &who).is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "berth_container_syscalls_total", &who).is_some_and(|v| v > 0.0),
        "{text}"
    );
    assert!(
        text.contains(&id),
        "the container id is not in any label: {text}"
    );

    rt.ok(&["delete", "--force", &id]);
    wait_for("the container's series to vanish", LIMIT, || {
        let text = metrics_body(port)?;
        (!text.contains("name=\"e2e-web\"")).then_some(())
    });
    drop(exporter);
}
