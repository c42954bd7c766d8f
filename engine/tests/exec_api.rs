//! The exec and resize library functions as `berth serve` drives them (no CLI between):
//! create, inspect before and after, start with stdin fed and output in docker's framing,
//! the exit code recorded, an exec started twice, unknown ids. As root: the container is
//! made with the `berth` binary on the workspace's berth-runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_engine::EngineError;
use berth_engine::StorePaths;
use berth_engine::exec::{self, ExecConfig, StartOptions};
use berth_engine::monitor::attach::{self, Resize};
use berth_engine::ops;

/// A temp store with the busybox fixture loaded, and a running `sleep` container.
struct Store {
    _dirs: Vec<tempfile::TempDir>,
    paths: StorePaths,
}

impl Store {
    fn new() -> Self {
        let temp = |prefix: &str, dir: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in(dir)
                .expect("temp dir")
        };
        let dirs = vec![
            temp("berth-root-", "/var/tmp"),
            temp("berth-run-", "/run"),
            temp("berth-rtroot-", "/run"),
        ];
        let runtime = Path::new(env!("CARGO_BIN_EXE_berth")).with_file_name("berth-runtime");
        assert!(
            runtime.exists(),
            "{} missing: cargo build --workspace --bins first",
            runtime.display()
        );
        let paths = StorePaths::new(
            Some(dirs[0].path().to_path_buf()),
            Some(dirs[1].path().to_path_buf()),
            Some(dirs[2].path().to_path_buf()),
            Some(runtime),
        );
        let s = Self { _dirs: dirs, paths };
        let archive =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.fixtures/busybox/oci-image.tar");
        s.berth(&["load", "-i", &archive.display().to_string()]);
        s.berth(&["tag", "berth-busybox:test", "busybox"]);
        s
    }

    fn berth(&self, args: &[&str]) -> String {
        let p = &self.paths;
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--root")
            .arg(&p.root)
            .arg("--runroot")
            .arg(&p.runroot)
            .arg("--runtime-root")
            .arg(&p.runtime_root)
            .arg("--runtime")
            .arg(&p.runtime)
            .args(args)
            .output()
            .expect("berth");
        assert!(out.status.success(), "berth {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for id in self.berth(&["ps", "-aq"]).lines() {
            self.berth(&["rm", "-f", id]);
        }
    }
}

#[test]
fn an_exec_is_created_started_framed_and_inspected() {
    if !berth_testkit::root::require_root() {
        return;
    }
    let s = Store::new();
    s.berth(&[
        "run",
        "-d",
        "--name",
        "api",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    let config = ExecConfig {
        cmd: vec!["sh".into(), "-c".into(), "cat; echo err >&2; exit 4".into()],
        attach_stdin: true,
        attach_stdout: true,
        attach_stderr: true,
        ..Default::default()
    };
    let id = exec::create(&s.paths, "api", &config).expect("create");
    let before = exec::inspect(&s.paths, &id[..12]).expect("inspect by prefix");
    assert!(!before.running);
    assert_eq!(before.exit_code, None);
    let process = exec::start(&s.paths, &id, StartOptions::default()).expect("start");
    assert!(!process.tty);
    let mut framed = Vec::new();
    let input: &'static [u8] = b"fed through stdin\n";
    let code = process.run_framed(Some(input), &mut framed).expect("run");
    assert_eq!(code, 4);
    let mut frames = Vec::new();
    let mut r = &framed[..];
    while let Some(f) = attach::read_frame(&mut r).expect("frame") {
        frames.push(f);
    }
    let stdout: Vec<u8> = frames
        .iter()
        .filter(|(s, _)| *s == attach::STDOUT)
        .flat_map(|(_, d)| d.clone())
        .collect();
    let stderr: Vec<u8> = frames
        .iter()
        .filter(|(s, _)| *s == attach::STDERR)
        .flat_map(|(_, d)| d.clone())
        .collect();
    assert_eq!(stdout, b"fed through stdin\n");
    assert_eq!(stderr, b"err\n");
    let after = exec::inspect(&s.paths, &id).expect("inspect");
    assert!(!after.running);
    assert_eq!(after.exit_code, Some(4));
    assert_eq!(after.pid, 0);
    assert!(matches!(
        exec::start(&s.paths, &id, StartOptions::default()),
        Err(EngineError::Conflict(_))
    ));
    assert!(matches!(
        exec::inspect(&s.paths, "0123456789ab"),
        Err(EngineError::NoSuchExec(_))
    ));
    assert!(matches!(
        exec::create(&s.paths, "no-such", &config),
        Err(EngineError::NoSuchContainer(_))
    ));
    // A detached exec runs on; inspect sees it running with its pid.
    let sleeper = ExecConfig {
        cmd: vec!["sleep".into(), "30".into()],
        ..Default::default()
    };
    let id = exec::create(&s.paths, "api", &sleeper).expect("create");
    let p = exec::start(&s.paths, &id, StartOptions { detach: true }).expect("start -d");
    assert_eq!(
        p.run_plain(None::<&[u8]>, &mut Vec::new(), &mut Vec::new())
            .expect("run"),
        0
    );
    let state = exec::inspect(&s.paths, &id).expect("inspect");
    assert!(state.running, "{state:?}");
    assert!(state.pid > 0);
    // Without a tty there is nothing to resize.
    let size = Resize {
        height: 10,
        width: 20,
    };
    assert!(matches!(
        ops::resize::resize(&s.paths, "api", size),
        Err(EngineError::Conflict(_))
    ));
    assert!(exec::resize(&id, size).is_err());
}

#[test]
fn a_tty_containers_pty_is_resized_through_the_monitor() {
    if !berth_testkit::root::require_root() {
        return;
    }
    let s = Store::new();
    s.berth(&[
        "run",
        "-dit",
        "--name",
        "tty",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    ops::resize::resize(
        &s.paths,
        "tty",
        Resize {
            height: 37,
            width: 111,
        },
    )
    .expect("resize");
    // An exec on the container sees its console's size through /dev/console.
    let config = ExecConfig {
        cmd: vec!["sh".into(), "-c".into(), "stty size < /dev/console".into()],
        attach_stdout: true,
        ..Default::default()
    };
    let id = exec::create(&s.paths, "tty", &config).expect("create");
    let p = exec::start(&s.paths, &id, StartOptions::default()).expect("start");
    let mut out = Vec::new();
    let code = p
        .run_plain(None::<&[u8]>, &mut out, &mut std::io::sink())
        .expect("run");
    assert_eq!(
        (code, String::from_utf8_lossy(&out).as_ref()),
        (0, "37 111\n")
    );
}
