//! This test binary re-run as a child with a known workload (syscalls, failures, execs,
//! bytes sent, memory touched), placed in a [`TestCgroup`] before it starts, so a test
//! can compare what it observed with what the child did.
//!
//! The child is the test named in [`WorkloadChild::spawn`], whose body calls
//! [`workload_child_main`]; it does nothing in a normal test run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use crate::cgroup::TestCgroup;

/// Environment variable that turns the test binary into a workload child.
pub const WORKLOAD_ENV: &str = "BERTH_TEST_WORKLOAD";
/// What the child prints when its workload is done (libtest may print on the same line).
const DONE_MARKER: &str = "berth-test-workload-done";

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
    /// The port of [`Workload::send_bytes`] (e.g. a [`tcp_sink`]).
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
    /// The child process (stdin: the release and linger pipe; stdout: its report).
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

    /// The child's pid.
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
