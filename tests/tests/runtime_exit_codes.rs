//! The runtime's own failures and the process's exit status are told apart as runc 1.1
//! tells them: `exec` exits 255 when it could not run the process, every other verb 1
//! (`run` too), a bad flag 1, an unknown command 3; a process that ran gives its own status,
//! or 128+N when signal N killed it. The table is what runc 1.1.5 does on this machine;
//! each row runs with berth and, where runc is installed, with runc too.

use std::time::{Duration, Instant};

use berth_tests::{Runtime, TestBundle, require_root, unique_id, wait_for_status};
use serde_json::json;

/// One row: what is set up, the command, the status runc gives.
struct Case {
    what: &'static str,
    setup: Setup,
    /// Arguments after `--root`; `{id}` is the container, `{bundle}` its bundle.
    args: &'static [&'static str],
    want: i32,
}

/// The container a case needs before its command runs.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    None,
    Created,
    Running,
    Paused,
    Stopped,
}

const CASES: &[Case] = &[
    // exec: 255 for every failure of the runtime, the process's status otherwise.
    Case {
        what: "exec into an unknown container",
        setup: Setup::None,
        args: &["exec", "{id}", "true"],
        want: 255,
    },
    Case {
        what: "exec of a missing binary",
        setup: Setup::Running,
        args: &["exec", "{id}", "/no/such/binary"],
        want: 255,
    },
    Case {
        what: "exec --detach of a missing binary",
        setup: Setup::Running,
        args: &["exec", "--detach", "{id}", "/no/such/binary"],
        want: 255,
    },
    Case {
        what: "exec of a file that is not executable",
        setup: Setup::Running,
        args: &["exec", "{id}", "/etc/passwd"],
        want: 255,
    },
    Case {
        what: "exec with a cwd that does not exist",
        setup: Setup::Running,
        args: &["exec", "--cwd", "/no/such/dir", "{id}", "true"],
        want: 255,
    },
    Case {
        what: "exec into a paused container",
        setup: Setup::Paused,
        args: &["exec", "{id}", "true"],
        want: 255,
    },
    Case {
        what: "exec into a stopped container",
        setup: Setup::Stopped,
        args: &["exec", "{id}", "true"],
        want: 255,
    },
    Case {
        what: "exec --pid-file in a missing directory",
        setup: Setup::Running,
        args: &["exec", "--pid-file", "/no/such/dir/pid", "{id}", "true"],
        want: 255,
    },
    Case {
        what: "exec with an unknown flag",
        setup: Setup::Running,
        args: &["exec", "--no-such-flag", "{id}", "true"],
        want: 1,
    },
    Case {
        what: "exec of a process that exits 1",
        setup: Setup::Running,
        args: &["exec", "{id}", "false"],
        want: 1,
    },
    Case {
        what: "exec of a process that exits 3",
        setup: Setup::Running,
        args: &["exec", "{id}", "sh", "-c", "exit 3"],
        want: 3,
    },
    Case {
        what: "exec of a process killed by SIGTERM",
        setup: Setup::Running,
        args: &["exec", "{id}", "sh", "-c", "kill -TERM $$"],
        want: 128 + 15,
    },
    Case {
        what: "exec of a process killed by SIGKILL",
        setup: Setup::Running,
        args: &["exec", "{id}", "sh", "-c", "kill -KILL $$"],
        want: 128 + 9,
    },
    // create, start, run: 1 for every failure of the runtime.
    Case {
        what: "create from a missing bundle",
        setup: Setup::None,
        args: &["create", "--bundle", "/no/such/bundle", "{id}"],
        want: 1,
    },
    Case {
        what: "create with a taken id",
        setup: Setup::Created,
        args: &["create", "--bundle", "{bundle}", "{id}"],
        want: 1,
    },
    Case {
        what: "create --pid-file in a missing directory",
        setup: Setup::None,
        args: &[
            "create",
            "--pid-file",
            "/no/such/dir/pid",
            "--bundle",
            "{bundle}",
            "{id}",
        ],
        want: 1,
    },
    Case {
        what: "create with an unknown flag",
        setup: Setup::None,
        args: &["create", "--no-such-flag", "--bundle", "{bundle}", "{id}"],
        want: 1,
    },
    Case {
        what: "start of an unknown container",
        setup: Setup::None,
        args: &["start", "{id}"],
        want: 1,
    },
    Case {
        what: "start of a running container",
        setup: Setup::Running,
        args: &["start", "{id}"],
        want: 1,
    },
    Case {
        what: "start of a stopped container",
        setup: Setup::Stopped,
        args: &["start", "{id}"],
        want: 1,
    },
    Case {
        what: "start with an unknown flag",
        setup: Setup::Created,
        args: &["start", "--no-such-flag", "{id}"],
        want: 1,
    },
    Case {
        what: "run from a missing bundle",
        setup: Setup::None,
        args: &["run", "--bundle", "/no/such/bundle", "{id}"],
        want: 1,
    },
    Case {
        what: "run with an unknown flag",
        setup: Setup::None,
        args: &["run", "--no-such-flag", "--bundle", "{bundle}", "{id}"],
        want: 1,
    },
    // The other verbs.
    Case {
        what: "delete of an unknown container",
        setup: Setup::None,
        args: &["delete", "{id}"],
        want: 1,
    },
    Case {
        what: "delete --force of an unknown container",
        setup: Setup::None,
        args: &["delete", "--force", "{id}"],
        want: 0,
    },
    Case {
        what: "delete of a running container",
        setup: Setup::Running,
        args: &["delete", "{id}"],
        want: 1,
    },
    Case {
        what: "kill of an unknown container",
        setup: Setup::None,
        args: &["kill", "{id}", "KILL"],
        want: 1,
    },
    Case {
        what: "state of an unknown container",
        setup: Setup::None,
        args: &["state", "{id}"],
        want: 1,
    },
    Case {
        what: "an unknown command",
        setup: Setup::None,
        args: &["no-such-command"],
        want: 3,
    },
];

/// A busybox bundle running `args`, with an absolute cgroupsPath (runc places a relative
/// one below its own cgroup).
fn bundle(id: &str, args: &[&str]) -> TestBundle {
    let mut b = TestBundle::busybox(args);
    let cgroup = format!("/berth-exit-{id}");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(cgroup));
    b
}

fn code(rt: &Runtime, args: &[String]) -> i32 {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = rt.run(&args);
    out.status
        .code()
        .unwrap_or_else(|| panic!("{args:?} was killed: {}", out.status))
}

/// Put a container with `id` into the state the case needs.
fn set_up(rt: &Runtime, setup: Setup, id: &str, b: &TestBundle) {
    if setup == Setup::None {
        return;
    }
    rt.ok(&["create", "--bundle", b.path_str(), id]);
    match setup {
        Setup::None | Setup::Created => {}
        Setup::Running => {
            rt.ok(&["start", id]);
        }
        Setup::Paused => {
            rt.ok(&["start", id]);
            rt.ok(&["pause", id]);
        }
        Setup::Stopped => {
            rt.ok(&["start", id]);
            rt.ok(&["kill", id, "KILL"]);
            assert_eq!(wait_for_status(rt, id, "stopped")["status"], "stopped");
        }
    }
}

/// Every row of the table with one runtime; the rows whose status differs.
fn mismatches(rt: &Runtime, name: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in CASES {
        let id = unique_id("exit");
        let b = bundle(&id, &["sleep", "100"]);
        set_up(rt, case.setup, &id, &b);
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| a.replace("{id}", &id).replace("{bundle}", b.path_str()))
            .collect();
        let got = code(rt, &args);
        if got != case.want {
            wrong.push(format!(
                "{name}: {}: exit {got}, runc's is {}",
                case.what, case.want
            ));
        }
        if case.setup == Setup::Paused {
            rt.ok(&["resume", &id]);
        }
        rt.ok(&["delete", "--force", &id]);
    }
    wrong
}

#[test]
fn failures_of_the_runtime_exit_as_runcs_do() {
    if !require_root() {
        return;
    }
    let mut wrong = mismatches(&Runtime::new(), "berth");
    if let Some(runc) = Runtime::runc_if_installed() {
        wrong.extend(mismatches(&runc, "runc"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `run` returns the container's status, 128+N when signal N killed it.
#[test]
fn run_returns_the_status_of_the_container_or_128_plus_the_signal() {
    if !require_root() {
        return;
    }
    let mut runtimes = vec![("berth", Runtime::new())];
    if let Some(runc) = Runtime::runc_if_installed() {
        runtimes.push(("runc", runc));
    }
    for (name, rt) in &runtimes {
        let id = unique_id("exit-run");
        let b = bundle(&id, &["sh", "-c", "exit 7"]);
        assert_eq!(code(rt, &run_args(&b, &id)), 7, "{name}: run of exit 7");

        // The init of a pid namespace ignores signals it has no handler for, even its own
        // SIGTERM: only SIGKILL from outside kills it.
        let id = unique_id("exit-run");
        let b = bundle(&id, &["sleep", "100"]);
        let mut run = rt
            .cmd()
            .args(run_args(&b, &id))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("spawn run");
        let deadline = Instant::now() + Duration::from_secs(10);
        while serde_json::from_slice::<serde_json::Value>(&rt.run(&["state", &id]).stdout)
            .map_or(true, |st| st["status"] != "running")
        {
            assert!(Instant::now() < deadline, "{name}: {id} never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        rt.ok(&["kill", &id, "KILL"]);
        let status = run.wait().expect("run exit");
        assert_eq!(
            status.code(),
            Some(128 + 9),
            "{name}: run of a killed container"
        );
    }
}

fn run_args(b: &TestBundle, id: &str) -> Vec<String> {
    vec![
        "run".into(),
        "--bundle".into(),
        b.path_str().into(),
        id.into(),
    ]
}
