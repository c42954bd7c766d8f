//! A runtime command killed with SIGKILL at any point (`create`, `run`, `start`, `exec`,
//! `delete`), then `delete --force`: the delete finishes in bounded time and nothing of
//! the container is left: no state directory, no cgroup on any hierarchy, no process, no
//! mount. The kind of fault this hunts: a resource the runtime takes (the state lock, an
//! fd, a child) inherited by a process that outlives it, e.g. a container init blocked on
//! `exec.fifo` holding the lock that `delete` then waits on forever.
//!
//! The kill points are random; the seed is printed and `BERTH_CRASH_SEED` replays it.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::rng::Rng;
use berth_tests::{CreateInHook, Runtime, TestBundle, cgroup_dirs_named, require_root, unique_id};
use serde_json::json;

/// Kills per verb; five verbs.
const ROUNDS_PER_VERB: usize = 11;
/// Longer than `delete --force` may ever take: its lock wait is bounded (a few seconds)
/// and so is its wait for killed processes.
const DELETE_LIMIT: Duration = Duration::from_secs(20);
/// Kill delays are drawn from 0 to at least this, or to how long the verb takes here.
const MIN_SPAN: Duration = Duration::from_millis(40);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verb {
    Create,
    Run,
    Start,
    Exec,
    Delete,
}

const VERBS: [Verb; 5] = [
    Verb::Create,
    Verb::Run,
    Verb::Start,
    Verb::Exec,
    Verb::Delete,
];

/// A bundle whose processes carry `BERTH_CRASH_MARK=<id>` in their environment, so that
/// any of them left behind is found, whatever it became.
fn bundle(id: &str) -> TestBundle {
    let mut b = TestBundle::busybox(&["sleep", "5"]);
    let mark = format!("BERTH_CRASH_MARK={id}");
    b.edit(|c| {
        let env = c["process"]["env"].as_array_mut().expect("fixture env");
        env.push(json!(mark));
    });
    b
}

/// Bring the container to where `verb` starts, and spawn `verb` on it.
fn spawn_verb(rt: &Runtime, verb: Verb, id: &str, b: &TestBundle) -> Child {
    let args: Vec<&str> = match verb {
        Verb::Create => vec!["create", "--bundle", b.path_str(), id],
        Verb::Run => vec!["run", "--bundle", b.path_str(), id],
        Verb::Start => {
            rt.ok(&["create", "--bundle", b.path_str(), id]);
            vec!["start", id]
        }
        Verb::Exec => {
            rt.ok(&["run", "--detach", "--bundle", b.path_str(), id]);
            vec!["exec", id, "sleep", "5"]
        }
        Verb::Delete => {
            rt.ok(&["run", "--detach", "--bundle", b.path_str(), id]);
            vec!["delete", "--force", id]
        }
    };
    // Not pipes: a process that outlives the runtime would hold them open.
    rt.cmd()
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning berth-runtime")
}

/// How long `verb` takes when nothing kills it, to spread the kill points over all of it.
fn duration_of(rt: &Runtime, verb: Verb) -> Duration {
    let id = unique_id("crash-measure");
    let b = bundle(&id);
    let mut child = spawn_verb(rt, verb, &id, &b);
    let start = Instant::now();
    // A foreground run or exec lasts as long as its `sleep 5`; its setup is what matters,
    // and it is over by the time `create` alone would be.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if start.elapsed() > Duration::from_millis(400) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let took = start.elapsed();
    assert!(
        status.is_none_or(|s| s.success()),
        "{verb:?} fails without a kill"
    );
    rt.ok(&["delete", "--force", &id]);
    took.min(Duration::from_millis(400))
}

/// `delete --force` with a deadline; Err says how it hung or failed.
fn delete_in_time(rt: &Runtime, id: &str) -> Result<(), String> {
    let mut child = rt
        .cmd()
        .args(["delete", "--force", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning delete");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("delete --force failed: {status}"))
            };
        }
        if start.elapsed() > DELETE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("delete --force hung for {DELETE_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Live processes that belong to `id`: its marker in their environment, or the id on
/// their command line (a runtime command, or a stage that has not exec'd yet).
fn processes_of(id: &str) -> Vec<String> {
    let mark = format!("BERTH_CRASH_MARK={id}");
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() || name == me {
            continue;
        }
        // A zombie has neither: it holds nothing but its pid.
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let has = |hay: &[u8], needle: &str| {
            hay.split(|b| *b == 0)
                .any(|part| String::from_utf8_lossy(part) == needle)
        };
        if has(&environ, &mark) || has(&cmdline, id) {
            let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push(format!("pid {name}: {cmd}"));
        }
    }
    found
}

/// What is left of `id` after its delete; empty when nothing is.
fn leftovers(rt: &Runtime, id: &str, b: &TestBundle) -> Vec<String> {
    let mut left = Vec::new();
    if rt.root.path().join(id).exists() {
        left.push("state directory".to_string());
    }
    left.extend(
        cgroup_dirs_named(id)
            .iter()
            .map(|d| format!("cgroup {}", d.display())),
    );
    // SIGKILL is asynchronous: give dying processes a moment to be gone.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut procs = processes_of(id);
    while !procs.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        procs = processes_of(id);
    }
    left.extend(procs);
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    left.extend(
        mountinfo
            .lines()
            .filter(|l| l.contains(id) || l.contains(b.path_str()))
            .map(|l| format!("mount {l}")),
    );
    left
}

#[test]
fn delete_force_leaves_nothing_after_any_verb_is_killed_at_a_random_point() {
    if !require_root() {
        return;
    }
    let seed = std::env::var("BERTH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("BERTH_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let rt = Runtime::new();
    let spans: Vec<(Verb, Duration)> = VERBS
        .iter()
        .map(|v| (*v, duration_of(&rt, *v).max(MIN_SPAN)))
        .collect();

    let mut rounds: Vec<Verb> = VERBS
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, ROUNDS_PER_VERB))
        .collect();
    // Interleaved, so that no verb sees only a warm or a cold host.
    for i in (1..rounds.len()).rev() {
        rounds.swap(i, rng.below(i as u64 + 1) as usize);
    }

    let mut failures = Vec::new();
    for verb in rounds {
        let span = spans
            .iter()
            .find(|(v, _)| *v == verb)
            .map_or(MIN_SPAN, |(_, s)| *s);
        let delay = Duration::from_micros(rng.below(span.as_micros() as u64 + 1));
        let id = unique_id("crash");
        let b = bundle(&id);
        let mut victim = spawn_verb(&rt, verb, &id, &b);
        std::thread::sleep(delay);
        let _ = victim.kill();
        let _ = victim.wait();
        let what = format!("{verb:?} killed after {delay:?} ({id})");
        match delete_in_time(&rt, &id) {
            Err(e) => failures.push(format!("{what}: {e}")),
            Ok(()) => {
                let left = leftovers(&rt, &id, &b);
                if !left.is_empty() {
                    failures.push(format!("{what}: left {left:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "BERTH_CRASH_SEED={seed}:\n{}",
        failures.join("\n")
    );
}

/// Wait until `id`'s state.json says `status` (read directly: `state` takes the lock).
fn wait_for_recorded_status(rt: &Runtime, id: &str, status: &str) -> serde_json::Value {
    let path = rt.root.path().join(id).join("state.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(data) = fs::read(&path)
            && let Ok(state) = serde_json::from_slice::<serde_json::Value>(&data)
            && state["status"] == status
        {
            return state;
        }
        assert!(Instant::now() < deadline, "{id} never recorded {status}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn alive(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.get(s.rfind(')')? + 2..)?.to_string();
            rest.chars().next()
        })
        .is_some_and(|state| !matches!(state, 'Z' | 'X'))
}

/// The case, made certain instead of 3 in 60: `create` killed after the init
/// reached the exec fifo but before `create` exited. The pid file's temporary name is a
/// fifo here, so `create` blocks writing it, after the container is recorded created.
#[test]
fn delete_force_after_create_was_killed_with_its_init_waiting_for_start() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("crash-created");
    let b = bundle(&id);
    let pid_dir = tempfile::tempdir().expect("tempdir");
    let pid_file = pid_dir.path().join("pid");
    nix::unistd::mkfifo(
        &pid_dir.path().join(".pid.tmp"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("mkfifo");
    let pid_file = pid_file.to_str().expect("utf-8 path");
    let mut create = rt
        .cmd()
        .args([
            "create",
            "--pid-file",
            pid_file,
            "--bundle",
            b.path_str(),
            &id,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning create");
    wait_for_recorded_status(&rt, &id, "created");
    let _ = create.kill();
    let _ = create.wait();
    delete_in_time(&rt, &id).expect("delete after the killed create");
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left: {left:?}");
}

/// An init whose `create` died before the container was created dies too, by itself:
/// here it is running a createContainer hook (so not waiting on the runtime) when `create`
/// is killed. Nothing but the kill is needed for it to go.
#[test]
fn the_init_dies_with_a_create_killed_before_created() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("crash-orphan");
    let mut b = bundle(&id);
    let mut hooked = CreateInHook::start(&rt, &mut b, &id, "createContainer");
    let create = &mut hooked.create;
    let state = wait_for_recorded_status(&rt, &id, "creating");
    let init = state["pid"].as_i64().expect("init pid recorded");
    assert!(alive(init), "init {init} gone before the kill");
    let _ = create.kill();
    let _ = create.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(init) {
        assert!(
            Instant::now() < deadline,
            "init {init} outlived its killed create"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    delete_in_time(&rt, &id).expect("delete after the killed create");
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left: {left:?}");
}

/// Whatever holds a container's lock and does not let go (here a stray `flock`; before,
/// an orphaned init that had inherited it) cannot make `delete --force` wait forever: after
/// a bounded wait the holder is killed and the container deleted.
#[test]
fn delete_force_kills_a_process_that_keeps_the_state_lock() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("crash-lock");
    let b = bundle(&id);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let lock = rt.root.path().join(&id).join("lock");
    let mut holder = std::process::Command::new("flock")
        .arg("--exclusive")
        .arg(&lock)
        .args(["sleep", "1000"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawning flock");
    wait_until_locked(&lock);
    let start = Instant::now();
    delete_in_time(&rt, &id).expect("delete of a container whose lock is held");
    let took = start.elapsed();
    let status = holder.wait().expect("flock exit");
    assert!(!status.success(), "the holder was not killed: {status}");
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left: {left:?}");
    assert!(took < Duration::from_secs(10), "delete took {took:?}");
}

/// Another runtime command holding the lock outside the container (a second `delete
/// --force`, a `start` running hooks) is waited for, not killed mid-work: here a lock
/// holder named berth-runtime that lets go after 4 s, inside delete's bounded wait.
#[test]
fn delete_force_waits_for_another_runtime_command_instead_of_killing_it() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("crash-peer");
    let b = bundle(&id);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    let lock = rt.root.path().join(&id).join("lock");
    // One process (no child to inherit the lock) named berth-runtime: /proc/<pid>/comm
    // is what delete goes by.
    let script = "import ctypes, fcntl, sys, time\n\
                  ctypes.CDLL(None).prctl(15, b'berth-runtime', 0, 0, 0)\n\
                  f = open(sys.argv[1], 'r+')\n\
                  fcntl.flock(f, fcntl.LOCK_EX)\n\
                  time.sleep(4)\n";
    let mut holder = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&lock)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawning the lock holder");
    wait_until_locked(&lock);
    delete_in_time(&rt, &id).expect("delete once the other command let go");
    let status = holder.wait().expect("holder exit");
    assert!(
        status.success(),
        "the other runtime command was killed: {status}"
    );
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left: {left:?}");
}

/// Returns once `lock` is held exclusively by someone: a shared lock (what `state` takes)
/// would then block, so try one without waiting.
fn wait_until_locked(lock: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::process::Command::new("flock")
        .args(["--shared", "--nonblock"])
        .arg(lock)
        .arg("true")
        .status()
        .expect("flock probe")
        .success()
    {
        assert!(Instant::now() < deadline, "nobody took {}", lock.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}
