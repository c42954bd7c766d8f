//! Helpers shared by berth's end-to-end tests: where the fixtures and binaries are, a
//! throwaway runtime state root, and bundles derived from the busybox fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod containerd;
pub mod engine;
pub mod engine_network;
pub mod exporter;
pub mod pty;
pub mod registry;

/// The root check and unique ids are berth-testkit's (shared with every crate's tests),
/// re-exported for the end-to-end tests, which import them from here.
pub use berth_testkit::ids::unique_id;
pub use berth_testkit::root::require_root;

/// A writable copy of the busybox rootfs (2 MB) at `dir/rootfs`, for tests that plant
/// things in the image or let the runtime create files in it; the shared fixture stays
/// untouched. Mounts left on the fixture (a peer runtime run without a mount namespace
/// mounts /proc there) are not followed: reading its /proc/kmsg would block forever.
pub fn rootfs_copy(dir: &Path) -> PathBuf {
    let dst = dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg("--one-file-system")
        .arg(busybox_fixture().join("rootfs"))
        .arg(&dst)
        .status()
        .expect("cp -a rootfs");
    assert!(st.success(), "copying the busybox rootfs");
    dst
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("BERTH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".fixtures"))
}

/// The busybox bundle built by tests/fixtures.sh.
pub fn busybox_fixture() -> PathBuf {
    let dir = fixtures_dir().join("busybox");
    assert!(
        dir.join("config.json").is_file(),
        "fixture {} missing: run tests/fixtures.sh first",
        dir.display()
    );
    dir
}

/// A binary of this workspace, from the same target dir as the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A state root of its own per test, removed (with every container in it) on drop.
pub struct Runtime {
    pub root: tempfile::TempDir,
    pub bin: PathBuf,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("berth-rt-")
            .tempdir_in("/run")
            .expect("state root");
        Self {
            root,
            bin: bin("berth-runtime"),
        }
    }

    /// Another runc-compatible runtime binary (runc itself, for comparisons) with a state
    /// root of its own, cleaned up the same way.
    pub fn of(bin: PathBuf) -> Self {
        let mut rt = Self::new();
        rt.bin = bin;
        rt
    }

    /// runc from PATH, for tests that compare berth with it; panics when it is missing
    /// (the comparison is the test).
    pub fn runc() -> Self {
        Self::runc_if_installed().expect("runc is installed (this test compares berth with it)")
    }

    /// runc from PATH when it is installed, for tests that check berth alone otherwise.
    pub fn runc_if_installed() -> Option<Self> {
        berth_testkit::tools::find_in_path("runc").map(Self::of)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Run a runtime command with stdout and stderr captured in files, not pipes: a
    /// created or detached container inherits them and would hold a pipe open forever.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        output_via_files(cmd)
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth-runtime {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state JSON")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.root.path()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
    }
}

/// A bundle directory whose config is the busybox fixture's, edited by the test. The
/// rootfs is shared read-only by path, so bundles are cheap.
pub struct TestBundle {
    pub dir: tempfile::TempDir,
    pub config: Value,
}

impl TestBundle {
    pub fn busybox(args: &[&str]) -> Self {
        let fixture = busybox_fixture();
        let text = std::fs::read_to_string(fixture.join("config.json")).expect("fixture config");
        let mut config: Value = serde_json::from_str(&text).expect("fixture config JSON");
        config["root"]["path"] = Value::String(fixture.join("rootfs").display().to_string());
        config["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir()
            .expect("bundle dir");
        let b = Self { dir, config };
        b.write();
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 temp path")
    }

    /// Change the config and write it out.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.write();
        self
    }

    fn write(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("JSON"),
        )
        .expect("writing config.json");
    }
}

/// Polls `state` of `id` (every 20 ms, for up to 10 s) until its status is `want`; the
/// last state read, which the caller checks (it has another status after the 10 s).
pub fn wait_for_status(rt: &Runtime, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = rt.state(id);
        if st["status"] == want || Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A detached `sleep 1000` container with an id from `prefix`, checked running; the
/// caller deletes it (e.g. with [`delete_and_check_clean`]).
pub fn sleeper(rt: &Runtime, prefix: &str) -> (String, TestBundle) {
    let id = unique_id(prefix);
    let b = TestBundle::busybox(&["sleep", "1000"]);
    rt.ok(&["run", "--detach", "--bundle", b.path_str(), &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    (id, b)
}

/// `delete --force` of `id`, then checks that neither its state directory nor any of its
/// cgroups is left.
pub fn delete_and_check_clean(rt: &Runtime, id: &str) {
    rt.ok(&["delete", "--force", id]);
    assert!(!rt.root.path().join(id).exists(), "state dir of {id} left");
    assert!(
        cgroup_dirs_named(id).is_empty(),
        "cgroups left: {:?}",
        cgroup_dirs_named(id)
    );
}

/// A command's stderr as text (lossy), for assertions and failure messages.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Processes other than this test whose command line mentions `needle` (a container
/// process or hook left behind would), as `"<pid>": <command line>`: for leak checks.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let own = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
            && e.file_name() != own.as_str()
        {
            found.push(format!(
                "{:?}: {}",
                e.file_name(),
                String::from_utf8_lossy(&cmdline)
            ));
        }
    }
    found
}

/// Cgroup directories whose path contains `needle`, on every hierarchy: for leak checks.
pub fn cgroup_dirs_named(needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    for h in hierarchies.flatten() {
        let berth = h.path().join("berth");
        if let Ok(entries) = std::fs::read_dir(&berth) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains(needle) {
                    found.push(e.path());
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup/berth") {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().contains(needle) {
                found.push(e.path());
            }
        }
    }
    found
}

/// Runs `cmd` (stdin from /dev/null) with stdout and stderr captured in files, not
/// pipes: a container or monitor it leaves running inherits them and would hold a pipe
/// open forever.
pub fn output_via_files(mut cmd: Command) -> Output {
    let mut out = tempfile::tempfile().expect("stdout file");
    let mut err = tempfile::tempfile().expect("stderr file");
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"))
        .status()
        .unwrap_or_else(|e| panic!("spawning {:?}: {e}", cmd.get_program()));
    Output {
        status,
        stdout: read_back(&mut out),
        stderr: read_back(&mut err),
    }
}

fn read_back(f: &mut std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut buf = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).expect("seek");
    f.read_to_end(&mut buf).expect("read");
    buf
}

/// Accept one connection on a console socket and take what runc-style runtimes send: the
/// pty master with SCM_RIGHTS, and the pty's name as the data.
pub fn receive_pty_master(
    listener: &std::os::unix::net::UnixListener,
) -> (std::os::fd::OwnedFd, String) {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd};
    let (conn, _) = listener.accept().expect("console socket accept");
    let mut name = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            fd = fds.first().copied();
        }
    }
    let n = msg.bytes;
    let name = String::from_utf8_lossy(&name[..n]).into_owned();
    // SAFETY: the fd came to us through SCM_RIGHTS and nothing else owns it.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd.expect("no fd in SCM_RIGHTS")) };
    (fd, name)
}

/// A `create` running in the background, caught inside one of its hooks: the hook (a
/// shell that writes its pid to `marker`, then execs `sleep 1000`) has started, so the
/// cgroup and the init exist and the create has not finished. For crash-injection tests.
pub struct CreateInHook {
    pub create: std::process::Child,
    /// Holds the hook's pid (its shell exec'd sleep, keeping the pid).
    pub marker: PathBuf,
    _dir: tempfile::TempDir,
}

impl CreateInHook {
    /// Adds a `kind` hook (e.g. `prestart`, `createContainer`) to `b`, spawns `create`
    /// and returns once the hook runs (fails the test after 20 s).
    pub fn start(rt: &Runtime, b: &mut TestBundle, id: &str, kind: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("hook-started");
        let hook = format!("echo $$ > {}; exec sleep 1000", marker.display());
        b.edit(|c| {
            c["hooks"] =
                serde_json::json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", hook]}]});
        });
        let create = rt
            .cmd()
            .args(["create", "--bundle", b.path_str(), id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning create");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "{kind} hook never ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        Self {
            create,
            marker,
            _dir: dir,
        }
    }
}
