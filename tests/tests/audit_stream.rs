//! berth-exporter's audit stream with real berth-runtime containers: process_exec with
//! argv and process_exit with the code, privileged_syscall from the default seccomp
//! profile's audit records, network_connect/listen between two test network
//! namespaces, sensitive_open for a write and not for a read, `GET /events` filtered by
//! container, and an exec storm whose records are all delivered or counted lost.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use berth_testkit::scrape::{metrics_body, sample};
use berth_testkit::wait::wait_for;
use berth_tests::exporter::{Exporter, audit_log};
use berth_tests::{Runtime, TestBundle, require_root, rootfs_copy, unique_id};
use serde_json::{Value, json};

/// How long each wait below may take.
const LIMIT: Duration = Duration::from_secs(30);

/// An exporter writing the audit log into a temporary directory.
struct Audited {
    exporter: Exporter,
    dir: tempfile::TempDir,
}

impl Audited {
    fn start(rt: &Runtime, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("audit log dir");
        let log = dir.path().join("audit.jsonl");
        let mut args = vec!["--audit-log", log.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        Self {
            exporter: Exporter::start_with(rt, &args),
            dir,
        }
    }

    fn log(&self) -> Vec<Value> {
        audit_log(&self.dir.path().join("audit.jsonl"))
    }

    /// The log's records of container `id` once `done` says they are complete.
    fn records_of(&self, id: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_for(what, LIMIT, || {
            let mine: Vec<Value> = self
                .log()
                .into_iter()
                .filter(|r| r["container"]["id"] == id)
                .collect();
            done(&mine).then_some(mine)
        })
    }
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

/// Runs `b` as container `id` to its end (`run`, foreground); returns its exit status.
fn run_to_end(rt: &Runtime, b: &TestBundle, id: &str) -> Option<i32> {
    rt.run(&["run", "--bundle", b.path_str(), id]).status.code()
}

#[test]
fn exec_gives_one_process_exec_with_its_argv_and_an_exit_with_its_code() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let audited = Audited::start(&rt, &[]);
    let id = unique_id("au-exec");
    let argv = ["/bin/sh", "-c", "exit 7", "audit-argv-marker"];
    let b = TestBundle::busybox(&argv);
    assert_eq!(run_to_end(&rt, &b, &id), Some(7));

    let records = audited.records_of(&id, "the exec's exit record", |r| {
        of_type(r, "process_exit")
            .iter()
            .any(|e| e["exit"]["code"] == 7)
    });
    let execs: Vec<&Value> = of_type(&records, "process_exec")
        .into_iter()
        .filter(|e| e["process"]["argv"] == json!(argv))
        .collect();
    assert_eq!(execs.len(), 1, "{records:#?}");
    let exec = execs[0];
    assert_eq!(exec["process"]["binary"], "/bin/sh", "{exec}");
    assert_eq!(exec["container"]["runtime"], "berth", "{exec}");
    assert!(
        exec["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{exec}"
    );
    let pid = &exec["process"]["pid"];
    let exits: Vec<&Value> = of_type(&records, "process_exit")
        .into_iter()
        .filter(|e| &e["process"]["pid"] == pid)
        .collect();
    assert_eq!(exits.len(), 1, "{records:#?}");
    assert_eq!(exits[0]["exit"]["code"], 7, "{}", exits[0]);
    assert_eq!(exits[0]["exit"]["signal"], Value::Null, "{}", exits[0]);
    assert_eq!(exits[0]["process"]["binary"], "/bin/sh", "{}", exits[0]);
    assert!(
        exits[0]["exit"]["duration_seconds"]
            .as_f64()
            .is_some_and(|d| d >= 0.0)
    );
}

#[test]
fn unshare_under_the_default_profile_is_a_denied_privileged_syscall() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let audited = Audited::start(&rt, &[]);
    let id = unique_id("au-unshare");
    let mut b = TestBundle::busybox(&["sh", "-c", "unshare -U true; echo done"]);
    let profile = serde_json::to_value(berth_spec::seccomp::default_profile()).expect("JSON");
    b.edit(|c| c["linux"]["seccomp"] = profile);
    assert_eq!(run_to_end(&rt, &b, &id), Some(0));

    let records = audited.records_of(&id, "a privileged_syscall record", |r| {
        !of_type(r, "privileged_syscall").is_empty()
    });
    let unshare: Vec<&Value> = of_type(&records, "privileged_syscall")
        .into_iter()
        .filter(|r| r["syscall"]["name"] == "unshare")
        .collect();
    assert!(!unshare.is_empty(), "{records:#?}");
    for r in &unshare {
        assert_eq!(r["syscall"]["denied"], true, "{r}");
        assert_eq!(r["syscall"]["action"], "errno", "{r}");
        assert_eq!(r["syscall"]["source"], "seccomp", "{r}");
        assert_eq!(r["process"]["comm"], "unshare", "{r}");
    }
}

/// Two network namespaces joined by a veth pair (10.231.7.1 <-> 10.231.7.2), removed
/// on drop.
struct NetPair {
    a: String,
    b: String,
}

impl NetPair {
    fn new() -> Self {
        let tag = std::process::id() % 100_000;
        let pair = Self {
            a: format!("berth-au-a{tag}"),
            b: format!("berth-au-b{tag}"),
        };
        let (va, vb) = (format!("bau{tag}a"), format!("bau{tag}b"));
        for args in [
            vec!["netns", "add", &pair.a],
            vec!["netns", "add", &pair.b],
            vec![
                "link", "add", &va, "netns", &pair.a, "type", "veth", "peer", "name", &vb, "netns",
                &pair.b,
            ],
            vec!["-n", &pair.a, "addr", "add", "10.231.7.1/24", "dev", &va],
            vec!["-n", &pair.b, "addr", "add", "10.231.7.2/24", "dev", &vb],
            vec!["-n", &pair.a, "link", "set", &va, "up"],
            vec!["-n", &pair.b, "link", "set", &vb, "up"],
            vec!["-n", &pair.a, "link", "set", "lo", "up"],
            vec!["-n", &pair.b, "link", "set", "lo", "up"],
        ] {
            let st = Command::new("ip").args(&args).status().expect("running ip");
            assert!(st.success(), "ip {args:?}");
        }
        pair
    }

    fn path(name: &str) -> String {
        format!("/var/run/netns/{name}")
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A busybox bundle running `script` in the network namespace at `netns`.
fn in_netns(script: &str, netns: &str) -> TestBundle {
    let mut b = TestBundle::busybox(&["sh", "-c", script]);
    b.edit(|c| {
        let namespaces = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        for ns in namespaces.iter_mut() {
            if ns["type"] == "network" {
                ns["path"] = json!(netns);
            }
        }
    });
    b
}

#[test]
fn a_connect_and_a_listen_are_network_records_and_the_stream_filters_by_container() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let audited = Audited::start(&rt, &[]);
    let net = NetPair::new();
    let (listener, client) = (unique_id("au-listen"), unique_id("au-connect"));
    // Subscribed before either runs: only the client's records may arrive here.
    let stream = audited.exporter.subscribe(&format!("container={client}"));

    let l = in_netns("nc -l -p 18080", &NetPair::path(&net.b));
    rt.ok(&["run", "--detach", "--bundle", l.path_str(), &listener]);
    let records = audited.records_of(&listener, "the listen record", |r| {
        !of_type(r, "network_listen").is_empty()
    });
    let listen = of_type(&records, "network_listen")[0];
    assert_eq!(listen["network"]["port"], 18080, "{listen}");
    assert_eq!(listen["network"]["protocol"], "tcp", "{listen}");
    // busybox nc listens on the IPv6 wildcard (dual stack).
    assert!(
        listen["network"]["address"] == "::" || listen["network"]["address"] == "0.0.0.0",
        "{listen}"
    );
    assert_eq!(listen["process"]["binary"], "/bin/busybox", "{listen}");

    let c = in_netns("echo hello | nc 10.231.7.2 18080", &NetPair::path(&net.a));
    assert_eq!(run_to_end(&rt, &c, &client), Some(0));
    let records = audited.records_of(&client, "the connect record", |r| {
        !of_type(r, "network_connect").is_empty()
    });
    let connect = of_type(&records, "network_connect")[0];
    assert_eq!(connect["network"]["address"], "10.231.7.2", "{connect}");
    assert_eq!(connect["network"]["port"], 18080, "{connect}");
    assert_eq!(connect["network"]["protocol"], "tcp", "{connect}");
    assert!(connect["process"]["pid"].as_u64().is_some_and(|p| p > 0));

    let seen = drain_until(&stream, |r| r["type"] == "network_connect");
    assert!(
        seen.iter().all(|r| r["container"]["id"] == client.as_str()),
        "records of other containers: {seen:#?}"
    );
    assert!(
        seen.iter().any(|r| r["type"] == "process_exec"),
        "{seen:#?}"
    );
    rt.ok(&["delete", "--force", &listener]);
}

/// Stream records until one passes `last` (or [`LIMIT`] passes: then fails).
fn drain_until(stream: &Receiver<Value>, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(r) = stream.recv_timeout(Duration::from_millis(200)) {
            let done = last(&r);
            seen.push(r);
            if done {
                return seen;
            }
        }
    }
    panic!("the stream never carried the awaited record: {seen:#?}");
}

/// tracefs mounted at /sys/kernel/tracing for the test's length (syscall tracepoints
/// need it); unmounted on drop when this mounted it.
struct Tracefs {
    mounted: bool,
}

impl Tracefs {
    fn ensure() -> Self {
        if Path::new("/sys/kernel/tracing/events").is_dir() {
            return Self { mounted: false };
        }
        let st = Command::new("mount")
            .args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"])
            .status()
            .expect("running mount");
        assert!(st.success(), "mounting tracefs");
        Self { mounted: true }
    }
}

impl Drop for Tracefs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("/sys/kernel/tracing").status();
        }
    }
}

#[test]
fn writing_etc_passwd_is_a_sensitive_open_and_reading_it_is_not() {
    if !require_root() {
        return;
    }
    let _tracefs = Tracefs::ensure();
    let policy = tempfile::NamedTempFile::new().expect("policy file");
    std::fs::write(
        policy.path(),
        "[events]\nsensitive_open = true\n[sensitive_open]\nprefixes = [\"/etc/\"]\n",
    )
    .expect("writing the policy");
    let rt = Runtime::new();
    let audited = Audited::start(
        &rt,
        &["--audit-policy", policy.path().to_str().expect("utf-8")],
    );
    let reader = unique_id("au-read");
    let b = TestBundle::busybox(&["sh", "-c", "cat /etc/passwd > /dev/null"]);
    assert_eq!(run_to_end(&rt, &b, &reader), Some(0));
    let writer = unique_id("au-write");
    let mut b = TestBundle::busybox(&["sh", "-c", "echo 'x:x:9:9::/:/bin/sh' >> /etc/passwd"]);
    let rootfs = rootfs_copy(b.path());
    b.edit(|c| c["root"]["path"] = json!(rootfs));
    assert_eq!(run_to_end(&rt, &b, &writer), Some(0));

    let records = audited.records_of(&writer, "the write's sensitive_open", |r| {
        !of_type(r, "sensitive_open").is_empty() && !of_type(r, "process_exit").is_empty()
    });
    let opens = of_type(&records, "sensitive_open");
    assert_eq!(opens.len(), 1, "{records:#?}");
    assert_eq!(opens[0]["file"]["path"], "/etc/passwd", "{}", opens[0]);
    let flags = opens[0]["file"]["flags"].as_i64().expect("flags");
    assert_ne!(
        flags & i64::from(libc::O_WRONLY | libc::O_RDWR),
        0,
        "{flags:o}"
    );
    // The reader ended before the writer started: its records are all in by now.
    let read: Vec<Value> = audited
        .log()
        .into_iter()
        .filter(|r| r["container"]["id"] == reader.as_str())
        .collect();
    assert!(!of_type(&read, "process_exec").is_empty(), "{read:#?}");
    assert!(of_type(&read, "sensitive_open").is_empty(), "{read:#?}");
}

#[test]
fn bad_policies_are_refused_at_start_with_line_and_reason() {
    for (text, line, reason) in [
        (
            "[events]\nprocess_exec = true\nprocess_exce = true\n",
            3,
            "unknown field",
        ),
        (
            "[privileged_syscall]\nsyscalls = [\n  \"mount\",\n  \"mountt\",\n]\n",
            4,
            "unknown syscall \"mountt\"",
        ),
        (
            "[sensitive_open]\nprefixes = [\"etc/\"]\n",
            2,
            "not absolute",
        ),
    ] {
        let policy = tempfile::NamedTempFile::new().expect("policy file");
        std::fs::write(policy.path(), text).expect("writing the policy");
        let out = Command::new(berth_tests::bin("berth-exporter"))
            .args(["--once", "--no-bpf", "--audit-policy"])
            .arg(policy.path())
            .output()
            .expect("running berth-exporter");
        assert!(!out.status.success(), "{text:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("line {line}:")) && err.contains(reason),
            "{text:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// execs in the storm (each `/bin/true` of busybox sh is a fork and an exec).
const STORM: u64 = 20_000;

#[test]
fn an_exec_storm_delivers_every_record_or_counts_it_lost() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    // Only this runtime's containers are watched (no subtree): the loss counters then
    // count the storm's records and nothing else.
    let audited = Audited::start(&rt, &["--watch-subtree", "berth-audit-storm-none"]);
    let id = unique_id("au-storm");
    let b = TestBundle::busybox(&[
        "sh",
        "-c",
        &format!("i=0; while [ $i -lt {STORM} ]; do /bin/true; i=$((i+1)); done"),
    ]);
    rt.ok(&["create", "--bundle", b.path_str(), &id]);
    wait_for("the exporter to list the container", LIMIT, || {
        metrics_body(audited.exporter.port)?
            .contains(&id)
            .then_some(())
    });
    let started = Instant::now();
    rt.ok(&["start", &id]);
    wait_for("the storm to end", Duration::from_secs(300), || {
        (rt.state(&id)["status"] == "stopped").then_some(())
    });
    let took = started.elapsed();
    let (delivered, lost) = wait_for("every record delivered or counted", LIMIT, || {
        let delivered = audited
            .log()
            .iter()
            .filter(|r| {
                r["type"] == "process_exec"
                    && r["container"]["id"] == id.as_str()
                    && r["process"]["binary"] == "/bin/true"
            })
            .count() as u64;
        let text = metrics_body(audited.exporter.port)?;
        let lost = sample(
            &text,
            "berth_exporter_events_lost_total",
            &[("type", "process_exec")],
        )? as u64;
        (delivered + lost == STORM).then_some((delivered, lost))
    });
    eprintln!(
        "exec storm: {STORM} execs in {:.1} s, {delivered} delivered, {lost} lost",
        took.as_secs_f64()
    );
}

#[test]
fn a_runc_container_reports_privileged_syscalls_through_the_opt_in_tracepoints() {
    if !require_root() {
        return;
    }
    let Some(runc) = Runtime::runc_if_installed() else {
        eprintln!("runc is not installed: skipped");
        return;
    };
    let _tracefs = Tracefs::ensure();
    let policy = tempfile::NamedTempFile::new().expect("policy file");
    std::fs::write(
        policy.path(),
        "[privileged_syscall]\nsyscalls = [\"unshare\", \"umount2\", \"init_module\"]\ntracepoints = true\n",
    )
    .expect("writing the policy");
    let rt = Runtime::new();
    let runc_root = runc.root.path().to_str().expect("utf-8").to_string();
    let audited = Audited::start(
        &rt,
        &[
            "--audit-policy",
            policy.path().to_str().expect("utf-8"),
            "--runc-root",
            &runc_root,
        ],
    );
    let id = unique_id("au-runc");
    let mut b = TestBundle::busybox(&["sh", "-c", "unshare -U true; umount /nowhere; true"]);
    let rootfs = rootfs_copy(b.path());
    b.edit(|c| {
        c["root"]["path"] = json!(rootfs);
        c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    });
    runc.ok(&["create", "--bundle", b.path_str(), &id]);
    // Watched once discovered: start after the exporter lists it.
    wait_for("the exporter to list the runc container", LIMIT, || {
        metrics_body(audited.exporter.port)?
            .contains(&id)
            .then_some(())
    });
    runc.ok(&["start", &id]);
    let records = audited.records_of(&id, "privileged_syscall records", |r| {
        let names: Vec<&Value> = of_type(r, "privileged_syscall")
            .iter()
            .map(|p| &p["syscall"]["name"])
            .collect();
        names.contains(&&json!("unshare")) && names.contains(&&json!("umount2"))
    });
    let _ = runc.run(&["delete", "--force", &id]);
    for r in of_type(&records, "privileged_syscall") {
        assert_eq!(r["container"]["runtime"], "runc", "{r}");
        assert_eq!(r["syscall"]["source"], "tracepoint", "{r}");
        assert_eq!(r["syscall"]["denied"], Value::Null, "{r}");
    }
}
