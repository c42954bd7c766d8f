//! `berth pull`, `push`, `login`/`logout` against a real registry: Debian's
//! `docker-registry` (distribution 2.8) started per test on 127.0.0.1 with a temp
//! storage dir (tests/src/registry.rs), images put into it with `skopeo` from the
//! fixture archives. Each test has its own berth store, auth file and docker config dir.
//! Bad input (unknown image, malformed name, schema 1 manifest, a registry answering
//! garbage, a platform missing from an index, a corrupt blob) must fail with a clear
//! message, exit 1, and leave no image and no stray file in the store.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use berth_tests::engine::Engine;
use berth_tests::registry::{
    CutProxy, Registry, RegistryAuth, TokenServer, base64, busybox_oci_archive, fake_registry,
    http_put, skopeo_copy, skopeo_inspect,
};
use berth_tests::{output_via_files, require_root};

/// A berth store (berth-tests' [`Engine`]: temp root, runroot, runtime root, the
/// workspace's berth-runtime, containers removed on drop) with an auth file, a registry
/// settings path and a docker config dir of the test's own.
struct Berth {
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Berth {
    fn new() -> Self {
        Berth {
            engine: Engine::empty(),
            dir: tempfile::Builder::new()
                .prefix("berth-registry-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    fn root(&self) -> PathBuf {
        self.engine.root().to_path_buf()
    }

    fn auth_file(&self) -> PathBuf {
        self.dir.path().join("auth.json")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.engine.cmd();
        c.args(args)
            .env("BERTH_AUTH_FILE", self.auth_file())
            .env(
                "BERTH_REGISTRIES_CONFIG",
                self.dir.path().join("registries.json"),
            )
            .env("DOCKER_CONFIG", self.dir.path().join("docker"));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd(args))
    }

    /// Runs berth, asserting success; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs berth, asserting exit 1 and a message containing `want` on stderr.
    fn fails(&self, args: &[&str], want: &str) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "berth {args:?}: want exit 1, stderr: {stderr}"
        );
        assert!(
            stderr.contains(want),
            "berth {args:?}: stderr {stderr:?} does not say {want:?}"
        );
        assert!(
            !stderr.contains("panicked"),
            "berth {args:?} panicked: {stderr}"
        );
        stderr
    }

    fn blob_dir(&self) -> PathBuf {
        self.root().join("images/blobs/sha256")
    }

    fn has_blob(&self, digest: &str) -> bool {
        self.blob_dir()
            .join(digest.trim_start_matches("sha256:"))
            .is_file()
    }

    /// The file names in the blob directory (no temporary files may stay behind).
    fn blob_files(&self) -> Vec<String> {
        std::fs::read_dir(self.blob_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `berth images -q`: the distinct image ids in the store (docker prints one per name).
    fn image_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .ok(&["images", "-q"])
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Asserts the store holds no image and no temporary blob.
    fn assert_nothing_stored(&self) {
        assert!(
            self.image_ids().is_empty(),
            "an image entered the store: {:?}",
            self.image_ids()
        );
        let tmp: Vec<String> = self
            .blob_files()
            .into_iter()
            .filter(|f| f.starts_with('.'))
            .collect();
        assert!(tmp.is_empty(), "temporary blobs left behind: {tmp:?}");
        // No layer unpacked (complete or half-made) from what failed.
        let layers: Vec<String> = std::fs::read_dir(self.root().join("layers"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".locks")
                    .collect()
            })
            .unwrap_or_default();
        assert!(layers.is_empty(), "layers left in the store: {layers:?}");
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The manifest of `image_ref` as the registry serves it, and its digest.
fn registry_manifest(image_ref: &str) -> (serde_json::Value, String) {
    let raw = skopeo_inspect(image_ref, true).expect("skopeo inspect --raw");
    let digest = format!("sha256:{}", sha256_hex(raw.as_bytes()));
    (serde_json::from_str(&raw).expect("manifest json"), digest)
}

fn oci_archive() -> String {
    format!("oci-archive:{}", busybox_oci_archive().display())
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or_default()
}

/// A registry holding busybox as an OCI image (`busybox:oci`, from the OCI archive) and
/// as docker schema 2 (`busybox:v2s2`, from the docker archive).
fn registry_with_busybox() -> Registry {
    let reg = Registry::start(RegistryAuth::None);
    skopeo_copy(
        &oci_archive(),
        &format!("{}/busybox:oci", reg.host()),
        "oci",
        &[],
    );
    skopeo_copy(
        &docker_archive("docker-archive.tar"),
        &format!("{}/busybox:v2s2", reg.host()),
        "v2s2",
        &[],
    );
    reg
}

#[test]
fn pull_stores_oci_and_docker_schema2_images_verified() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    for tag in ["oci", "v2s2"] {
        let berth = Berth::new();
        let name = format!("{}/busybox:{tag}", reg.host());
        let (manifest, digest) = registry_manifest(&name);
        let out = berth.ok(&["pull", &name]);
        assert_eq!(
            last_line(&out),
            format!("Digest: {digest}"),
            "pull output:\n{out}"
        );
        assert!(
            out.contains("Pull complete") || out.contains("Already exists"),
            "{out}"
        );
        assert!(berth.has_blob(&digest), "manifest blob {digest} not stored");
        for layer in manifest["layers"].as_array().expect("layers") {
            let d = layer["digest"].as_str().expect("layer digest");
            assert!(berth.has_blob(d), "layer {d} not stored");
        }
        // A second pull finds everything in place.
        let again = berth.ok(&["pull", &name]);
        assert!(again.contains("Image is up to date"), "{again}");
        assert_eq!(last_line(&again), format!("Digest: {digest}"));
    }
    let berth = Berth::new();
    for tag in ["oci", "v2s2"] {
        let name = format!("{}/busybox:{tag}", reg.host());
        berth.ok(&["pull", &name]);
        let ran = berth.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "echo",
            "pulled-and-ran",
        ]);
        assert_eq!(ran.trim(), "pulled-and-ran", "berth run {name}");
    }
    let images = berth.ok(&["images"]);
    assert!(
        images.contains(&format!("{}/busybox", reg.host())),
        "berth images:\n{images}"
    );
    // The OCI and the schema 2 manifests hold the same config: one image id.
    assert_eq!(berth.image_ids().len(), 1, "{images}");
    // -q prints the name pulled only (not another name of the same image).
    let quiet = berth.ok(&["pull", "-q", &format!("{}/busybox:v2s2", reg.host())]);
    assert_eq!(quiet, format!("{}/busybox:v2s2\n", reg.host()));
}

#[test]
fn pull_picks_the_platform_from_an_index() {
    if !require_root() {
        return;
    }
    // The registry takes an index only of manifests in the same repository.
    let reg = Registry::start(RegistryAuth::None);
    skopeo_copy(
        &oci_archive(),
        &format!("{}/multi:oci", reg.host()),
        "oci",
        &[],
    );
    skopeo_copy(
        &oci_archive(),
        &format!("{}/multi:v2s2", reg.host()),
        "v2s2",
        &[],
    );
    let (oci, oci_digest) = registry_manifest(&format!("{}/multi:oci", reg.host()));
    let (_, v2_digest) = registry_manifest(&format!("{}/multi:v2s2", reg.host()));
    let size = |d: &str| {
        skopeo_inspect(&format!("{}/multi@{d}", reg.host()), true)
            .expect("inspect")
            .len()
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": v2_digest, "size": size(&v2_digest),
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": oci_digest, "size": size(&oci_digest),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    });
    let body = serde_json::to_vec(&index).expect("index json");
    let status = http_put(
        reg.port,
        "/v2/multi/manifests/latest",
        "application/vnd.oci.image.index.v1+json",
        &body,
    );
    assert_eq!(status, 201, "pushing the index");
    let index_digest = format!("sha256:{}", sha256_hex(&body));
    assert!(oci["layers"].is_array());

    let berth = Berth::new();
    let name = format!("{}/multi:latest", reg.host());
    let out = berth.ok(&["pull", &name]);
    assert_eq!(last_line(&out), format!("Digest: {index_digest}"), "{out}");
    assert!(
        berth.has_blob(&oci_digest),
        "the host's (amd64) manifest was not taken"
    );
    assert!(!berth.has_blob(&v2_digest));

    let berth = Berth::new();
    berth.ok(&["pull", "--platform", "linux/arm64", &name]);
    assert!(
        berth.has_blob(&v2_digest),
        "the arm64 manifest was not taken"
    );
    assert!(!berth.has_blob(&oci_digest));

    let berth = Berth::new();
    berth.fails(
        &["pull", "--platform", "linux/s390x", &name],
        "no image for platform linux/s390x",
    );
    berth.fails(&["pull", "--platform", "linux", &name], "invalid platform");
    berth.assert_nothing_stored();
}

#[test]
fn login_checks_htpasswd_credentials_and_stores_them_0600() {
    if !require_root() {
        return;
    }
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "alice".into(),
        password: "s3cret".into(),
    });
    let berth = Berth::new();
    let host = reg.host();
    let err = berth.fails(
        &["login", "-u", "alice", "-p", "wrong", &host],
        "incorrect username or password",
    );
    assert!(err.contains(&host), "{err}");
    assert!(
        !berth.auth_file().exists(),
        "refused credentials were stored"
    );

    let out = berth.ok(&["login", "-u", "alice", "-p", "s3cret", &host]);
    assert!(out.contains("Login Succeeded"), "{out}");
    let mode = std::fs::metadata(berth.auth_file())
        .expect("auth file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "auth file mode");

    // Push with skopeo (its own credentials), pull with berth's stored ones.
    skopeo_copy(
        &oci_archive(),
        &format!("{host}/private:1"),
        "oci",
        &["--dest-creds", "alice:s3cret"],
    );
    let out = berth.ok(&["pull", &format!("{host}/private:1")]);
    assert!(last_line(&out).starts_with("Digest: sha256:"), "{out}");

    // Without credentials: refused, with a message that says so.
    let stranger = Berth::new();
    stranger.fails(&["pull", &format!("{host}/private:1")], "unauthorized");
    stranger.assert_nothing_stored();

    // docker's config.json is read when berth has nothing.
    let docker = stranger.dir.path().join("docker");
    std::fs::create_dir_all(&docker).expect("docker config dir");
    let auth = base64(b"alice:s3cret", false);
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("docker config");
    stranger.ok(&["pull", &format!("{host}/private:1")]);

    let out = berth.ok(&["logout", &host]);
    assert!(out.contains("Removing login credentials"), "{out}");
    let after = std::fs::read_to_string(berth.auth_file()).expect("auth file");
    assert!(!after.contains(&host), "credentials still stored: {after}");
}

#[test]
fn a_corrupted_blob_is_detected_and_nothing_enters_the_store() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let name = format!("{}/busybox:oci", reg.host());
    let (manifest, _) = registry_manifest(&name);
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest")
        .to_string();
    let path = reg.blob_path(&layer);
    let mut bytes = std::fs::read(&path).expect("registry blob");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).expect("corrupting the blob");

    let berth = Berth::new();
    let err = berth.fails(&["pull", &name], "does not match its digest");
    assert!(err.contains(&layer), "the message names the blob: {err}");
    assert!(
        !berth.has_blob(&layer),
        "the corrupt layer entered the store"
    );
    berth.assert_nothing_stored();
}

#[test]
fn a_connection_cut_mid_layer_is_resumed() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let (manifest, digest) = registry_manifest(&format!("{}/busybox:oci", reg.host()));
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_string();
    let size = manifest["layers"][0]["size"].as_u64().expect("size");
    assert!(
        size > 200_000,
        "the layer is too small to cut ({size} bytes)"
    );
    let proxy = CutProxy::start(reg.port, Some((layer.clone(), 100_000)));
    let berth = Berth::new();
    let out = berth.ok(&["pull", &format!("127.0.0.1:{}/busybox:oci", proxy.port)]);
    assert_eq!(
        proxy.cuts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the proxy never cut the layer"
    );
    assert_eq!(proxy.blob_gets(&layer), 2, "one cut download, one resumed");
    assert!(out.contains("Retrying"), "{out}");
    assert_eq!(last_line(&out), format!("Digest: {digest}"));
    assert!(berth.has_blob(&layer));
    // The resumed request asked for the rest only.
    let ranges = proxy.ranges();
    assert!(
        ranges.iter().any(|r| !r.ends_with("bytes=0-")),
        "no Range request past byte 0: {ranges:?}"
    );
}

#[test]
fn a_shared_base_layer_is_fetched_once() {
    if !require_root() {
        return;
    }
    // Both from docker archives (uncompressed layers), compressed alike by skopeo.
    let reg = registry_with_busybox();
    let two = docker_archive("two-layer-archive.tar");
    skopeo_copy(&two, &format!("{}/two:latest", reg.host()), "v2s2", &[]);
    let (base, _) = registry_manifest(&format!("{}/busybox:v2s2", reg.host()));
    let (top, _) = registry_manifest(&format!("{}/two:latest", reg.host()));
    let base_layer = base["layers"][0]["digest"]
        .as_str()
        .expect("base layer")
        .to_string();
    assert_eq!(
        top["layers"][0]["digest"].as_str(),
        Some(base_layer.as_str()),
        "two does not share busybox's layer"
    );
    assert_eq!(top["layers"].as_array().map(Vec::len), Some(2));

    let proxy = CutProxy::start(reg.port, None);
    let berth = Berth::new();
    berth.ok(&["pull", &format!("127.0.0.1:{}/busybox:v2s2", proxy.port)]);
    let out = berth.ok(&["pull", &format!("127.0.0.1:{}/two:latest", proxy.port)]);
    assert!(
        out.contains(&format!("{}: Already exists", &base_layer[7..19])),
        "{out}"
    );
    assert_eq!(
        proxy.blob_gets(&base_layer),
        1,
        "the shared layer was fetched again"
    );
    let top_layer = top["layers"][1]["digest"].as_str().expect("top layer");
    assert_eq!(proxy.blob_gets(top_layer), 1);
}

/// A docker-archive fixture (tests/fixtures.sh) in skopeo's transport syntax.
fn docker_archive(name: &str) -> String {
    let path = berth_tests::fixtures_dir().join("busybox").join(name);
    assert!(
        path.is_file(),
        "fixture {} missing: run tests/fixtures.sh",
        path.display()
    );
    format!("docker-archive:{}", path.display())
}

#[test]
fn push_sends_missing_blobs_and_skopeo_sees_the_image() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let other = Registry::start(RegistryAuth::None);
    let berth = Berth::new();
    let src = format!("{}/busybox:oci", reg.host());
    let (_, digest) = registry_manifest(&src);
    berth.ok(&["pull", &src]);

    // Same registry, another repository: the layer is mounted, not uploaded.
    let same = format!("{}/copy:pushed", reg.host());
    berth.ok(&["tag", &src, &same]);
    let out = berth.ok(&["push", &same]);
    assert!(out.contains("Mounted from busybox"), "{out}");
    assert!(
        last_line(&out).contains(&format!("digest: {digest}")),
        "{out}"
    );

    // Another registry: uploaded; a second push sends nothing again.
    let far = format!("{}/far:pushed", other.host());
    berth.ok(&["tag", &src, &far]);
    let out = berth.ok(&["push", &far]);
    assert!(out.contains("Pushed"), "{out}");
    let again = berth.ok(&["push", &far]);
    assert!(
        again.contains("Layer already exists") && !again.contains("Pushed"),
        "{again}"
    );

    for pushed in [&same, &far] {
        let (_, pushed_digest) = registry_manifest(pushed);
        assert_eq!(
            pushed_digest, digest,
            "{pushed}: the manifest changed on the way"
        );
        let inspect: serde_json::Value =
            serde_json::from_str(&skopeo_inspect(pushed, false).expect("skopeo inspect"))
                .expect("inspect json");
        assert_eq!(inspect["Digest"].as_str(), Some(digest.as_str()));
    }
    berth.fails(
        &["push", &format!("{}/nothing:here", other.host())],
        "no such image",
    );
}

#[test]
fn bad_input_fails_clearly_and_stores_nothing() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let berth = Berth::new();
    berth.fails(
        &["pull", &format!("{}/nosuch:latest", reg.host())],
        "not found",
    );
    berth.fails(
        &["pull", &format!("{}/busybox:nosuchtag", reg.host())],
        "not found",
    );
    berth.fails(&["pull", "UPPER/case"], "invalid reference format");
    berth.fails(&["pull", "busybox@sha256:123"], "invalid reference format");

    let schema1 = fake_registry(
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        br#"{"schemaVersion":1,"name":"x","tag":"latest","fsLayers":[],"history":[]}"#.to_vec(),
    );
    berth.fails(
        &["pull", &format!("127.0.0.1:{}/x:latest", schema1.port)],
        "unsupported manifest media type",
    );
    let artifact = fake_registry(
        "application/vnd.oci.image.manifest.v1+json",
        br#"{"schemaVersion":2,"mediaType":"application/vnd.cncf.helm.chart.v1+json","config":{},"layers":[]}"#.to_vec(),
    );
    berth.fails(
        &["pull", &format!("127.0.0.1:{}/x:latest", artifact.port)],
        "unsupported manifest media type",
    );
    let garbage = fake_registry(
        "application/vnd.oci.image.manifest.v1+json",
        b"<html>hello</html>".to_vec(),
    );
    berth.fails(
        &["pull", &format!("127.0.0.1:{}/x:latest", garbage.port)],
        "answered garbage",
    );
    // Nobody listening.
    let port = berth_tests::registry::free_port();
    berth.fails(
        &["pull", &format!("127.0.0.1:{port}/x:latest")],
        "Connection refused",
    );
    berth.assert_nothing_stored();
    assert!(
        berth.blob_files().is_empty(),
        "blobs stored: {:?}",
        berth.blob_files()
    );
}

#[test]
fn a_token_auth_registry_works_with_login() {
    if !require_root() {
        return;
    }
    let tokens = TokenServer::start("bob", "hunter2");
    let reg = Registry::start(tokens.registry_auth());
    let host = reg.host();
    skopeo_copy(
        &oci_archive(),
        &format!("{host}/secured:1"),
        "oci",
        &["--dest-creds", "bob:hunter2"],
    );
    let berth = Berth::new();
    // Anonymous: the token service refuses, and berth says unauthorized.
    berth.fails(&["pull", &format!("{host}/secured:1")], "unauthorized");
    berth.fails(
        &["login", "-u", "bob", "-p", "nope", &host],
        "incorrect username or password",
    );
    let mut login = berth
        .cmd(&["login", "-u", "bob", "--password-stdin", &host])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("berth login");
    {
        use std::io::Write;
        let mut stdin = login.stdin.take().expect("stdin");
        stdin.write_all(b"hunter2\n").expect("password to stdin");
    }
    let out = login.wait_with_output().expect("berth login output");
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    let out = berth.ok(&["pull", &format!("{host}/secured:1")]);
    assert!(last_line(&out).starts_with("Digest: sha256:"), "{out}");
    let granted = tokens
        .requests
        .lock()
        .map(|r| r.iter().filter(|(_, ok)| *ok).count())
        .unwrap_or(0);
    assert!(
        granted >= 2,
        "the pull did not go through the token service: {:?}",
        tokens.requests
    );
}

#[test]
fn mirrors_serve_pulls_and_a_dead_mirror_falls_back_to_the_registry() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let (_, digest) = registry_manifest(&format!("{}/busybox:oci", reg.host()));
    let closed = format!("127.0.0.1:{}", berth_tests::registry::free_port());
    let berth = Berth::new();
    // A registry nobody serves, mirrored by the live one: the pull goes to the mirror.
    std::fs::write(
        berth.dir.path().join("registries.json"),
        format!(
            r#"{{"registry-mirrors": {{"{closed}": ["{live}"], "{live}": ["{closed}"]}}, "max-concurrent-downloads": 1}}"#,
            live = reg.host()
        ),
    )
    .expect("registries.json");
    let out = berth.ok(&["pull", &format!("{closed}/busybox:oci")]);
    assert_eq!(last_line(&out), format!("Digest: {digest}"), "{out}");
    let images = berth.ok(&["images"]);
    assert!(
        images.contains(&format!("{closed}/busybox")),
        "recorded under its own name: {images}"
    );
    // The live registry's own mirror is dead: the registry itself serves.
    let out = berth.ok(&["pull", &format!("{}/busybox:v2s2", reg.host())]);
    assert!(last_line(&out).starts_with("Digest: sha256:"), "{out}");
    // A settings file that does not parse is an error that names it.
    std::fs::write(berth.dir.path().join("registries.json"), "{not json").expect("write");
    berth.fails(
        &["pull", &format!("{}/busybox:oci", reg.host())],
        "registries.json",
    );
}

#[test]
fn run_pulls_a_missing_image_as_its_pull_policy_says() {
    if !require_root() {
        return;
    }
    let reg = registry_with_busybox();
    let name = format!("{}/busybox:oci", reg.host());
    let berth = Berth::new();
    // --pull never: a missing image is berth's own failure (125), nothing pulled.
    let never = berth.run(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        &name,
        "true",
    ]);
    assert_eq!(never.status.code(), Some(125), "{never:?}");
    assert!(
        String::from_utf8_lossy(&never.stderr).contains(&name),
        "the error names the image: {never:?}"
    );
    assert!(berth.image_ids().is_empty(), "--pull never pulled");
    // The default (missing): docker's notice and the progress on stderr, the
    // container's output alone on stdout.
    let ran = berth.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "echo",
        "implicit",
    ]);
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "implicit\n");
    let err = String::from_utf8_lossy(&ran.stderr);
    assert!(
        err.contains(&format!("Unable to find image '{name}' locally")),
        "{err}"
    );
    assert_eq!(berth.image_ids().len(), 1);
    // Present now: no second pull, no notice.
    let again = berth.run(&["create", "--network", "none", &name, "true"]);
    assert!(again.status.success(), "{again:?}");
    assert!(!String::from_utf8_lossy(&again.stderr).contains("Unable to find"));
    // A bad policy is refused by the parser.
    let bad = berth.run(&["run", "--pull", "sometimes", &name, "true"]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sometimes"));
}
