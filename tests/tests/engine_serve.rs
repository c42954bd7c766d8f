//! `berth serve` driven by the stock docker CLI (the first `docker` in PATH: version 28 on
//! the development machine, Debian's 20.10 elsewhere; both speak API 1.41), each test with
//! its own store (--root, --runroot, --runtime-root in a temp dir) and socket, the server
//! killed by its pid afterwards. Where the CLI cannot assert (status codes of bad input),
//! raw HTTP over the socket does.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use berth_testkit::wait::wait_for;
use berth_tests::{bin, require_root};

/// A running `berth serve` on a temp store and socket; killed (by pid) on drop.
struct Served {
    dir: tempfile::TempDir,
    child: Child,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-serve-")
            .tempdir()
            .expect("temp dir");
        let mut served = Self {
            child: spawn_server(dir.path()),
            dir,
        };
        served.wait_ready();
        served
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("api.sock")
    }

    fn wait_ready(&mut self) {
        let sock = self.socket();
        wait_for("berth serve's socket", Duration::from_secs(10), || {
            UnixStream::connect(&sock).ok().map(|_| ())
        });
    }

    /// Kills the server (SIGKILL: nothing may depend on it ending cleanly) and starts a
    /// new one on the same store and socket.
    #[allow(dead_code)]
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn_server(self.dir.path());
        self.wait_ready();
    }

    /// `docker ARGS` against this server, with a config dir of its own.
    fn docker(&self, args: &[&str]) -> Output {
        docker_cmd(self.dir.path(), &self.socket())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running docker")
    }

    /// `docker ARGS`, which must succeed; its stdout.
    fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One raw HTTP/1.1 request on the socket; (status, body).
    fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = UnixStream::connect(self.socket()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("write head");
        // A server refusing a huge body may close before reading it all.
        let _ = s.write_all(body);
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let status = reply
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status in reply to {method} {path}: {reply:?}"));
        let body = reply
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The API makes the default network (its bridge and nftables table) on first use.
        berth_tests::engine_network::teardown(
            &self.dir.path().join("root"),
            &self.dir.path().join("run"),
        );
    }
}

fn spawn_server(dir: &Path) -> Child {
    Command::new(bin("berth"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .arg("--runtime-root")
        .arg(dir.join("runtime"))
        .arg("--runtime")
        .arg(bin("berth-runtime"))
        .arg("serve")
        .arg("--host")
        .arg(format!("unix://{}", dir.join("api.sock").display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("starting berth serve")
}

fn docker_cmd(dir: &Path, socket: &Path) -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env("DOCKER_CONFIG", dir.join("docker-config"))
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_API_VERSION");
    c
}

#[test]
fn docker_version_and_info_show_berth() {
    if !require_root() {
        return;
    }
    let s = Served::start();
    let platform = s.docker_ok(&["version", "--format", "{{.Server.Platform.Name}}"]);
    assert!(platform.starts_with("berth "), "{platform:?}");
    let api = s.docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(api.trim(), "1.41");
    let info = s.docker_ok(&["info"]);
    assert!(info.contains("Default Runtime: berth-runtime"), "{info}");
    let root = s.docker_ok(&["info", "--format", "{{.DockerRootDir}}"]);
    assert_eq!(Path::new(root.trim()), s.dir.path().join("root"));
}

#[test]
fn socket_is_0660_and_ping_negotiates() {
    if !require_root() {
        return;
    }
    let s = Served::start();
    let mode = std::fs::metadata(s.socket())
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    let (status, body) = s.http("GET", "/_ping", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, _) = s.http("HEAD", "/v1.41/_ping", b"");
    assert_eq!(status, 200);
}

#[test]
fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    if !require_root() {
        return;
    }
    let s = Served::start();
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "GET",
            "/v1.12/info".into(),
            vec![],
            400,
            "Minimum supported API version is 1.24",
        ),
        (
            "GET",
            "/v1.99/info".into(),
            vec![],
            400,
            "Maximum supported API version is 1.41",
        ),
        (
            "GET",
            "/v1.41/no/such/route".into(),
            vec![],
            404,
            "page not found",
        ),
        (
            "POST",
            "/v1.41/containers/create".into(),
            b"{\"Image\": ".to_vec(),
            400,
            "invalid JSON",
        ),
        (
            "POST",
            "/v1.41/containers/create".into(),
            br#"{"Image": "busybox", "NoSuchField": 1}"#.to_vec(),
            400,
            "NoSuchField",
        ),
        (
            "POST",
            "/v1.41/containers/create".into(),
            br#"{"Image": 42}"#.to_vec(),
            400,
            "invalid JSON",
        ),
        (
            "POST",
            "/v1.41/containers/create".into(),
            vec![b' '; 4 << 20],
            413,
            "larger than",
        ),
        (
            "POST",
            "/v1.41/containers/create?name=../../etc".into(),
            br#"{"Image": "busybox"}"#.to_vec(),
            400,
            "Invalid container name",
        ),
        (
            "GET",
            "/v1.41/containers/..%2F..%2Fetc/json".into(),
            vec![],
            404,
            "No such container",
        ),
    ];
    for (method, path, body, want, needle) in cases {
        let (status, reply) = s.http(method, &path, &body);
        assert_eq!(status, want, "{method} {path}: {reply}");
        let msg: serde_json::Value = serde_json::from_str(reply.trim())
            .unwrap_or_else(|e| panic!("{method} {path}: reply is not JSON ({e}): {reply:?}"));
        let msg = msg["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(needle),
            "{method} {path}: {msg:?} lacks {needle:?}"
        );
        let (ping, _) = s.http("GET", "/_ping", b"");
        assert_eq!(
            ping, 200,
            "the server stopped serving after {method} {path}"
        );
    }
    assert!(!s.dir.path().join("root/etc").exists());
}
