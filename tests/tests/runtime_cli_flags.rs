//! The flags people type, as runc 1.1.5 answers them on this machine: `-v`/`--version`,
//! `help` and `-h` for every verb, an unknown verb, `run --keep`, `kill ID 0`,
//! `exec -p` without `user`, `exec --cgroup`, `exec --ignore-paused`, `--debug` in both
//! log formats. Where runc is installed the same command runs with it too.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use berth_tests::{Runtime, TestBundle, require_root, stderr, unique_id, wait_for_status};
use serde_json::{Value, json};

/// The verbs `help` lists, each with its own usage.
const VERBS: &[&str] = &[
    "spec", "create", "start", "state", "kill", "delete", "run", "list", "exec", "ps", "pause",
    "resume", "update", "events", "features",
];

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn runc() -> Option<Runtime> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("runc"))
        .find(|p| p.is_file())
        .map(Runtime::of)
}

/// A busybox bundle with a cgroupsPath of its own (absolute: runc places a relative one
/// below its own cgroup), so the test can find and add to its directories.
fn bundle(id: &str, args: &[&str]) -> TestBundle {
    let mut b = TestBundle::busybox(args);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/berth-cli-{id}")));
    b
}

fn sleeper(rt: &Runtime, prefix: &str) -> (String, TestBundle) {
    let id = unique_id(prefix);
    let b = bundle(&id, &["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    (id, b)
}

/// `check` with berth, then with runc where it is installed.
fn berth_and_runc(check: impl Fn(&Runtime, &str)) {
    if !require_root() {
        return;
    }
    check(&Runtime::new(), "berth");
    if let Some(runc) = runc() {
        check(&runc, "runc");
    }
}

#[test]
fn version_prints_runtime_commit_spec_and_libseccomp_as_runc_lays_them_out() {
    let rt = Runtime::new();
    let text = rt.ok(&["--version"]);
    assert_eq!(rt.ok(&["-v"]), text, "-v and --version differ");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        format!("berth-runtime version {}", env!("CARGO_PKG_VERSION"))
    );
    let commit = lines[1].strip_prefix("commit: ").expect(lines[1]);
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    // The spec version is the one berth writes into a config and reports in state.
    let dir = tempfile::tempdir().expect("tempdir");
    rt.ok(&["spec", "--bundle", dir.path().to_str().expect("utf-8")]);
    let config: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("config.json")).expect("config.json"),
    )
    .expect("config JSON");
    assert_eq!(
        lines[2],
        format!(
            "spec: {}",
            config["ociVersion"].as_str().expect("ociVersion")
        )
    );
    let seccomp = lines[3].strip_prefix("libseccomp: ").expect(lines[3]);
    assert_eq!(
        seccomp
            .split('.')
            .filter(|n| n.parse::<u32>().is_ok())
            .count(),
        3,
        "{seccomp}"
    );
    // runc links the same libseccomp: its line is the same.
    if let Some(runc) = runc() {
        let theirs = runc.ok(&["--version"]);
        assert!(
            theirs.lines().any(|l| l == lines[3]),
            "runc says:\n{theirs}"
        );
        assert!(
            theirs
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("runc version "))
        );
    }
}

#[test]
fn every_verb_has_help_and_an_unknown_verb_exits_3_as_with_runc() {
    let rt = Runtime::new();
    for verb in VERBS {
        let usage = format!("Usage: berth-runtime {verb}");
        for args in [vec!["help", verb], vec![verb, "-h"], vec![verb, "--help"]] {
            let out = rt.run(&args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert!(stdout(&out).contains(&usage), "{args:?}: {}", stdout(&out));
        }
    }
    let out = rt.run(&["help"]);
    assert_eq!(out.status.code(), Some(0));
    for verb in VERBS {
        assert!(
            stdout(&out).contains(&format!("  {verb} ")),
            "help lacks {verb}"
        );
    }
    for args in [&["no-such-verb"][..], &["help", "no-such-verb"]] {
        let out = rt.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            stderr(&out).contains("unrecognized subcommand 'no-such-verb'"),
            "{args:?}: {}",
            stderr(&out)
        );
        if let Some(runc) = runc() {
            assert_eq!(runc.run(args).status.code(), Some(3), "runc {args:?}");
        }
    }
}

/// `run --keep` of a container that exits 7: the status comes back and the container
/// stays, stopped, until `delete`; its cgroups then go.
fn run_keep(rt: &Runtime, name: &str) {
    let id = unique_id("keep");
    let b = bundle(&id, &["sh", "-c", "exit 7"]);
    let out = rt.run(&["run", "--keep", "--bundle", b.path_str(), &id]);
    assert_eq!(out.status.code(), Some(7), "{name}: {}", stderr(&out));
    assert_eq!(rt.state(&id)["status"], "stopped", "{name}");
    let list = rt.ok(&["list", "--quiet"]);
    assert!(list.lines().any(|l| l == id), "{name}: list: {list}");
    rt.ok(&["delete", &id]);
    assert!(
        !rt.run(&["state", &id]).status.success(),
        "{name}: {id} left"
    );
    let cgroups: Vec<PathBuf> = cgroup_dirs(&format!("berth-cli-{id}"));
    assert!(cgroups.is_empty(), "{name}: cgroups left: {cgroups:?}");
    // Without --keep nothing is left.
    let out = rt.run(&["run", "--bundle", b.path_str(), &id]);
    assert_eq!(out.status.code(), Some(7), "{name}: {}", stderr(&out));
    assert!(
        !rt.run(&["state", &id]).status.success(),
        "{name}: {id} kept"
    );

    // A start that fails (a startContainer hook exits 1) keeps it too, stopped; in the
    // foreground the failure is 1. (Detached, runc 1.1.5 prints the error and exits 0.)
    let id = unique_id("keep-fail");
    let mut b = bundle(&id, &["true"]);
    b.edit(|c| c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]}));
    for detach in [false, true] {
        let mut args = vec!["run", "--keep", "--bundle", b.path_str(), &id];
        if detach {
            args.insert(1, "--detach");
        }
        let out = rt.run(&args);
        if !detach {
            assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        }
        assert_eq!(rt.state(&id)["status"], "stopped", "{name}: {args:?}");
        rt.ok(&["delete", &id]);
    }
}

#[test]
fn run_keep_leaves_the_stopped_container_for_state_and_delete() {
    berth_and_runc(run_keep);
}

/// `kill ID 0`: 0 while the init runs (and it keeps running), "container not running"
/// and 1 once it stopped; `--all` with 0 succeeds.
fn kill_zero(rt: &Runtime, name: &str) {
    let (id, _b) = sleeper(rt, "kill0");
    rt.ok(&["kill", &id, "0"]);
    rt.ok(&["kill", "--all", &id, "0"]);
    assert_eq!(
        rt.state(&id)["status"],
        "running",
        "{name}: signal 0 did something"
    );
    rt.ok(&["kill", &id, "KILL"]);
    assert_eq!(
        wait_for_status(rt, &id, "stopped")["status"],
        "stopped",
        "{name}"
    );
    let out = rt.run(&["kill", &id, "0"]);
    assert_eq!(out.status.code(), Some(1), "{name}");
    assert!(
        stderr(&out).contains("container not running"),
        "{name}: {}",
        stderr(&out)
    );
    rt.ok(&["delete", &id]);
}

#[test]
fn kill_signal_0_tells_whether_the_container_runs() {
    berth_and_runc(kill_zero);
}

/// A process.json with no `user` runs as 0:0, not as the container's user; with no
/// `capabilities` it has the container's (runc's defaults for what the file leaves out).
fn process_json_defaults(rt: &Runtime, name: &str) {
    let id = unique_id("nouser");
    let mut b = bundle(&id, &["sleep", "1000"]);
    b.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let process = b.path().join("process.json");
    let p = json!({
        "args": ["sh", "-c", "echo $(id -u):$(id -g); grep CapBnd /proc/self/status"],
        "cwd": "/",
        "env": ["PATH=/bin:/sbin:/usr/bin"],
    });
    std::fs::write(&process, p.to_string()).expect("process.json");
    let out = rt.run(&["exec", "--process", process.to_str().expect("utf-8"), &id]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let said = stdout(&out);
    let mut lines = said.lines();
    assert_eq!(lines.next(), Some("0:0"), "{name}");
    let init = rt.state(&id)["pid"].to_string();
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).expect("init status");
    let bounding = status.lines().find(|l| l.starts_with("CapBnd"));
    assert_eq!(lines.next(), bounding, "{name}: the init's capabilities");
    assert_eq!(
        rt.ok(&["exec", &id, "id", "-u"]).trim(),
        "1000",
        "{name}: the init's user"
    );
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn exec_process_json_without_user_or_capabilities_takes_runcs_defaults() {
    berth_and_runc(process_json_defaults);
}

/// The container's cgroup directories, one per hierarchy (v1 controllers and v2).
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .map(|entries| entries.flatten().map(|e| e.path().join(name)).collect())
        .unwrap_or_default();
    dirs.push(Path::new("/sys/fs/cgroup").join(name));
    dirs.retain(|d| d.is_dir());
    dirs
}

/// `sub` in every hierarchy of the container's cgroup `dirs`, usable (cpuset: the
/// parent's cpus and mems, which a new v1 cpuset lacks).
fn make_sub_cgroups(dirs: &[PathBuf]) {
    for dir in dirs {
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).expect("mkdir sub-cgroup");
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let Ok(v) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            if !v.trim().is_empty() {
                std::fs::write(sub.join(file), v.trim()).expect("write cpuset");
            }
        }
    }
}

/// /proc/<pid>/cgroup as `(hierarchy, path)`: `memory`, `cpu,cpuacct`, `` for v2.
fn cgroups_of(pid: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .expect("/proc/<pid>/cgroup")
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, h, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some((h.to_string(), path.to_string()))
        })
        .collect()
}

/// A detached exec with `flags`; the host pid of its process.
fn exec_detached(rt: &Runtime, id: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut args = vec![
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[id, "sleep", "1000"]);
    rt.ok(&args);
    std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .to_string()
}

fn exec_cgroup(rt: &Runtime, name: &str) {
    let (id, _b) = sleeper(rt, "execcg");
    let cgroup = format!("berth-cli-{id}");
    let dirs = cgroup_dirs(&cgroup);
    assert!(!dirs.is_empty(), "{name}: no cgroup dirs of {id}");
    make_sub_cgroups(&dirs);
    let inside = format!("/{cgroup}/sub");
    let outside = format!("/{cgroup}");

    // PATH alone: every hierarchy, seen from the host and from inside (cgroup namespace).
    let pid = exec_detached(rt, &id, &["--cgroup", "sub"]);
    let joined = cgroups_of(&pid);
    assert!(
        joined.iter().all(|(_, p)| *p == inside),
        "{name}: {joined:?}"
    );
    let seen = rt.ok(&["exec", "--cgroup", "/sub", &id, "cat", "/proc/self/cgroup"]);
    assert!(seen.lines().all(|l| l.ends_with(":/sub")), "{name}: {seen}");

    // CONTROLLER:PATH (v1): that controller only.
    if joined
        .iter()
        .any(|(h, _)| h.split(',').any(|c| c == "memory"))
    {
        let pid = exec_detached(rt, &id, &["--cgroup", "memory,pids:sub"]);
        for (h, path) in cgroups_of(&pid) {
            let moved = h.split(',').any(|c| c == "memory" || c == "pids");
            let want = if moved { &inside } else { &outside };
            assert_eq!(&path, want, "{name}: {h}");
        }
    }

    // Refused, runtime failures (255): outside the container's cgroup, not existing,
    // malformed, an unknown controller, a bare path next to another.
    std::fs::create_dir(
        dirs[0]
            .parent()
            .expect("parent")
            .join(format!("{cgroup}-sibling")),
    )
    .expect("mkdir sibling");
    for arg in [
        vec!["--cgroup", "../x"],
        vec!["--cgroup", "sub/../../x"],
        vec!["--cgroup", "no-such-sub"],
        vec!["--cgroup", "a:b:c"],
        vec!["--cgroup", "no-such-controller:sub"],
        vec!["--cgroup", "sub", "--cgroup", "memory:sub"],
    ] {
        let mut args = vec!["exec"];
        args.extend_from_slice(&arg);
        args.extend_from_slice(&[&id, "true"]);
        let out = rt.run(&args);
        assert_eq!(
            out.status.code(),
            Some(255),
            "{name}: {arg:?}: {}",
            stderr(&out)
        );
    }
    if name == "berth" {
        // runc checks the joined path by prefix, so ../<name>-sibling gets through there.
        let sibling = format!("../{cgroup}-sibling");
        let out = rt.run(&["exec", "--cgroup", &sibling, &id, "true"]);
        assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("leaves the container's cgroup"),
            "{}",
            stderr(&out)
        );
    }
    std::fs::remove_dir(
        dirs[0]
            .parent()
            .expect("parent")
            .join(format!("{cgroup}-sibling")),
    )
    .expect("rmdir sibling");
    rt.ok(&["delete", "--force", &id]);
    let left = cgroup_dirs(&cgroup);
    assert!(left.is_empty(), "{name}: cgroups left: {left:?}");
}

#[test]
fn exec_cgroup_joins_an_existing_sub_cgroup_of_the_containers_only() {
    berth_and_runc(exec_cgroup);
}

/// Into a paused container exec is refused (255) unless --ignore-paused; with it the
/// process starts once the container is resumed.
fn ignore_paused(rt: &Runtime, name: &str) {
    let (id, _b) = sleeper(rt, "ignpause");
    rt.ok(&["pause", &id]);
    let out = rt.run(&["exec", &id, "true"]);
    assert_eq!(out.status.code(), Some(255), "{name}");
    assert!(
        stderr(&out).contains("--ignore-paused"),
        "{name}: {}",
        stderr(&out)
    );

    let out_file = tempfile::NamedTempFile::new().expect("stdout file");
    let mut exec = rt
        .cmd()
        .args(["exec", "--ignore-paused", &id, "echo", "ran"])
        .stdin(Stdio::null())
        .stdout(out_file.reopen().expect("reopen"))
        .spawn()
        .expect("spawn exec");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        exec.try_wait().expect("try_wait").is_none(),
        "{name}: exec finished in a paused container"
    );
    assert_eq!(rt.state(&id)["status"], "paused", "{name}");
    rt.ok(&["resume", &id]);
    let status = exec.wait().expect("wait exec");
    assert!(status.success(), "{name}: {status}");
    let said = std::fs::read_to_string(out_file.path()).expect("exec output");
    assert_eq!(said.trim(), "ran", "{name}");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn exec_ignore_paused_starts_the_process_when_resumed() {
    berth_and_runc(ignore_paused);
}

/// logrus's text line: `time="<RFC 3339>" level=<level> msg=...`.
fn is_logrus_text(line: &str, level: &str) -> bool {
    let Some(rest) = line.strip_prefix("time=\"") else {
        return false;
    };
    let Some((time, rest)) = rest.split_once("\" ") else {
        return false;
    };
    // RFC 3339 in whole seconds, UTC: 2006-01-02T15:04:05Z.
    let shape = time.len() == 20 && time.as_bytes()[10] == b'T' && time.ends_with('Z');
    shape && rest.starts_with(&format!("level={level} msg="))
}

#[test]
fn debug_adds_debug_lines_to_text_and_json_logs_as_runc_writes_them() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let (id, _b) = sleeper(&rt, "debug");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();

    // Text to a file, and to stderr without --log.
    let text = log("text.log");
    rt.ok(&["--debug", "--log", &text, "kill", &id, "0"]);
    let lines = std::fs::read_to_string(&text).expect("text log");
    assert!(lines.lines().any(|l| is_logrus_text(l, "debug")), "{lines}");
    assert!(lines.lines().all(|l| l.starts_with("time=\"")), "{lines}");
    let out = rt.run(&["--debug", "exec", &id, "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).lines().any(|l| is_logrus_text(l, "debug")),
        "{}",
        stderr(&out)
    );

    // JSON: every line an object with level, msg and time.
    let json_log = log("json.log");
    rt.ok(&[
        "--debug",
        "--log-format",
        "json",
        "--log",
        &json_log,
        "exec",
        &id,
        "true",
    ]);
    let lines = std::fs::read_to_string(&json_log).expect("json log");
    let mut debug = 0;
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(v["msg"].is_string() && v["time"].is_string(), "{line}");
        debug += usize::from(v["level"] == "debug");
    }
    assert!(debug > 0, "no debug line: {lines}");

    // Without --debug, none.
    let quiet = log("quiet.log");
    rt.ok(&["--log", &quiet, "exec", &id, "true"]);
    let lines = std::fs::read_to_string(&quiet).unwrap_or_default();
    assert!(!lines.contains("level=debug"), "{lines}");

    // runc's lines have the same shape.
    if let Some(runc) = runc() {
        let (rid, _rb) = sleeper(&runc, "debug-runc");
        let out = runc.run(&["--debug", "exec", &rid, "true"]);
        assert!(
            stderr(&out).lines().any(|l| is_logrus_text(l, "debug")),
            "{}",
            stderr(&out)
        );
        runc.ok(&["delete", "--force", &rid]);
    }
    rt.ok(&["delete", "--force", &id]);
}

/// With `--debug` the log names each invocation as the client made it and, when create
/// refuses the spec, the setting it refused: what a failing client lane needs to read.
#[test]
fn debug_log_names_the_invocation_and_the_refused_setting() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("debug-refused");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.tcp_fin_timeout": "30"});
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "network");
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("json.log");
    let log = log.to_str().expect("utf-8");
    let out = rt.run(&[
        "--debug",
        "--log-format",
        "json",
        "--log",
        log,
        "create",
        "--bundle",
        b.path_str(),
        &id,
    ]);
    assert!(
        !out.status.success(),
        "create with a host-netns sysctl succeeded"
    );
    let lines: Vec<Value> = std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let invoked = lines
        .iter()
        .find(|v| v["msg"] == "invoked")
        .unwrap_or_else(|| panic!("no invocation line: {lines:?}"));
    let argv = invoked["argv"].as_str().expect("argv");
    for word in ["create", "--bundle", b.path_str(), id.as_str()] {
        assert!(argv.contains(word), "argv {argv} lacks {word}");
    }
    assert!(
        lines.iter().any(|v| v["level"] == "error"
            && v["msg"]
                .as_str()
                .is_some_and(|m| m.contains("net.ipv4.tcp_fin_timeout"))),
        "the refused sysctl is not in the log: {lines:?}"
    );
}
