//! A real registry for the engine's pull/push tests: Debian's `docker-registry`
//! (distribution 2.8) on 127.0.0.1 at a free port, with its storage in a temp dir, and
//! optionally htpasswd or token auth; stopped by its PID on drop. Also the two small
//! network helpers those tests need: a TCP proxy that can cut one blob download short
//! and counts blob requests, and `skopeo` to put fixture images into a registry.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_testkit::tools::require_tool;
use berth_testkit::wait::wait_for;

/// How the registry checks clients.
pub enum RegistryAuth {
    None,
    /// htpasswd (bcrypt) with one user.
    Htpasswd {
        user: String,
        password: String,
    },
    /// Bearer tokens from `realm`, signed by the key whose certificate is `cert`.
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

/// A running `docker-registry`, killed (by PID) and its storage removed on drop.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

/// A free loopback port (bound then released: the registry binds it right after).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local addr").port()
}

impl Registry {
    /// Starts a registry with `auth` and waits until `/v2/` answers.
    pub fn start(auth: RegistryAuth) -> Self {
        require_tool("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().expect("registry tempdir");
        let port = free_port();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("registry storage dir");
        let auth_yaml = match &auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, password } => {
                require_tool("htpasswd", "apache2-utils");
                let file = dir.path().join("htpasswd");
                let st = Command::new("htpasswd")
                    .args(["-Bbc"])
                    .arg(&file)
                    .args([user, password])
                    .stderr(Stdio::null())
                    .status()
                    .expect("htpasswd");
                assert!(st.success(), "htpasswd failed");
                format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token {
                realm,
                service,
                issuer,
                cert,
            } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n{auth_yaml}",
                storage.display()
            ),
        )
        .expect("writing registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("starting docker-registry");
        let reg = Registry { dir, port, child };
        wait_for(
            "docker-registry to answer /v2/",
            Duration::from_secs(20),
            || http_status(port, "/v2/").map(|_| ()),
        );
        reg
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log (access lines name each request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The blob file of `digest` in the registry's storage (for corrupting it).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status code of `GET path` on 127.0.0.1:port, `None` when nothing answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Copies an image into the registry with skopeo (`src` in skopeo's transport syntax,
/// e.g. `oci-archive:/path/oci-image.tar`), `format` `oci` or `v2s2`.
pub fn skopeo_copy(src: &str, dest_ref: &str, format: &str, extra: &[&str]) {
    require_tool("skopeo", "skopeo");
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--format",
            format,
        ])
        .args(extra)
        .arg(src)
        .arg(format!("docker://{dest_ref}"))
        .output()
        .expect("running skopeo copy");
    assert!(
        out.status.success(),
        "skopeo copy {src} {dest_ref}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `skopeo inspect --raw` (`raw`) or `skopeo inspect` of an image in the registry.
pub fn skopeo_inspect(image_ref: &str, raw: bool) -> Result<String, String> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--tls-verify=false"]);
    if raw {
        cmd.arg("--raw");
    }
    let out = cmd
        .arg(format!("docker://{image_ref}"))
        .output()
        .expect("running skopeo inspect");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A TCP proxy on 127.0.0.1 in front of `upstream`: counts the blob GETs it forwards
/// (per digest) and, when armed with a digest, cuts the first response to a GET of that
/// blob after `cut_after` bytes (once). Stops (listener closed, threads end) on drop.
pub struct CutProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    pub cuts: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CutProxy {
    /// Starts the proxy; `cut` is `(digest, bytes)` to cut that blob's first download.
    pub fn start(upstream: u16, cut: Option<(String, usize)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = listener.local_addr().expect("proxy addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let cuts = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(Mutex::new(cut));
        let (stop2, requests2, cuts2) = (stop.clone(), requests.clone(), cuts.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        let (requests, cuts, cut) = (requests2.clone(), cuts2.clone(), cut.clone());
                        std::thread::spawn(move || relay(client, server, requests, cuts, cut));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        CutProxy {
            port,
            stop,
            requests,
            cuts,
            thread: Some(thread),
        }
    }

    /// The Range headers clients sent (`range: bytes=N-`).
    pub fn ranges(&self) -> Vec<String> {
        self.requests
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|l| l.to_ascii_lowercase().starts_with("range:"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many GETs of blob `digest` passed through.
    pub fn blob_gets(&self, digest: &str) -> usize {
        let needle = format!("/blobs/{digest}");
        self.requests
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|l| l.starts_with("GET ") && l.contains(&needle))
                    .count()
            })
            .unwrap_or(0)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Client -> server requests are scanned for their request lines; server -> client
/// bytes are copied, and cut once after N bytes of the armed blob's response.
fn relay(
    client: TcpStream,
    server: TcpStream,
    requests: Arc<Mutex<Vec<String>>>,
    cuts: Arc<AtomicUsize>,
    cut: Arc<Mutex<Option<(String, usize)>>>,
) {
    let armed = Arc::new(Mutex::new(None::<usize>));
    let (mut c_read, mut s_write) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    let armed_up = armed.clone();
    let up = std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            let n = match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            let wanted = |l: &&str| {
                ["GET ", "HEAD ", "PUT ", "POST ", "PATCH "]
                    .iter()
                    .any(|m| l.starts_with(m))
                    || l.to_ascii_lowercase().starts_with("range:")
            };
            for line in text.lines().filter(wanted) {
                if let Ok(mut r) = requests.lock() {
                    r.push(line.to_string());
                }
                if let Ok(mut c) = cut.lock()
                    && let Some((digest, after)) = c.as_ref()
                    && line.starts_with("GET ")
                    && line.contains(&format!("/blobs/{digest}"))
                {
                    if let Ok(mut a) = armed_up.lock() {
                        *a = Some(*after);
                    }
                    *c = None;
                }
            }
            if s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut buf = [0u8; 16384];
    let mut sent_armed = 0usize;
    loop {
        let n = match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let limit = armed.lock().ok().and_then(|a| *a);
        if let Some(limit) = limit {
            let room = limit.saturating_sub(sent_armed);
            let _ = c_write.write_all(&buf[..n.min(room)]);
            sent_armed += n.min(room);
            if sent_armed >= limit {
                cuts.fetch_add(1, Ordering::SeqCst);
                let _ = c_write.shutdown(Shutdown::Both);
                let _ = s_read.shutdown(Shutdown::Both);
                break;
            }
            continue;
        }
        if c_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// The fixture image tarballs (tests/fixtures.sh): busybox as an OCI archive and, when
/// built, as a docker archive.
pub fn busybox_oci_archive() -> PathBuf {
    crate::fixtures_dir().join("busybox/oci-image.tar")
}

/// A path under the fixtures if it exists.
pub fn fixture_if_present(rel: &str) -> Option<PathBuf> {
    let p = crate::fixtures_dir().join(rel);
    p.exists().then_some(p)
}

/// Reads a file as a string, panicking with its name.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// One HTTP answer of an [`HttpStub`].
pub struct Reply {
    pub status: &'static str,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A small HTTP/1 server on 127.0.0.1: each connection sends one request, whose head
/// (request line and headers, as text) `answer` turns into the reply; the connection
/// closes after it. Stops on drop.
pub struct HttpStub {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpStub {
    pub fn start(answer: impl Fn(&str) -> Reply + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("http stub bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req).into_owned();
                let reply = answer(&head);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.status,
                    reply.content_type,
                    reply.body.len()
                );
                if !head.starts_with("HEAD ") {
                    let _ = conn.write_all(&reply.body);
                }
            }
        });
        HttpStub {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fake registry answering `/v2/` with 200 and every manifest request with
/// `content_type` and `body` (for the protocol's bad input: schema 1 manifests, garbage).
pub fn fake_registry(content_type: &str, body: Vec<u8>) -> HttpStub {
    let content_type = content_type.to_string();
    HttpStub::start(move |head| {
        let line = head.lines().next().unwrap_or_default();
        if line.contains("/manifests/") {
            Reply {
                status: "200 OK",
                content_type: content_type.clone(),
                body: body.clone(),
            }
        } else if line.contains(" /v2/ ") {
            Reply {
                status: "200 OK",
                content_type: "application/json".into(),
                body: b"{}".to_vec(),
            }
        } else {
            Reply {
                status: "404 Not Found",
                content_type: "application/json".into(),
                body: br#"{"errors":[{"code":"NOT_FOUND","message":"no"}]}"#.to_vec(),
            }
        }
    })
}

/// `PUT path` of `body` with `content_type` to 127.0.0.1:port; the status code.
pub fn http_put(port: u16, path: &str, content_type: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect for PUT");
    write!(
        s,
        "PUT {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("PUT head");
    s.write_all(body).expect("PUT body");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// A token service for a registry with `auth: token`: an RSA key and self-signed
/// certificate made with openssl for the test, and an HTTP server on 127.0.0.1 that
/// hands out JWTs (RS256, signed by `openssl dgst`, the certificate in `x5c`) granting the
/// scope asked for to one user with the right password, and 401 to anyone else. Stops
/// on drop.
pub struct TokenServer {
    http: HttpStub,
    pub cert: PathBuf,
    pub issuer: String,
    pub service: String,
    /// Token requests seen, with whether they were granted.
    pub requests: Arc<Mutex<Vec<(String, bool)>>>,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> Self {
        require_tool("openssl", "openssl");
        let dir = tempfile::tempdir().expect("token tempdir");
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=berth-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl req");
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl x509");
        assert!(der.status.success(), "openssl x509 -outform DER");
        let x5c = base64(&der.stdout, false);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let issuer = "berth-test-issuer".to_string();
        let service = "berth-test-registry".to_string();
        let want_auth = format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes(), false)
        );
        let (requests2, issuer2, service2) = (requests.clone(), issuer.clone(), service.clone());
        let user = user.to_string();
        let http = HttpStub::start(move |head| {
            let line = head.lines().next().unwrap_or_default().to_string();
            let granted = head.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("authorization:") && l[14..].trim() == want_auth
            });
            if let Ok(mut r) = requests2.lock() {
                r.push((line.clone(), granted));
            }
            let (status, body) = if granted {
                let token = sign_token(&key, &x5c, &issuer2, &service2, &user, &scopes_of(&line));
                (
                    "200 OK",
                    format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#
                        .to_string(),
                )
            };
            Reply {
                status,
                content_type: "application/json".into(),
                body: body.into_bytes(),
            }
        });
        TokenServer {
            http,
            cert,
            issuer,
            service,
            requests,
            _dir: dir,
        }
    }

    /// The registry's auth config for this token service.
    pub fn registry_auth(&self) -> RegistryAuth {
        RegistryAuth::Token {
            realm: format!("http://127.0.0.1:{}/token", self.http.port),
            service: self.service.clone(),
            issuer: self.issuer.clone(),
            cert: self.cert.clone(),
        }
    }
}

/// `scope=repository:NAME:ACTIONS` query parameters of a token request line, as the
/// token's `access` claim.
fn scopes_of(request_line: &str) -> Vec<serde_json::Value> {
    let query = request_line
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.split_once('?'))
        .map(|(_, q)| q)
        .unwrap_or("");
    query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(|v| v.replace("%3A", ":").replace("%3a", ":").replace("%2C", ",").replace("%2c", ",").replace("%2F", "/").replace("%2f", "/"))
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect()
}

fn sign_token(
    key: &Path,
    x5c: &str,
    issuer: &str,
    service: &str,
    user: &str,
    access: &[serde_json::Value],
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": issuer, "sub": user, "aud": service, "exp": now + 300, "nbf": now - 10,
        "iat": now, "jti": format!("{now}-{}", std::process::id()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        base64(header.to_string().as_bytes(), true),
        base64(claims.to_string().as_bytes(), true)
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(signing_input.as_bytes())
        .expect("writing to openssl");
    let out = child.wait_with_output().expect("openssl dgst output");
    format!("{signing_input}.{}", base64(&out.stdout, true))
}

/// Base64 (standard, or URL-safe without padding as JWTs use).
pub fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if !url {
                s.push('=');
            }
        }
    }
    s
}
