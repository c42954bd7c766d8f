//! The BPF programs count a real workload in a real cgroup, and only there.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use std::sync::mpsc;

use berth_ebpf::{AuditEvent, EventDetail, EventType, ProbeOptions, Probes, WatchKind};
use berth_testkit::cgroup::{TestCgroup, cgroup2_root};
use berth_testkit::root::require_root;
use berth_testkit::workload::{self, Workload, WorkloadChild, tcp_sink};

const CHILD: &str = "workload_child";

#[test]
fn workload_child() {
    workload::workload_child_main();
}

#[test]
fn counts_syscalls_errors_execs_and_bytes_of_a_watched_cgroup_only() {
    if !require_root() {
        return;
    }
    let mut options = ProbeOptions::new(cgroup2_root());
    options.audit.events = [EventType::ProcessExec, EventType::ProcessExit]
        .into_iter()
        .collect();
    let probes = Probes::load(&options).expect("loading the BPF probes");
    let (sender, received) = mpsc::channel::<AuditEvent>();
    let mut events = probes
        .audit_stream(move |e| {
            let _ = sender.send(e);
        })
        .expect("subscribing to audit records");
    let watched = TestCgroup::new("ebpf-watched", &[]);
    let unwatched = TestCgroup::new("ebpf-unwatched", &[]);
    probes
        .watch(watched.id(), WatchKind::Container)
        .expect("watch");
    count_syscalls_of(&probes, &[watched.id()]);

    let (port, sink) = tcp_sink();
    let workload = Workload {
        getppid: 5000,
        failures: 300,
        execs: 7,
        send_bytes: 200_000,
        port,
        ..Workload::default()
    };
    let mut child = WorkloadChild::spawn(CHILD, workload, &watched);
    child.run();
    let child_pid = child.pid();
    assert!(child.finish().success());
    assert_eq!(sink.join().expect("sink thread"), 200_000);

    let mut other = WorkloadChild::spawn(
        CHILD,
        Workload {
            getppid: 100,
            ..Workload::default()
        },
        &unwatched,
    );
    other.run();
    other.finish();

    let stats = probes.syscall_stats().expect("syscall stats");
    let ours = stats
        .get(&watched.id())
        .expect("the watched cgroup has syscall counts");
    let getppid = u32::try_from(libc::SYS_getppid).expect("syscall number");
    assert!(
        ours.by_number.get(&getppid).copied().unwrap_or(0) >= 5000,
        "{ours:?}"
    );
    assert!(ours.errors >= 300, "errors: {}", ours.errors);
    assert!(
        !stats.contains_key(&unwatched.id()),
        "an unwatched cgroup was counted"
    );

    let process = probes.process_counts().expect("process counts");
    let ours = process
        .get(&watched.id())
        .expect("process counts of the watched cgroup");
    assert!(
        ours.execs >= 7 && ours.forks >= 7 && ours.exits >= 8,
        "{ours:?}"
    );

    let net = probes.net_counts().expect("net counts");
    let ours = net
        .get(&watched.id())
        .expect("net counts of the watched cgroup");
    assert!(ours.tx_bytes >= 200_000, "{ours:?}");
    assert!(ours.tx_packets > 0 && ours.rx_packets > 0, "{ours:?}");

    let mut seen: Vec<AuditEvent> = Vec::new();
    for _ in 0..20 {
        events
            .poll(Duration::from_millis(50))
            .expect("polling events");
        seen.extend(received.try_iter());
        if seen
            .iter()
            .any(|e| e.event_type == EventType::ProcessExit && e.task.pid == child_pid)
        {
            break;
        }
    }
    let execs: Vec<_> = seen
        .iter()
        .filter(|e| e.event_type == EventType::ProcessExec && e.task.cgroup_id == watched.id())
        .collect();
    assert!(execs.len() >= 7, "exec events: {seen:?}");
    assert!(execs.iter().any(|e| matches!(
        &e.detail,
        EventDetail::Exec { filename, argv, .. } if filename == "/bin/true" && argv[0] == "/bin/true"
    )), "{execs:?}");
    assert!(
        seen.iter().all(|e| e.task.cgroup_id == watched.id()),
        "events from elsewhere: {seen:?}"
    );
    assert!(
        probes.events_lost().expect("events lost").is_empty(),
        "records lost"
    );

    // Pruning a removed cgroup deletes its entries.
    let gone = watched.id();
    probes.unwatch(gone).expect("unwatch");
    let deleted = probes.prune(&|id| id != gone).expect("prune");
    assert!(deleted > 0);
    assert!(!probes.syscall_stats().expect("stats").contains_key(&gone));
    assert!(!probes.process_counts().expect("counts").contains_key(&gone));
    assert!(!probes.watched().expect("watch list").contains_key(&gone));
}

#[test]
fn a_subtree_watch_counts_new_cgroups_below_it_under_their_own_id() {
    if !require_root() {
        return;
    }
    let probes = Probes::load(&ProbeOptions::new(cgroup2_root())).expect("loading the BPF probes");
    let parent = TestCgroup::new("ebpf-parent", &[]);
    let child_dir = parent.v2_dir.join("inner");
    std::fs::create_dir(&child_dir).expect("mkdir inner cgroup");
    let inner_id = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(&child_dir).expect("stat of the child cgroup"),
    );
    probes
        .watch(parent.id(), WatchKind::Subtree)
        .expect("watch subtree");

    let exe = std::env::current_exe().expect("current_exe");
    let mut child = std::process::Command::new(exe)
        .args(["--exact", CHILD, "--nocapture", "--test-threads=1"])
        .env(workload::WORKLOAD_ENV, "1000 0 0 0 0 0 0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::fs::write(child_dir.join("cgroup.procs"), child.id().to_string()).expect("move child");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    assert!(child.wait().expect("wait").success());

    let process = probes.process_counts().expect("process counts");
    let inner = process
        .get(&inner_id)
        .expect("the inner cgroup is counted under its own id");
    assert!(inner.exits >= 1, "{inner:?}");
    assert!(!process.contains_key(&parent.id()));
    // Syscalls are counted only for cgroups that opted in, and none did.
    assert!(probes.syscall_stats().expect("stats").is_empty());
    std::fs::remove_dir(&child_dir).expect("rmdir inner");
}

#[test]
fn syscall_counting_can_be_switched_off_while_the_rest_still_counts() {
    if !require_root() {
        return;
    }
    let options = ProbeOptions {
        syscalls: false,
        ..ProbeOptions::new(cgroup2_root())
    };
    let probes = Probes::load(&options).expect("loading the BPF probes");
    let cg = TestCgroup::new("ebpf-nosyscalls", &[]);
    probes.watch(cg.id(), WatchKind::Container).expect("watch");
    let counting = probes
        .count_syscalls_of(&BTreeSet::from([cg.id()]))
        .expect("asking to count syscalls");
    assert_eq!(counting.refused, vec![cg.id()]);
    assert!(!counting.attached && !probes.syscalls_attached());
    let workload = Workload {
        getppid: 1000,
        execs: 2,
        ..Workload::default()
    };
    let mut child = WorkloadChild::spawn(CHILD, workload, &cg);
    child.run();
    assert!(child.finish().success());
    assert!(probes.syscall_stats().expect("stats").is_empty());
    let process = probes.process_counts().expect("process counts");
    assert!(
        process.get(&cg.id()).is_some_and(|p| p.execs >= 2),
        "{process:?}"
    );
}

/// Counts the syscalls of `cgroups` and checks the programs are attached (detached
/// when `cgroups` is empty).
fn count_syscalls_of(probes: &Probes, cgroups: &[u64]) {
    let counting = probes
        .count_syscalls_of(&cgroups.iter().copied().collect())
        .expect("counting syscalls");
    assert_eq!(counting.counted, cgroups.len(), "{counting:?}");
    assert!(
        counting.refused.is_empty() && counting.attached != cgroups.is_empty(),
        "{counting:?}"
    );
}

/// The kernel's view: how many BPF links this process holds (its `bpf_link` fds, from
/// `/proc/self/fdinfo`) to a program named `name` (`bpftool prog show id`).
fn our_links_to(name: &str) -> usize {
    let fds = std::fs::read_dir("/proc/self/fd").expect("listing /proc/self/fd");
    let mut n = 0;
    for fd in fds.flatten() {
        let is_link = std::fs::read_link(fd.path())
            .is_ok_and(|target| target.to_string_lossy() == "anon_inode:bpf_link");
        let info =
            std::fs::read_to_string(std::path::Path::new("/proc/self/fdinfo").join(fd.file_name()))
                .unwrap_or_default();
        let Some(prog_id) = info
            .lines()
            .find_map(|l| l.strip_prefix("prog_id:"))
            .map(str::trim)
            .filter(|_| is_link)
        else {
            continue;
        };
        let out = Command::new("bpftool")
            .args(["prog", "show", "id", prog_id])
            .output()
            .expect("running bpftool");
        // "<id>: <type>  name <name>  tag ..."
        if String::from_utf8_lossy(&out.stdout).contains(&format!(" name {name} ")) {
            n += 1;
        }
    }
    n
}

#[test]
fn syscall_programs_are_attached_only_while_a_cgroup_opted_in() {
    if !require_root() {
        return;
    }
    let probes = Probes::load(&ProbeOptions::new(cgroup2_root())).expect("loading the BPF probes");
    let cg = TestCgroup::new("ebpf-optin", &[]);
    let other = TestCgroup::new("ebpf-optin-other", &[]);
    probes.watch(cg.id(), WatchKind::Container).expect("watch");
    probes
        .watch(other.id(), WatchKind::Container)
        .expect("watch");
    assert!(!probes.syscalls_attached());
    assert_eq!(
        our_links_to("berth_sys_enter"),
        0,
        "attached with no opt-in"
    );
    assert_eq!(our_links_to("berth_sys_exit"), 0, "attached with no opt-in");

    count_syscalls_of(&probes, &[cg.id()]);
    assert_eq!(our_links_to("berth_sys_enter"), 1);
    assert_eq!(our_links_to("berth_sys_exit"), 1);
    let workload = Workload {
        getppid: 2000,
        failures: 50,
        ..Workload::default()
    };
    for dir in [&cg, &other] {
        let mut child = WorkloadChild::spawn(CHILD, workload, dir);
        child.run();
        assert!(child.finish().success());
    }
    let stats = probes.syscall_stats().expect("stats");
    let getppid = u32::try_from(libc::SYS_getppid).expect("nr");
    let ours = stats.get(&cg.id()).expect("the opted-in cgroup is counted");
    assert!(
        ours.by_number.get(&getppid).copied().unwrap_or(0) >= 2000,
        "{ours:?}"
    );
    assert!(ours.errors >= 50, "{ours:?}");
    assert!(
        !stats.contains_key(&other.id()),
        "a cgroup that did not opt in was counted"
    );

    // Leaving the set detaches; opting in again starts from zero.
    count_syscalls_of(&probes, &[]);
    assert!(!probes.syscalls_attached());
    assert_eq!(
        our_links_to("berth_sys_enter"),
        0,
        "still attached after opt-out"
    );
    assert_eq!(
        our_links_to("berth_sys_exit"),
        0,
        "still attached after opt-out"
    );
    assert!(probes.syscall_stats().expect("stats").is_empty());
    count_syscalls_of(&probes, &[cg.id()]);
    assert_eq!(our_links_to("berth_sys_enter"), 1);
    assert_eq!(probes.syscall_stats().expect("stats")[&cg.id()].total(), 0);
    // Pruning the last counted cgroup detaches too.
    probes.prune(&|id| id != cg.id()).expect("prune");
    assert_eq!(our_links_to("berth_sys_enter"), 0);
}

/// A ring buffer nobody reads fills up: every exec record is then either delivered or
/// counted lost by the kernel, exactly.
#[test]
fn records_that_find_the_ring_full_are_counted_lost_by_type() {
    if !require_root() {
        return;
    }
    let mut options = ProbeOptions::new(cgroup2_root());
    options.audit.events = [EventType::ProcessExec].into_iter().collect();
    let probes = Probes::load(&options).expect("loading the BPF probes");
    let cg = TestCgroup::new("ebpf-ringfull", &[]);
    probes.watch(cg.id(), WatchKind::Container).expect("watch");
    // 1,500 exec records of ~1.3 KiB: more than the 1 MiB ring holds; not read meanwhile.
    const EXECS: usize = 1500;
    let mut child = WorkloadChild::spawn(
        CHILD,
        Workload {
            execs: EXECS as u64,
            ..Workload::default()
        },
        &cg,
    );
    child.run();
    assert!(child.finish().success());
    let (sender, received) = mpsc::channel::<AuditEvent>();
    let mut stream = probes
        .audit_stream(move |e| {
            let _ = sender.send(e);
        })
        .expect("subscribing");
    stream.poll(Duration::from_millis(100)).expect("polling");
    let delivered = received
        .try_iter()
        .filter(|e| {
            e.event_type == EventType::ProcessExec
                && matches!(&e.detail, EventDetail::Exec { filename, .. } if filename == "/bin/true")
        })
        .count();
    let lost = probes
        .events_lost()
        .expect("events lost")
        .get(&EventType::ProcessExec)
        .copied()
        .unwrap_or(0);
    assert!(lost > 0, "the ring never filled: {delivered} delivered");
    assert_eq!(
        delivered + lost as usize,
        EXECS,
        "{delivered} delivered, {lost} lost"
    );
    // Types that are off send nothing and lose nothing.
    assert_eq!(probes.events_lost().expect("events lost").len(), 1);
}

/// Opens, from a process in the cgroup it is moved to before it goes on: openat2 for
/// writing (`w2`), openat2 for reading (`r2`, which exists), openat for writing (`w1`),
/// under argv[1].
const OPENS: &str = r#"
import ctypes, os, struct, sys
d = sys.argv[1]
sys.stdin.readline()
libc = ctypes.CDLL(None, use_errno=True)
def openat2(path, flags):
    how = ctypes.create_string_buffer(struct.pack("QQQ", flags, 0o644 if flags & os.O_CREAT else 0, 0), 24)
    fd = libc.syscall(ctypes.c_long(437), ctypes.c_long(-100), path.encode(), how, ctypes.c_long(24))
    if fd < 0:
        raise OSError(ctypes.get_errno(), path)
    os.close(fd)
openat2(d + "/w2", os.O_WRONLY | os.O_CREAT)
openat2(d + "/r2", os.O_RDONLY)
os.close(os.open(d + "/w1", os.O_WRONLY | os.O_CREAT))
"#;

#[test]
fn an_openat2_for_writing_under_a_prefix_is_a_sensitive_open() {
    if !require_root() {
        return;
    }
    // In a thread of its own: the tracefs the open tracepoints need is mounted in that
    // thread's private mount namespace, which goes with the thread.
    std::thread::spawn(openat2_case)
        .join()
        .expect("the openat2 case");
}

fn openat2_case() {
    // SAFETY: unshare and mount take no memory but the NUL-terminated literals, alive
    // for the calls; CLONE_FS gives this thread its own fs context, so the new mount
    // namespace is this thread's alone.
    unsafe {
        assert_eq!(
            libc::unshare(libc::CLONE_NEWNS | libc::CLONE_FS),
            0,
            "unshare"
        );
        assert_eq!(
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
            0,
            "making / private"
        );
        if !std::path::Path::new("/sys/kernel/tracing/events").is_dir() {
            assert_eq!(
                libc::mount(
                    c"tracefs".as_ptr(),
                    c"/sys/kernel/tracing".as_ptr(),
                    c"tracefs".as_ptr(),
                    0,
                    std::ptr::null(),
                ),
                0,
                "mounting tracefs"
            );
        }
    }
    let dir = std::env::temp_dir().join(format!("berth-openat2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("r2"), "").expect("r2");
    let mut options = ProbeOptions::new(cgroup2_root());
    options.audit.events = [EventType::SensitiveOpen].into_iter().collect();
    options.audit.sensitive_prefixes = vec![format!("{}/", dir.display())];
    let probes = Probes::load(&options).expect("loading the BPF probes");
    let (sender, received) = mpsc::channel::<AuditEvent>();
    let mut events = probes
        .audit_stream(move |e| {
            let _ = sender.send(e);
        })
        .expect("subscribing to audit records");
    let watched = TestCgroup::new("ebpf-openat2", &[]);
    probes
        .watch(watched.id(), WatchKind::Container)
        .expect("watch");
    let mut child = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(OPENS)
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    watched.add(child.id());
    {
        use std::io::Write;
        let mut go = child.stdin.take().expect("stdin");
        go.write_all(b"go\n").expect("go");
    }
    assert!(child.wait().expect("wait").success());
    let mut paths = BTreeSet::new();
    for _ in 0..20 {
        events
            .poll(Duration::from_millis(50))
            .expect("polling events");
        for e in received.try_iter() {
            if let EventDetail::Open { path, .. } = &e.detail
                && e.task.cgroup_id == watched.id()
            {
                paths.insert(path.clone());
            }
        }
        if paths.len() >= 2 {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let want: BTreeSet<String> = ["w1", "w2"]
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    assert_eq!(paths, want);
}
