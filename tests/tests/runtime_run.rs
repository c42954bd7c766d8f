//! `berth-runtime run`: real containers from the busybox bundle, checked from outside.

use std::fs;
use std::os::unix::fs::MetadataExt;

use berth_tests::{Runtime, TestBundle, cgroup_dirs_named, require_root, unique_id};
use serde_json::json;

fn run_output(rt: &Runtime, b: &TestBundle, id: &str) -> (i32, String, String) {
    let out = rt.run(&["run", "--bundle", b.path_str(), id]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_prints_the_containers_output() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["echo", "hello world"]);
    let (code, out, err) = run_output(&rt, &b, &unique_id("echo"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "hello world\n");
}

#[test]
fn run_returns_the_containers_exit_code() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["sh", "-c", "exit 7"]);
    let (code, _, err) = run_output(&rt, &b, &unique_id("exit"));
    assert_eq!(code, 7, "stderr: {err}");
    // Without a pid namespace the shell is not a namespace init, so SIGKILL to itself works.
    let mut b = TestBundle::busybox(&["sh", "-c", "kill -KILL $$"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .retain(|n| n["type"] != "pid")
    });
    let (code, _, _) = run_output(&rt, &b, &unique_id("signaled"));
    assert_eq!(code, 128 + 9);
}

#[test]
fn run_removes_state_and_cgroups_after_exit() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let id = unique_id("cleanup");
    let b = TestBundle::busybox(&["true"]);
    let (code, _, err) = run_output(&rt, &b, &id);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert_eq!(cgroup_dirs_named(&id), Vec::<std::path::PathBuf>::new());
}

fn ns_inode(path: &str) -> String {
    fs::read_link(path)
        .expect("readlink ns")
        .display()
        .to_string()
}

#[test]
fn every_namespace_is_new() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let kinds = ["pid", "mnt", "uts", "ipc", "net", "cgroup"];
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join(";");
    let b = TestBundle::busybox(&["sh", "-c", &script]);
    let (code, out, err) = run_output(&rt, &b, &unique_id("ns"));
    assert_eq!(code, 0, "stderr: {err}");
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), kinds.len(), "output: {out}");
    for (k, got) in kinds.iter().zip(inside) {
        let host = ns_inode(&format!("/proc/self/ns/{k}"));
        assert!(got.starts_with(&format!("{k}:[")), "{k}: {got}");
        assert_ne!(got, host, "{k} namespace is the host's");
    }
}

#[test]
fn user_and_time_namespaces_with_mappings() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/time",
    ]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.push(json!({"type": "user"}));
        ns.push(json!({"type": "time"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("userns"));
    assert_eq!(code, 0, "stderr: {err}");
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        &words[..6],
        ["0", "200000", "65536", "0", "200000", "65536"],
        "output: {out}"
    );
    assert_eq!(words[6], "0", "uid inside");
    assert_ne!(words[7], ns_inode("/proc/self/ns/user"));
    assert_ne!(words[8], ns_inode("/proc/self/ns/time"));
}

/// A network namespace made with `ip netns add`, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> Self {
        let name = unique_id("berth-test-ns");
        let st = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip");
        assert!(st.success(), "ip netns add {name}");
        NetNs(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn joins_a_network_namespace_by_path() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new();
    let want_ino = fs::metadata(ns.path()).expect("netns file").ino();
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["readlink", "/proc/self/ns/net"]);
    let path = ns.path();
    b.edit(|c| {
        for n in c["linux"]["namespaces"].as_array_mut().expect("namespaces") {
            if n["type"] == "network" {
                n["path"] = json!(path);
            }
        }
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("joinnet"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out.trim(), format!("net:[{want_ino}]"));
}

#[test]
fn hostname_and_domainname() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"]);
    b.edit(|c| {
        c["hostname"] = json!("box-one");
        c["domainname"] = json!("example.test");
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("uts"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "box-one\nexample.test\n");
}

#[test]
fn env_cwd_user_groups_and_umask() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "echo $GREETING; pwd; id -u; id -g; id -G; umask",
    ]);
    b.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "GREETING=hi there"]);
        c["process"]["cwd"] = json!("/home/user");
        c["process"]["user"] =
            json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 23});
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("user"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out,
        "hi there\n/home/user\n1000\n1000\n1000 5 65534\n0027\n"
    );
}

#[test]
fn rlimits_are_applied() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["sh", "-c", "ulimit -n; ulimit -Hn"]);
    b.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}])
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("rlimit"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "321\n654\n");
}

#[test]
fn rlimit_above_the_hosts_hard_limit_is_a_clear_error() {
    if !require_root() {
        return;
    }
    let (_, host_hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    let rt = Runtime::new();
    let id = unique_id("rlimit-high");
    let mut b = TestBundle::busybox(&["true"]);
    b.edit(|c| {
        c["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": host_hard + 1}])
    });
    let (code, _, err) = run_output(&rt, &b, &id);
    assert_ne!(code, 0);
    assert!(
        err.contains("RLIMIT_NOFILE") && err.contains("hard limit"),
        "stderr: {err}"
    );
    assert!(!rt.root.path().join(&id).exists());
}

#[test]
fn read_only_root_refuses_writes() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["sh", "-c", "touch /should-not-exist 2>&1; echo rc=$?"]);
    b.edit(|c| c["root"]["readonly"] = json!(true));
    let (code, out, err) = run_output(&rt, &b, &unique_id("ro"));
    assert_eq!(code, 0, "stderr: {err}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "output: {out}"
    );
    let rootfs = b.config["root"]["path"]
        .as_str()
        .expect("root path")
        .to_string();
    assert!(
        !std::path::Path::new(&rootfs)
            .join("should-not-exist")
            .exists()
    );
}

#[test]
fn bind_mount_appears_read_only() {
    if !require_root() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    fs::write(data.path().join("file.txt"), "from the host\n").expect("write");
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&[
        "sh",
        "-c",
        "cat /mnt/data/file.txt; touch /mnt/data/x 2>/dev/null || echo read-only",
    ]);
    let src = data.path().display().to_string();
    b.edit(|c| {
        c["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": "/mnt/data", "type": "bind", "source": src, "options": ["rbind", "ro"]
        }));
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("bind"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "from the host\nread-only\n");
}

#[test]
fn pivot_root_hides_the_host() {
    if !require_root() {
        return;
    }
    // A directory that exists on the host and never in the busybox image.
    let marker = tempfile::tempdir_in("/").expect("host marker dir");
    let name = marker.path().display().to_string();
    let rt = Runtime::new();
    let script = format!(
        "for p in {name} /proc/1/root{name} /proc/self/root{name} /proc/1/cwd{name}; do test -e $p && echo visible:$p; done; \
         ls /proc/1/root/ | tr '\\n' ' '; echo"
    );
    let b = TestBundle::busybox(&["sh", "-c", &script]);
    let (code, out, err) = run_output(&rt, &b, &unique_id("pivot"));
    assert_eq!(code, 0, "stderr: {err}");
    assert!(!out.contains("visible:"), "host path visible: {out}");
    assert!(
        out.contains("bin") && !out.contains("work"),
        "root listing: {out}"
    );
}

#[test]
fn no_pivot_also_runs_the_container() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["sh", "-c", "echo ok; cat /etc/hostname"]);
    let out = rt.run(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.path_str(),
        &unique_id("nopivot"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\nberth-fixture\n");
}

#[test]
fn default_devices_and_dev_symlinks_exist() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let b = TestBundle::busybox(&[
        "sh",
        "-c",
        "for d in null zero full random urandom tty; do test -c /dev/$d || echo missing:$d; done; \
         for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; head -c 3 /dev/zero | wc -c; echo x > /dev/null && echo null-ok",
    ]);
    let (code, out, err) = run_output(&rt, &b, &unique_id("dev"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out,
        "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n3\nnull-ok\n"
    );
}

#[test]
fn sysctl_is_set_inside_the_container_only() {
    if !require_root() {
        return;
    }
    let host = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("host sysctl");
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["cat", "/proc/sys/net/ipv4/ip_forward"]);
    let want = if host.trim() == "1" { "0" } else { "1" };
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want});
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("sysctl"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out.trim(), want);
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("host sysctl"),
        host
    );
}

#[test]
fn the_container_starts_with_no_blocked_signals() {
    if !require_root() {
        return;
    }
    // `run` blocks the signals it forwards; none of that may reach the container.
    let rt = Runtime::new();
    let b = TestBundle::busybox(&["grep", "SigBlk", "/proc/self/status"]);
    let (code, out, err) = run_output(&rt, &b, &unique_id("sigmask"));
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out.split_whitespace().nth(1),
        Some("0000000000000000"),
        "{out}"
    );
}

#[test]
fn a_process_without_capabilities_gets_none() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status"]);
    b.edit(|c| {
        c["process"]
            .as_object_mut()
            .expect("process")
            .remove("capabilities");
    });
    let (code, out, err) = run_output(&rt, &b, &unique_id("nocaps"));
    assert_eq!(code, 0, "stderr: {err}");
    for line in out.lines() {
        assert!(line.ends_with("0000000000000000"), "not empty: {line}");
    }
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn relative_bind_sources_are_relative_to_the_bundle() {
    if !require_root() {
        return;
    }
    let rt = Runtime::new();
    let mut b = TestBundle::busybox(&["cat", "/mnt/data/file.txt"]);
    fs::create_dir(b.path().join("data")).expect("mkdir");
    fs::write(b.path().join("data/file.txt"), "next to config.json\n").expect("write");
    b.edit(|c| {
        c["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": "/mnt/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]
        }));
    });
    // Started from / so a cwd-relative lookup would find the host's /data, not the bundle's.
    let out = rt
        .cmd()
        .current_dir("/")
        .args(["run", "--bundle", b.path_str(), &unique_id("relbind")])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "next to config.json\n"
    );
}
