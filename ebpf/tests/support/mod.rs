//! Test support shared by berth-ebpf's and berth-metrics' integration tests:
//! root checks, throw-away cgroups, and a child process running a known workload.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Environment variable that turns the test binary into a workload child.
pub const WORKLOAD_ENV: &str = "BERTH_TEST_WORKLOAD";
/// What the child prints when its workload is done (libtest may print on the same line).
const DONE_MARKER: &str = "berth-test-workload-done";
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

/// Returns false (skip) when not root and `BERTH_TEST_UNPRIVILEGED_SKIP=1`; panics
/// with a clear message when not root otherwise.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("BERTH_TEST_UNPRIVILEGED_SKIP").as_deref() == Ok("1") {
        eprintln!("skipping: needs root (BERTH_TEST_UNPRIVILEGED_SKIP=1)");
        return false;
    }
    panic!("this test needs root (BPF, cgroups); set BERTH_TEST_UNPRIVILEGED_SKIP=1 to skip it");
}

/// A unique name for a test object: `test-<tag>-<pid>-<n>`.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "test-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn fs_magic(path: &Path) -> i64 {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type().0)
        .unwrap_or_else(|e| panic!("statfs {}: {e}", path.display()))
}

/// The cgroup2 mount (the unified hierarchy on this hybrid host).
pub fn cgroup2_root() -> PathBuf {
    let root = berth_ebpf::cgroup2::mount_point().expect("finding the cgroup2 mount");
    assert_eq!(
        fs_magic(&root),
        CGROUP2_SUPER_MAGIC,
        "{} is not cgroup2",
        root.display()
    );
    root
}

/// A cgroup created for one test under `berth/` of the v2 hierarchy and, optionally,
/// of v1 controllers; removed on drop (its processes killed first).
pub struct TestCgroup {
    pub name: String,
    pub v2_dir: PathBuf,
    pub v1_dirs: Vec<(String, PathBuf)>,
}

impl TestCgroup {
    pub fn new(tag: &str, v1_controllers: &[&str]) -> Self {
        let name = unique_name(tag);
        let v2_dir = cgroup2_root().join("berth").join(&name);
        fs::create_dir_all(&v2_dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", v2_dir.display()));
        let mut cgroup = TestCgroup {
            name: name.clone(),
            v2_dir,
            v1_dirs: Vec::new(),
        };
        for controller in v1_controllers {
            let hierarchy = Path::new("/sys/fs/cgroup").join(controller);
            assert_eq!(
                fs_magic(&hierarchy),
                CGROUP_SUPER_MAGIC,
                "{} is not a cgroup v1 hierarchy",
                hierarchy.display()
            );
            let dir = hierarchy.join("berth").join(&name);
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            cgroup.v1_dirs.push((controller.to_string(), dir));
        }
        cgroup
    }

    pub fn id(&self) -> u64 {
        berth_ebpf::cgroup2::cgroup_id(&self.v2_dir).expect("cgroup id")
    }

    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1_dirs
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }

    /// Moves `pid` into every hierarchy of this cgroup.
    pub fn add(&self, pid: u32) {
        for dir in std::iter::once(&self.v2_dir).chain(self.v1_dirs.iter().map(|(_, d)| d)) {
            let procs = dir.join("cgroup.procs");
            fs::write(&procs, pid.to_string())
                .unwrap_or_else(|e| panic!("writing {pid} to {}: {e}", procs.display()));
        }
    }

    fn kill_all(dir: &Path) {
        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill has no memory preconditions; a stale pid only fails.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }

    fn remove_dir(dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            Self::kill_all(dir);
            match fs::remove_dir(dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if Instant::now() > deadline => {
                    eprintln!("leaving cgroup {}: {e}", dir.display());
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Removes the cgroup now (as drop does).
    pub fn remove(&self) {
        Self::remove_dir(&self.v2_dir);
        for (_, dir) in &self.v1_dirs {
            Self::remove_dir(dir);
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A known workload for a child process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Workload {
    /// `getppid` syscalls.
    pub getppid: u64,
    /// Failing syscalls (`close(-1)`, EBADF).
    pub failures: u64,
    /// Fork+exec of `/bin/true`, waited for.
    pub execs: u64,
    /// Bytes sent to this TCP port on 127.0.0.1.
    pub send_bytes: u64,
    pub port: u16,
    /// Bytes of anonymous memory to touch (for OOM tests).
    pub touch_bytes: u64,
    /// Stay alive after the workload until stdin closes.
    pub linger: bool,
}

impl Workload {
    fn encode(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.getppid,
            self.failures,
            self.execs,
            self.send_bytes,
            self.port,
            self.touch_bytes,
            u8::from(self.linger)
        )
    }

    fn decode(text: &str) -> Self {
        let n: Vec<u64> = text
            .split_whitespace()
            .map(|w| w.parse().expect("workload number"))
            .collect();
        Workload {
            getppid: n[0],
            failures: n[1],
            execs: n[2],
            send_bytes: n[3],
            port: u16::try_from(n[4]).expect("port"),
            touch_bytes: n[5],
            linger: n[6] != 0,
        }
    }
}

/// A workload child: started paused, released by [`WorkloadChild::run`].
pub struct WorkloadChild {
    pub child: Child,
}

impl WorkloadChild {
    /// Starts this test binary as a workload child (it runs the test named
    /// `child_test`, which must call [`workload_child_main`]) and puts it into `cgroup`.
    pub fn spawn(child_test: &str, workload: Workload, cgroup: &TestCgroup) -> Self {
        let exe = std::env::current_exe().expect("current_exe");
        let child = Command::new(exe)
            .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
            .env(WORKLOAD_ENV, workload.encode())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning the workload child");
        cgroup.add(child.id());
        WorkloadChild { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Releases the child and waits until it reports its workload done.
    pub fn run(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("child stdin");
        stdin
            .write_all(b"go\n")
            .expect("releasing the workload child");
        stdin.flush().expect("flush");
        let stdout = self.child.stdout.take().expect("child stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains(DONE_MARKER) => break,
                Some(Ok(_)) => continue,
                _ => break,
            }
        }
    }

    /// Closes stdin (ends a lingering child) and waits for the exit.
    pub fn finish(mut self) -> std::process::ExitStatus {
        drop(self.child.stdin.take());
        self.child.wait().expect("waiting for the workload child")
    }
}

impl Drop for WorkloadChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP sink on 127.0.0.1 counting what it receives, in a thread.
pub fn tcp_sink() -> (u16, std::thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a TCP sink");
    let port = listener.local_addr().expect("sink address").port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accepting");
        let mut total = 0u64;
        let mut buf = [0u8; 65536];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    (port, handle)
}

/// The body of the workload child; call from a `#[test]` named in
/// [`WorkloadChild::spawn`]. Does nothing in a normal test run.
pub fn workload_child_main() {
    let Ok(spec) = std::env::var(WORKLOAD_ENV) else {
        return;
    };
    let workload = Workload::decode(&spec);
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .expect("waiting for go");
    for _ in 0..workload.getppid {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    for _ in 0..workload.failures {
        // SAFETY: closing fd -1 only fails with EBADF.
        unsafe { libc::close(-1) };
    }
    for _ in 0..workload.execs {
        Command::new("/bin/true")
            .status()
            .expect("running /bin/true");
    }
    if workload.send_bytes > 0 {
        let mut stream = TcpStream::connect(("127.0.0.1", workload.port)).expect("connecting");
        let chunk = vec![7u8; 65536];
        let mut left = workload.send_bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            stream.write_all(&chunk[..n]).expect("sending");
            left -= n as u64;
        }
    }
    // Held until the child exits, so a lingering child keeps its memory.
    let mut hog: Vec<Vec<u8>> = Vec::new();
    let mut touched = 0u64;
    while touched < workload.touch_bytes {
        hog.push(vec![1u8; 1 << 20]);
        touched += 1 << 20;
    }
    std::hint::black_box(&hog);
    println!("{DONE_MARKER}");
    std::io::stdout().flush().expect("flush");
    if workload.linger {
        let mut rest = String::new();
        let _ = std::io::stdin().read_to_string(&mut rest);
    }
    std::process::exit(0);
}
