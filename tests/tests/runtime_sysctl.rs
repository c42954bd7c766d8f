//! `linux.sysctl`: a setting is accepted only when a namespace of the container's own
//! isolates it (runc's rules), so no config can change the host's kernel settings. Each
//! refusal is checked to leave the host's value as it was.

use std::fs;
use std::path::{Path, PathBuf};

use berth_tests::{Runtime, TestBundle, require_root, unique_id};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use serde_json::json;

/// The bundle's namespaces without the ones named.
fn without_namespaces(b: &mut TestBundle, drop: &[&str]) {
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .retain(|n| !drop.iter().any(|d| n["type"] == *d))
    });
}

fn set_sysctl(b: &mut TestBundle, key: &str, value: &str) {
    b.edit(|c| c["linux"]["sysctl"] = json!({ key: value }));
}

fn host_value(key: &str) -> String {
    let path = Path::new("/proc/sys").join(key.replace('.', "/"));
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// A value different from the host's current one, so a leak would show.
fn other_value(key: &str) -> String {
    let now: i64 = host_value(key).parse().expect("numeric sysctl");
    (now + 7).to_string()
}

/// `create` must fail with `needle`, leave no container, and leave the host's `key` as it was.
fn assert_refused(b: &TestBundle, key: &str, needle: &str) {
    let rt = Runtime::new();
    let before = host_value(key);
    let id = unique_id("sysctl");
    let out = rt.run(&["create", "--bundle", b.path_str(), &id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create succeeded; stderr: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!rt.root.path().join(&id).exists(), "state dir left behind");
    assert_eq!(host_value(key), before, "host's {key} changed");
}

/// Runs the container printing `key` from inside; returns what it printed.
fn value_inside(b: &mut TestBundle, key: &str) -> String {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    b.edit(|c| c["process"]["args"] = json!(["cat", path]));
    let rt = Runtime::new();
    let out = rt.run(&["run", "--bundle", b.path_str(), &unique_id("sysctl")]);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A file bind-mounted onto this process's namespace of `kind`: the host's namespace under
/// another path, as a config could name it. Unmounted on drop.
struct HostNamespaceFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl HostNamespaceFile {
    fn new(kind: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(kind);
        fs::write(&path, "").expect("creating mount point");
        mount(
            Some(Path::new(&format!("/proc/self/ns/{kind}"))),
            &path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .expect("binding the host namespace");
        Self { _dir: dir, path }
    }
}

impl Drop for HostNamespaceFile {
    fn drop(&mut self) {
        let _ = umount2(&self.path, MntFlags::MNT_DETACH);
    }
}

fn join_namespace(b: &mut TestBundle, kind: &str, path: &Path) {
    without_namespaces(b, &[kind]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(json!({ "type": kind, "path": path }))
    });
}

const NET_KEY: &str = "net.ipv4.tcp_fin_timeout";
const IPC_KEY: &str = "kernel.shmmni";

#[test]
fn net_sysctl_without_a_network_namespace_is_refused() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&["true"]);
    without_namespaces(&mut b, &["network"]);
    set_sysctl(&mut b, NET_KEY, &other_value(NET_KEY));
    assert_refused(&b, NET_KEY, "not allowed in host network namespace");
}

#[test]
fn net_sysctl_in_the_hosts_network_namespace_joined_by_path_is_refused() {
    if !require_root() {
        return;
    }
    let host_net = HostNamespaceFile::new("net");
    let mut b = TestBundle::busybox(&["true"]);
    join_namespace(&mut b, "network", &host_net.path);
    set_sysctl(&mut b, NET_KEY, &other_value(NET_KEY));
    assert_refused(&b, NET_KEY, "not allowed in host network namespace");
    // The same sysctl in the slash-separated spelling sysctl(8) accepts.
    set_sysctl(&mut b, "net/ipv4/tcp_fin_timeout", &other_value(NET_KEY));
    assert_refused(&b, NET_KEY, "not allowed in host network namespace");
}

#[test]
fn net_sysctl_is_set_in_the_containers_own_network_namespace() {
    if !require_root() {
        return;
    }
    let before = host_value(NET_KEY);
    let want = other_value(NET_KEY);
    let mut b = TestBundle::busybox(&["true"]);
    set_sysctl(&mut b, "net/ipv4/tcp_fin_timeout", &want);
    assert_eq!(value_inside(&mut b, NET_KEY), want);
    assert_eq!(host_value(NET_KEY), before, "host's {NET_KEY} changed");
}

#[test]
fn ipc_sysctl_without_an_ipc_namespace_is_refused() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&["true"]);
    without_namespaces(&mut b, &["ipc"]);
    set_sysctl(&mut b, IPC_KEY, &other_value(IPC_KEY));
    assert_refused(&b, IPC_KEY, "not allowed in the host's ipc namespace");
    let mut b = TestBundle::busybox(&["true"]);
    without_namespaces(&mut b, &["ipc"]);
    set_sysctl(
        &mut b,
        "fs.mqueue.msg_max",
        &other_value("fs.mqueue.msg_max"),
    );
    assert_refused(
        &b,
        "fs.mqueue.msg_max",
        "not allowed in the host's ipc namespace",
    );
}

#[test]
fn ipc_sysctl_in_the_hosts_ipc_namespace_joined_by_path_is_refused() {
    if !require_root() {
        return;
    }
    let host_ipc = HostNamespaceFile::new("ipc");
    let mut b = TestBundle::busybox(&["true"]);
    join_namespace(&mut b, "ipc", &host_ipc.path);
    set_sysctl(&mut b, IPC_KEY, &other_value(IPC_KEY));
    assert_refused(&b, IPC_KEY, "not allowed in the host's ipc namespace");
}

#[test]
fn ipc_sysctl_is_set_in_the_containers_own_ipc_namespace() {
    if !require_root() {
        return;
    }
    let before = host_value(IPC_KEY);
    let want = other_value(IPC_KEY);
    let mut b = TestBundle::busybox(&["true"]);
    set_sysctl(&mut b, IPC_KEY, &want);
    assert_eq!(value_inside(&mut b, IPC_KEY), want);
    assert_eq!(host_value(IPC_KEY), before, "host's {IPC_KEY} changed");
}

#[test]
fn uts_sysctls_follow_the_uts_namespace_and_hostname_field() {
    if !require_root() {
        return;
    }
    let host_domain = host_value("kernel.domainname");
    let mut b = TestBundle::busybox(&["true"]);
    set_sysctl(&mut b, "kernel.domainname", "sysctl.example");
    assert_eq!(value_inside(&mut b, "kernel.domainname"), "sysctl.example");
    assert_eq!(host_value("kernel.domainname"), host_domain);

    let mut b = TestBundle::busybox(&["true"]);
    without_namespaces(&mut b, &["uts"]);
    b.edit(|c| {
        c.as_object_mut().expect("config").remove("hostname");
    });
    set_sysctl(&mut b, "kernel.domainname", "sysctl.example");
    assert_refused(
        &b,
        "kernel.domainname",
        "\"kernel.domainname\" is not in a separate kernel namespace",
    );

    let mut b = TestBundle::busybox(&["true"]);
    set_sysctl(&mut b, "kernel.hostname", "other");
    assert_refused(
        &b,
        "kernel.hostname",
        "conflicts with the OCI \"hostname\" field",
    );
}

#[test]
fn sysctls_no_namespace_isolates_are_refused() {
    if !require_root() {
        return;
    }
    for key in ["vm.swappiness", "kernel.pid_max", "fs.file-max"] {
        let mut b = TestBundle::busybox(&["true"]);
        set_sysctl(&mut b, key, &other_value(key));
        assert_refused(&b, key, "is not in a separate kernel namespace");
    }
}

#[test]
fn sysctl_names_that_leave_proc_sys_are_refused() {
    if !require_root() {
        return;
    }
    let mut b = TestBundle::busybox(&["true"]);
    for key in ["net.ipv4..x", "net/../../../etc/hostname"] {
        set_sysctl(&mut b, key, "1");
        let rt = Runtime::new();
        let out = rt.run(&["create", "--bundle", b.path_str(), &unique_id("sysctl")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key:?} accepted");
        assert!(err.contains("invalid sysctl name"), "{key:?}: {err}");
    }
}

#[test]
fn hostname_and_domainname_need_a_uts_namespace_of_the_containers_own() {
    if !require_root() {
        return;
    }
    let host_name = host_value("kernel.hostname");
    let host_domain = host_value("kernel.domainname");
    // No UTS namespace: the domainname would be the host's (hostname was always checked).
    let mut b = TestBundle::busybox(&["true"]);
    without_namespaces(&mut b, &["uts"]);
    b.edit(|c| {
        c.as_object_mut().expect("config").remove("hostname");
        c["domainname"] = json!("renamed.example");
    });
    assert_refused(
        &b,
        "kernel.domainname",
        "unable to set domainname without a private UTS namespace",
    );
    // The host's UTS namespace joined by path: both would rename the host.
    let host_uts = HostNamespaceFile::new("uts");
    let mut b = TestBundle::busybox(&["true"]);
    join_namespace(&mut b, "uts", &host_uts.path);
    b.edit(|c| c["hostname"] = json!("renamed"));
    assert_refused(
        &b,
        "kernel.hostname",
        "unable to set hostname without a private UTS namespace",
    );
    b.edit(|c| {
        c.as_object_mut().expect("config").remove("hostname");
        c["domainname"] = json!("renamed.example");
    });
    assert_refused(
        &b,
        "kernel.domainname",
        "unable to set domainname without a private UTS namespace",
    );
    assert_eq!(host_value("kernel.hostname"), host_name);
    assert_eq!(host_value("kernel.domainname"), host_domain);
}
