//! `berth completion bash|zsh|fish` and `berth __man DIR`: the scripts and pages are made
//! from the same clap model as the parser, so every verb is in them; bash checks the
//! script's syntax and man(1) renders each page without a warning.

use std::process::{Command, Stdio};

fn berth() -> Command {
    Command::new(env!("CARGO_BIN_EXE_berth"))
}

/// The verbs `berth --help` lists.
fn verbs() -> Vec<String> {
    let out = berth().arg("--help").output().expect("berth --help");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_is_valid_and_knows_every_verb() {
    let out = berth().args(["completion", "bash"]).output().expect("run");
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8_lossy(&out.stdout).into_owned();
    let verbs = verbs();
    assert!(verbs.len() > 20, "{verbs:?}");
    for v in [
        "exec",
        "attach",
        "top",
        "stats",
        "port",
        "rename",
        "restart",
        "container",
    ] {
        assert!(verbs.iter().any(|x| x == v), "{v} not in --help: {verbs:?}");
    }
    for v in &verbs {
        assert!(script.contains(&format!("berth__subcmd__{v}")), "{v}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("berth.bash");
    std::fs::write(&file, &script).expect("write");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash -n");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish"] {
        let out = berth().args(["completion", shell]).output().expect("run");
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let bad = berth().args(["completion", "tcsh"]).output().expect("run");
    // A flag value clap refuses is docker's 125 (cli/exit.rs).
    assert_eq!(bad.status.code(), Some(125), "a usage error");
}

#[test]
fn a_man_page_per_verb_renders_without_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = berth().arg("__man").arg(dir.path()).output().expect("run");
    assert!(out.status.success(), "{out:?}");
    let mut pages = vec!["berth".to_string()];
    pages.extend(verbs().iter().map(|v| format!("berth-{v}")));
    pages.push("berth-container-prune".into());
    pages.push("berth-network-create".into());
    for p in &pages {
        let file = dir.path().join(format!("{p}.1"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{p}.1: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{p}");
        let rendered = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&file)
            .env("MANWIDTH", "80")
            .output()
            .expect("man");
        assert!(rendered.status.success(), "{p}");
        assert!(
            rendered.stderr.is_empty(),
            "{p}: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        // man justifies lines: compare with single spaces.
        let shown = String::from_utf8_lossy(&rendered.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(shown.contains(&format!("NAME {p} - ")), "{p}: {shown}");
    }
    assert!(!dir.path().join("berth-help.1").exists());
    assert!(!dir.path().join("berth-__monitor.1").exists());
}

#[test]
fn a_reader_that_goes_away_ends_berth_quietly() {
    // `berth completion bash | head -1`: SIGPIPE ends the writer, no panic message.
    let mut child = berth()
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}
