//! deploy/ checked with the tools that consume it, offline: the Kubernetes manifests
//! against the Kubernetes OpenAPI schemas (`kubernetes-validate --strict`, whose package
//! ships the schemas: `kubectl --dry-run=client` needs a server for them), the scrape
//! job with promtool, the containerd snippet with containerd itself. Broken manifests in
//! deploy/testdata/invalid/ prove the schema check refuses a wrong field or type.
//! The CNI conflist is run for real in netplug/tests/deploy_conflist.rs, the podman
//! recipe in podman_runtime.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_tests::repo_root;

fn deploy() -> PathBuf {
    repo_root().join("deploy")
}

/// kubernetes-validate from scripts/install-deps.sh's venv (or `BERTH_KUBERNETES_VALIDATE`).
fn kubernetes_validate(file: &Path) -> Output {
    let tool = std::env::var_os("BERTH_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/berth-ci/venv/bin/kubernetes-validate"));
    assert!(
        tool.is_file(),
        "{} missing: scripts/install-deps.sh installs it",
        tool.display()
    );
    Command::new(&tool)
        .args(["--strict", "--no-warn"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no manifests in {}", dir.display());
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn kubernetes_manifests_match_the_openapi_schemas() {
    for file in yaml_files(&deploy().join("kubernetes")) {
        let out = kubernetes_validate(&file);
        assert!(
            out.status.success(),
            "{}: {}{}",
            file.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

#[test]
fn schema_check_refuses_misspelled_fields_wrong_types_and_missing_required() {
    let expected = [
        (
            "daemonset-missing-containers.yaml",
            "'containers' is a required property",
        ),
        ("daemonset-wrong-type.yaml", "is not of type 'integer'"),
        (
            "runtimeclass-misspelled-field.yaml",
            "'handler' is a required property",
        ),
        ("volume-mount-misspelled.yaml", "'readonly' was unexpected"),
    ];
    let files = yaml_files(&deploy().join("testdata/invalid"));
    assert_eq!(files.len(), expected.len(), "a case per broken manifest");
    for (name, why) in expected {
        let file = deploy().join("testdata/invalid").join(name);
        let out = kubernetes_validate(&file);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!out.status.success(), "{name} passed: {said}");
        assert!(said.contains(why), "{name}: expected {why:?} in {said}");
    }
}

#[test]
fn exporter_daemonset_mounts_host_paths_read_only_and_uses_real_flags() {
    let text = std::fs::read_to_string(deploy().join("kubernetes/exporter.yaml"))
        .expect("reading exporter.yaml");
    let help = Command::new(berth_tests::bin("berth-exporter"))
        .arg("--help")
        .output()
        .expect("berth-exporter --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in text.lines().filter_map(|l| l.trim().strip_prefix("- --")) {
        let name = flag.split('=').next().unwrap_or(flag);
        assert!(
            help.contains(&format!("--{name} ")),
            "berth-exporter has no --{name}"
        );
    }
    let mounts = text.matches("mountPath:").count();
    let read_only = text.matches("readOnly: true").count();
    assert_eq!(
        mounts, read_only,
        "every host path of the exporter is read-only"
    );
    assert!(text.contains("hostPID: true"));
}

#[test]
fn prometheus_scrape_job_passes_promtool() {
    let file = deploy().join("prometheus/berth-exporter-scrape.yml");
    let out = Command::new("promtool")
        .args(["check", "config"])
        .arg(&file)
        .output()
        .expect("promtool (Debian's prometheus package; scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// containerd loads the snippet (imported, as deploy/README.md says) and its merged
/// config has the `berth` handler on the runc shim with berth-runtime as the binary.
#[test]
fn containerd_loads_the_berth_runtime_snippet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snippet = deploy().join("containerd/berth-runtime.toml");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "version = 2\nimports = [{:?}]\n",
            snippet.display().to_string()
        ),
    )
    .expect("writing config.toml");
    let out = Command::new("containerd")
        .arg("--config")
        .arg(&config)
        .args(["config", "dump"])
        .output()
        .expect("containerd (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "containerd config dump: {}",
        text(&out.stderr)
    );
    let dump = text(&out.stdout);
    let table = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.berth]";
    let at = dump
        .find(table)
        .unwrap_or_else(|| panic!("no {table} in {dump}"));
    let berth = &dump[at..];
    assert!(
        berth.contains("runtime_type = \"io.containerd.runc.v2\""),
        "{berth}"
    );
    assert!(
        berth.contains("BinaryName = \"/usr/local/bin/berth-runtime\""),
        "{berth}"
    );
}

/// berth-exporter runs with no capability beyond those the DaemonSet adds: one
/// exposition with those as the bounding set loads every BPF program and meets no
/// error; with none, loading fails (so the check can fail).
#[test]
fn exporter_runs_with_exactly_the_daemonsets_capabilities() {
    if !berth_tests::require_root() {
        return;
    }
    let yaml = std::fs::read_to_string(deploy().join("kubernetes/exporter.yaml"))
        .expect("reading exporter.yaml");
    let add = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("add: "))
        .expect("the exporter adds capabilities");
    let caps: Vec<String> = add
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_lowercase())
        .collect();
    let once = |bounding: &str| {
        Command::new("setpriv")
            .arg(format!("--bounding-set=-all{bounding}"))
            .arg(berth_tests::bin("berth-exporter"))
            .arg("--once")
            .output()
            .expect("setpriv (util-linux)")
    };
    let granted: String = caps.iter().map(|c| format!(",+{c}")).collect();
    let out = once(&granted);
    assert!(out.status.success(), "with {caps:?}: {}", text(&out.stderr));
    let exposition = text(&out.stdout);
    for line in exposition
        .lines()
        .filter(|l| l.starts_with("berth_exporter_errors_total"))
    {
        assert!(line.ends_with(" 0.0") || line.ends_with(" 0"), "{line}");
    }
    assert!(
        exposition.contains("berth_exporter_bpf_map_entries{map=\"syscall_slots\"}"),
        "BPF maps loaded: {exposition}"
    );
    let out = once("");
    assert!(
        !out.status.success(),
        "the exporter loaded BPF with no capability"
    );
}
