//! Untrusted text in the exposition (issue 9, item 2.8): container ids, names, images,
//! annotations and cgroup paths holding any bytes are escaped, so Prometheus's own
//! parsers read every scrape in both formats and find exactly the series the exporter
//! made, carrying the values the containers gave (invalid UTF-8 read as U+FFFD).
//!
//! The text format goes through `promtool check metrics`; OpenMetrics goes through
//! Prometheus's OpenMetrics parser (`promtool tsdb create-blocks-from openmetrics`),
//! whose stored series are read back with `promtool tsdb dump`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use berth_metrics::discovery::{StateDir, StateFormat};
use berth_metrics::exporter::SyscallMode;
use berth_metrics::{Exporter, ExporterOptions, Format};
use berth_testkit::cgroup::{TestCgroup, cgroup2_root};
use berth_testkit::ids::unique_name;
use berth_testkit::rng::Rng;
use berth_testkit::root::require_root;
use berth_testkit::tools::require_tool;
use common::exporter_binary;
use common::promtool::{Series, check_metrics, openmetrics_series, parse_dump_line};

/// Annotations exported as labels here; the second shows that any key becomes a valid
/// label name.
const POD_KEY: &str = "io.kubernetes.pod.name";
const ODD_KEY: &str = "odd key\"\\\n.é";

/// The injection of the issue: a name that closes its label set, ends the sample and
/// writes a series of its own.
const INJECTION: &str = "x\"} 0\nforged_series{id=\"x\"} 1\n";

const CREATED: &str = "2026-01-02T03:04:05Z";

/// `bytes` as a JSON string, byte for byte: quote, backslash and control bytes escaped
/// as JSON requires, every other byte (invalid UTF-8 too) as it is, the way a runtime
/// copies a name it was given into its state file.
fn json_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

/// A JSON object of already-encoded values.
fn json_object(fields: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(json_bytes(key));
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    out
}

fn json_array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![b'['];
    out.extend(items.join(&b','));
    out.push(b']');
    out
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An annotation key as the exporter names its label: `container_label_` and the key
/// with every character outside `[a-zA-Z0-9]` as `_`.
fn label_name(key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("container_label_{key}")
}

/// What one container's values are made of.
struct Values {
    id: Vec<u8>,
    name: Vec<u8>,
    image: Vec<u8>,
    pod: Vec<u8>,
    odd: Vec<u8>,
    /// berth: the `id` label (the cgroup path recorded in the state).
    path: Vec<u8>,
}

/// One container the test wrote, and the labels Prometheus must read for it (empty
/// values left out: Prometheus treats an empty label as absent).
struct Expected {
    runtime: &'static str,
    labels: BTreeMap<String, String>,
}

fn expected(runtime: &'static str, id: String, name: String, v: &Values) -> Expected {
    let labels = [
        ("id".to_string(), id),
        ("name".to_string(), name),
        ("image".to_string(), lossy(&v.image)),
        (label_name(POD_KEY), lossy(&v.pod)),
        (label_name(ODD_KEY), lossy(&v.odd)),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect();
    Expected { runtime, labels }
}

/// The name label: the `berth.name` annotation, else the container id.
fn name_or_id(name: &[u8], id: &[u8]) -> String {
    let name = lossy(name);
    if name.is_empty() { lossy(id) } else { name }
}

fn v1_dirs_json(cg: &TestCgroup) -> Vec<(&[u8], Vec<u8>)> {
    cg.v1_dirs
        .iter()
        .map(|(c, d)| (c.as_bytes(), json_bytes(d.as_os_str().as_bytes())))
        .collect()
}

/// berth-runtime's `<root>/<dir>/state.json`, every string from `v`.
fn write_berth(root: &Path, dir: &str, cg: &TestCgroup, v: &Values) -> Expected {
    let annotations = json_object(&[
        (b"berth.name", json_bytes(&v.name)),
        (b"berth.image", json_bytes(&v.image)),
        (POD_KEY.as_bytes(), json_bytes(&v.pod)),
        (ODD_KEY.as_bytes(), json_bytes(&v.odd)),
    ]);
    let cgroup = json_object(&[
        (b"relativePath", json_bytes(&v.path)),
        (b"v2Dir", json_bytes(cg.v2_dir.as_os_str().as_bytes())),
        (b"v2Id", cg.id().to_string().into_bytes()),
        (b"v1Dirs", json_object(&v1_dirs_json(cg))),
    ]);
    let state = json_object(&[
        (b"ociVersion", json_bytes(b"1.2.0")),
        (b"id", json_bytes(&v.id)),
        (b"status", json_bytes(b"running")),
        (b"pid", b"0".to_vec()),
        (b"bundle", json_bytes(b"/nonexistent")),
        (b"annotations", annotations),
        (b"created", json_bytes(CREATED.as_bytes())),
        (b"cgroup", cgroup),
    ]);
    let dir = root.join(dir);
    fs::create_dir_all(&dir).expect("mkdir berth state dir");
    fs::write(dir.join("state.json"), state).expect("writing state.json");
    // Without a recorded path, the id label is the v2 directory's.
    let id = match lossy(&v.path) {
        path if path.is_empty() => format!("/berth/{}", cg.name),
        path => path,
    };
    expected("berth", id, name_or_id(&v.name, &v.id), v)
}

/// runc's `<root>/<dir>/state.json`: annotations as `config.labels` (`key=value`).
fn write_runc(root: &Path, dir: &str, cg: &TestCgroup, v: &Values) -> Expected {
    let label = |key: &str, value: &[u8]| json_bytes(&[key.as_bytes(), b"=", value].concat());
    let config = json_object(&[(
        b"labels",
        json_array(&[
            label("bundle", b"/nonexistent"),
            label("berth.name", &v.name),
            label("berth.image", &v.image),
            label(POD_KEY, &v.pod),
            label(ODD_KEY, &v.odd),
        ]),
    )]);
    let mut paths = v1_dirs_json(cg);
    paths.push((b"", json_bytes(cg.v2_dir.as_os_str().as_bytes())));
    let state = json_object(&[
        (b"id", json_bytes(&v.id)),
        (b"init_process_pid", b"0".to_vec()),
        (b"created", json_bytes(CREATED.as_bytes())),
        (b"config", config),
        (b"cgroup_paths", json_object(&paths)),
    ]);
    let dir = root.join(dir);
    fs::create_dir_all(&dir).expect("mkdir runc state dir");
    fs::write(dir.join("state.json"), state).expect("writing state.json");
    // runc records cgroup directories only: the id label is the v2 one's path.
    let relative = format!("/berth/{}", cg.name);
    expected("runc", relative, name_or_id(&v.name, &v.id), v)
}

/// crun's `<root>/<id>/status`: the id is the directory's name (any bytes but `/` and
/// NUL), annotations come from the bundle's `config.json`.
fn write_crun(root: &Path, bundles: &Path, n: usize, cg: &TestCgroup, v: &Values) -> Expected {
    let mut id: Vec<u8> =
        v.id.iter()
            .copied()
            .filter(|b| *b != b'/' && *b != 0)
            .collect();
    id.truncate(200);
    if id.is_empty() || id == b"." || id == b".." {
        id.insert(0, b'c');
    }
    let bundle = bundles.join(n.to_string());
    fs::create_dir_all(&bundle).expect("mkdir bundle");
    let config = json_object(&[(
        b"annotations",
        json_object(&[
            (b"berth.image", json_bytes(&v.image)),
            (POD_KEY.as_bytes(), json_bytes(&v.pod)),
            (ODD_KEY.as_bytes(), json_bytes(&v.odd)),
        ]),
    )]);
    fs::write(bundle.join("config.json"), config).expect("writing config.json");
    let relative = format!("/berth/{}", cg.name);
    let status = json_object(&[
        (b"pid", b"0".to_vec()),
        (b"cgroup-path", json_bytes(relative.as_bytes())),
        (b"rootfs", json_bytes(b"rootfs")),
        (b"bundle", json_bytes(bundle.as_os_str().as_bytes())),
        (b"created", json_bytes(CREATED.as_bytes())),
    ]);
    let dir = root.join(std::ffi::OsStr::from_bytes(&id));
    fs::create_dir_all(&dir).expect("mkdir crun state dir");
    fs::write(dir.join("status"), status).expect("writing status");
    expected("crun", relative, lossy(&id), v)
}

/// Real cgroups the containers of one round live in, one per container.
struct Pool {
    berth: Vec<TestCgroup>,
    runc: Vec<TestCgroup>,
    crun: Vec<TestCgroup>,
}

impl Pool {
    fn new(per_runtime: usize) -> Self {
        let make = |tag| {
            (0..per_runtime)
                .map(|_| TestCgroup::new(tag, &["memory", "pids"]))
                .collect()
        };
        Self {
            berth: make("esc-berth"),
            runc: make("esc-runc"),
            crun: make("esc-crun"),
        }
    }
}

/// Writes one round of containers under `state` (values from `next`, drawn again
/// while a container's labels equal another's) and returns what Prometheus must read.
fn write_round(state: &Path, pool: &Pool, mut next: impl FnMut() -> Values) -> Vec<Expected> {
    let roots = ["berth", "runc", "crun", "bundles"].map(|d| state.join(d));
    for root in &roots {
        fs::create_dir_all(root).expect("mkdir state root");
    }
    let mut all: Vec<Expected> = Vec::new();
    let mut unique = |write: &mut dyn FnMut(&Values) -> Expected| loop {
        let candidate = write(&next());
        if all.iter().all(|e| e.labels != candidate.labels) {
            all.push(candidate);
            return;
        }
    };
    for (n, cg) in pool.berth.iter().enumerate() {
        unique(&mut |v| write_berth(&roots[0], &format!("b{n}"), cg, v));
    }
    for (n, cg) in pool.runc.iter().enumerate() {
        unique(&mut |v| write_runc(&roots[1], &format!("r{n}"), cg, v));
    }
    let mut bundle = 0;
    for cg in &pool.crun {
        unique(&mut |v| {
            bundle += 1;
            write_crun(&roots[2], &roots[3], bundle, cg, v)
        });
    }
    all
}

fn exporter(state: &Path) -> Exporter {
    let dir = |name: &str, format| StateDir {
        path: state.join(name),
        format,
    };
    Exporter::new(
        ExporterOptions {
            state_dirs: vec![
                dir("berth", StateFormat::Berth),
                dir("runc", StateFormat::Runc),
                dir("crun", StateFormat::Crun),
            ],
            per_syscall_labels: true,
            label_allowlist: vec![POD_KEY.to_string(), ODD_KEY.to_string()],
            cgroup2_root: cgroup2_root(),
            watch_subtrees: Vec::new(),
            syscalls: SyscallMode::default(),
        },
        None,
    )
}

/// Sample names the exposition declares: `# TYPE` names, with `_total` for counters
/// and `_info` for infos.
fn declared_sample_names(openmetrics: &str) -> BTreeSet<String> {
    openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| match kind {
            "counter" => format!("{name}_total"),
            "info" => format!("{name}_info"),
            _ => name.to_string(),
        })
        .collect()
}

/// Sample lines without their values (what identifies a series in the text).
fn sample_keys(exposition: &str) -> BTreeSet<&str> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').map_or(l, |(key, _)| key))
        .collect()
}

/// What Prometheus read from one scrape of a round.
struct Read {
    /// Series names of each expected container, in the order written.
    per_container: Vec<BTreeSet<String>>,
    /// The exporter's own series (`berth_exporter_*`).
    own: BTreeSet<Series>,
}

/// Scrapes both formats, has Prometheus's parsers read them, and checks that every
/// series is declared and belongs to exactly one written container.
fn scrape_and_read(state: &Path, containers: &[Expected], work: &Path) -> Read {
    let mut exporter = exporter(state);
    let openmetrics = exporter.scrape(Format::OpenMetrics);
    let text = exporter.scrape(Format::Prometheus);
    if let Err(report) = check_metrics(&text) {
        panic!(
            "promtool check metrics refused the text format:\n{report}\n--- exposition ---\n{text}"
        );
    }
    assert_eq!(
        sample_keys(&text),
        sample_keys(&openmetrics),
        "both formats hold the same series"
    );
    let series = openmetrics_series(&openmetrics, work);
    let samples = openmetrics.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(
        series.len(),
        samples,
        "one series per sample line\n{openmetrics}"
    );
    let declared = declared_sample_names(&openmetrics);
    let mut read = Read {
        per_container: vec![BTreeSet::new(); containers.len()],
        own: BTreeSet::new(),
    };
    for s in series {
        let name = s["__name__"].clone();
        assert!(
            declared.contains(&name),
            "series {s:?} is not one the exporter declares\n--- exposition ---\n{openmetrics}"
        );
        if name.starts_with("berth_exporter_") {
            read.own.insert(s);
            continue;
        }
        let mut labels = s.clone();
        labels.remove("__name__");
        labels.retain(|_, v| !v.is_empty());
        let Some(owner) = containers.iter().position(|c| c.labels == labels) else {
            panic!(
                "series {s:?} belongs to no container written\n--- exposition ---\n{openmetrics}"
            );
        };
        read.per_container[owner].insert(name);
    }
    read
}

/// What hostile values are made of: the three characters the formats escape, the
/// syntax of label sets, sample lines and comments, characters no format escapes, and
/// byte sequences that are not UTF-8.
const PIECES: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\n",
    b"\r",
    b"\t",
    b"\0",
    b"\x01",
    b"\x7f",
    b"{",
    b"}",
    b",",
    b"=",
    b" ",
    b"#",
    b"# EOF",
    b"# TYPE x counter",
    b"\\n",
    b"\\\"",
    b"\"} 1\n",
    INJECTION.as_bytes(),
    "é".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{fffd}".as_bytes(),
    "🦀".as_bytes(),
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"web",
    b"nr_1",
];

/// Up to eight pieces or raw bytes.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    let mut value = Vec::new();
    for _ in 0..rng.below(9) {
        if rng.below(4) == 0 {
            value.push(rng.next_u64() as u8);
        } else {
            let piece = rng.pick(PIECES);
            value.extend_from_slice(piece);
        }
    }
    value
}

fn hostile_values(rng: &mut Rng) -> Values {
    Values {
        id: hostile(rng),
        name: hostile(rng),
        image: hostile(rng),
        pod: hostile(rng),
        odd: hostile(rng),
        path: hostile(rng),
    }
}

fn benign_values(n: &mut u32) -> Values {
    *n += 1;
    let text = |what: &str| format!("{what}-{n}").into_bytes();
    Values {
        id: text("id"),
        name: text("name"),
        image: text("image"),
        pod: text("pod"),
        odd: text("odd"),
        path: text("/berth/path"),
    }
}

/// Series names each runtime's containers get, from a round of plain names.
fn reference(
    pool: &Pool,
    work: &Path,
) -> (BTreeMap<&'static str, BTreeSet<String>>, BTreeSet<Series>) {
    let state = tempfile::tempdir().expect("state dir");
    let mut n = 0;
    let containers = write_round(state.path(), pool, || benign_values(&mut n));
    let read = scrape_and_read(state.path(), &containers, work);
    let mut by_runtime = BTreeMap::new();
    for (c, names) in containers.iter().zip(&read.per_container) {
        assert!(
            names.contains("container_last_seen"),
            "{}: {names:?}",
            c.runtime
        );
        let first = by_runtime.entry(c.runtime).or_insert_with(|| names.clone());
        assert_eq!(first, names, "containers of {} differ", c.runtime);
    }
    (by_runtime, read.own)
}

#[test]
fn arbitrary_bytes_in_ids_names_images_and_annotations_never_break_or_forge_a_scrape() {
    if !require_root() {
        return;
    }
    require_tool("promtool", "prometheus");
    const ROUNDS: u64 = 24;
    let pool = Pool::new(3);
    let work = tempfile::tempdir().expect("work dir");
    let (reference, own) = reference(&pool, work.path());
    for round in 0..ROUNDS {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ (round + 1);
        let mut rng = Rng(seed);
        let state = tempfile::tempdir().expect("state dir");
        let containers = write_round(state.path(), &pool, || hostile_values(&mut rng));
        let read = scrape_and_read(state.path(), &containers, work.path());
        for (c, names) in containers.iter().zip(&read.per_container) {
            assert_eq!(
                names, &reference[c.runtime],
                "round {round} (seed {seed:#x}): series of the {} container {:?}",
                c.runtime, c.labels
            );
        }
        assert_eq!(
            read.own, own,
            "round {round} (seed {seed:#x}): the exporter's own series"
        );
    }
}

#[test]
fn the_injection_from_the_issue_stays_inside_its_label_values() {
    if !require_root() {
        return;
    }
    require_tool("promtool", "prometheus");
    let cg = TestCgroup::new("injection", &["memory", "pids"]);
    let state = tempfile::tempdir().expect("state dir");
    let empty = tempfile::tempdir().expect("empty dir");
    let payload = INJECTION.as_bytes().to_vec();
    let values = Values {
        id: payload.clone(),
        name: payload.clone(),
        image: payload.clone(),
        pod: payload.clone(),
        odd: payload.clone(),
        path: payload,
    };
    let written = write_berth(state.path(), "c1", &cg, &values);
    let args: [&OsStr; 11] = [
        "--berth-root".as_ref(),
        state.path().as_os_str(),
        "--runc-root".as_ref(),
        empty.path().as_os_str(),
        "--crun-root".as_ref(),
        empty.path().as_os_str(),
        "--label".as_ref(),
        POD_KEY.as_ref(),
        "--label".as_ref(),
        ODD_KEY.as_ref(),
        "--once".as_ref(),
    ];
    let (text, last_seen) = scrape_binary_once(&args);
    let escaped = r#"name="x\"} 0\nforged_series{id=\"x\"} 1\n""#;
    assert!(text.contains(escaped), "{text}");
    let mut labels = last_seen;
    labels.remove("__name__");
    assert_eq!(labels, written.labels);
    assert_eq!(labels["name"], INJECTION);
}

/// Runs `berth-exporter` with `args` (which hold `--once`) in both formats: the text
/// must pass `promtool check metrics` and every series Prometheus's OpenMetrics parser
/// reads must be one the exposition declares. Returns the text and the labels of its
/// one `container_last_seen` series.
fn scrape_binary_once(args: &[&OsStr]) -> (String, Series) {
    let once = |openmetrics: bool| {
        let mut command = Command::new(exporter_binary());
        command.args(args);
        if openmetrics {
            command.arg("--openmetrics");
        }
        let output = command.output().expect("running berth-exporter --once");
        assert!(
            output.status.success(),
            "berth-exporter --once: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 exposition")
    };
    let text = once(false);
    if let Err(report) = check_metrics(&text) {
        panic!("promtool check metrics refused the scrape:\n{report}\n--- exposition ---\n{text}");
    }
    let openmetrics = once(true);
    let work = tempfile::tempdir().expect("work dir");
    let series = openmetrics_series(&openmetrics, work.path());
    let declared = declared_sample_names(&openmetrics);
    assert!(
        series.iter().all(|s| declared.contains(&s["__name__"])),
        "{series:?}"
    );
    // Both formats write the same sample lines; none may start a series of its own.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or(line);
        assert!(declared.contains(name), "undeclared sample line {line:?}");
    }
    let mut last_seen: Vec<Series> = series
        .into_iter()
        .filter(|s| s["__name__"] == "container_last_seen")
        .collect();
    assert_eq!(last_seen.len(), 1, "{last_seen:?}\n{openmetrics}");
    (text, last_seen.remove(0))
}

/// A detached runc container, force-deleted on drop.
struct RuncContainer {
    root: tempfile::TempDir,
    id: String,
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .arg("--root")
            .arg(self.root.path())
            .args(["delete", "-f", &self.id])
            .status();
    }
}

#[test]
fn a_real_runc_container_with_the_injection_in_annotations_and_cgroup_path_is_escaped() {
    if !require_root() {
        return;
    }
    require_tool("promtool", "prometheus");
    require_tool("runc", "runc");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.fixtures/busybox");
    let config = fs::read_to_string(fixture.join("config.json"))
        .expect("the busybox fixture (bash tests/fixtures.sh builds it)");
    let mut config: serde_json::Value = serde_json::from_str(&config).expect("fixture config");
    // runc creates the cgroup: a name with a quote and a backslash (the kernel refuses
    // line feeds in cgroup names), the annotations carry the whole injection.
    let cgroup = format!("/berth/{}\"}} 0\\", unique_name("esc-runc"));
    config["process"]["args"] = serde_json::json!(["sleep", "60"]);
    config["root"] = serde_json::json!({
        "path": fixture.join("rootfs").canonicalize().expect("fixture rootfs"),
        "readonly": true,
    });
    config["annotations"] = serde_json::json!({
        "berth.name": INJECTION,
        "berth.image": INJECTION,
        POD_KEY: INJECTION,
    });
    config["linux"]["cgroupsPath"] = serde_json::json!(cgroup);
    let bundle = tempfile::tempdir().expect("bundle dir");
    fs::write(bundle.path().join("config.json"), config.to_string()).expect("writing config.json");
    let container = RuncContainer {
        root: tempfile::tempdir().expect("runc root"),
        id: unique_name("esc"),
    };
    let started = Command::new("runc")
        .arg("--root")
        .arg(container.root.path())
        .args(["run", "-d", "-b"])
        .arg(bundle.path())
        .arg(&container.id)
        // The container inherits runc's stdio: pipes would stay open while it runs.
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("running runc");
    assert!(started.success(), "runc run -d failed: {started}");
    let empty = tempfile::tempdir().expect("empty dir");
    let args: [&OsStr; 10] = [
        "--once".as_ref(),
        "--no-bpf".as_ref(),
        "--label".as_ref(),
        POD_KEY.as_ref(),
        "--runc-root".as_ref(),
        container.root.path().as_os_str(),
        "--berth-root".as_ref(),
        empty.path().as_os_str(),
        "--crun-root".as_ref(),
        empty.path().as_os_str(),
    ];
    let (_, last_seen) = scrape_binary_once(&args);
    assert_eq!(last_seen["id"], cgroup);
    assert_eq!(last_seen["name"], INJECTION);
    assert_eq!(last_seen["image"], INJECTION);
    assert_eq!(last_seen[&label_name(POD_KEY)], INJECTION);
}

#[test]
fn go_quoted_dump_lines_decode() {
    let series = parse_dump_line(
        r#"{__name__="a_x", id="q\"z\\", n="a\nb\x00\u2028\U0001f980é"} 1 1700000000000"#,
    )
    .expect("parses");
    assert_eq!(series["__name__"], "a_x");
    assert_eq!(series["id"], "q\"z\\");
    assert_eq!(series["n"], "a\nb\0\u{2028}🦀é");
}
