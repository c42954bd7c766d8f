//! Shared helpers for the integration tests: root and tools check, guards that clean up
//! every kernel object a test makes, and a runner for the built plugin.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use berth_testkit::root::require_root;
use berth_testkit::tools::require_tool;
use serde_json::{Value, json};

pub const PLUGIN: &str = env!("CARGO_BIN_EXE_berth-cni");

/// True when the test may run: root (berth-testkit's check, which says how to skip) and
/// the tools these tests drive installed (a clear failure naming the package if not).
#[track_caller]
pub fn require_root_and_tools() -> bool {
    if !require_root() {
        return false;
    }
    require_tool("busybox", "busybox-static");
    require_tool("nft", "nftables");
    require_tool("ip", "iproute2");
    true
}

fn sh(args: &[&str]) -> Output {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(o) => o,
        Err(e) => panic!("running {args:?}: {e}"),
    }
}

/// A name unique to this test process and tag, short enough for an ifname.
pub fn unique(prefix: &str, tag: &str) -> String {
    format!("{prefix}{tag}{}", std::process::id() % 100_000)
}

/// A network namespace made with `ip netns add`, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        let name = unique("bnt-", tag);
        let out = sh(&["ip", "netns", "add", &name]);
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { name }
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        sh(&all)
    }

    pub fn delete(&self) {
        let _ = sh(&["ip", "netns", "del", &self.name]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Refcounted across the tests of one binary: the first test to need
/// forwarding records the original IPv4 and IPv6 switches, the last one
/// restores them (the plugin turns them on for isGateway networks).
static FORWARD: Mutex<(usize, Vec<(&'static str, String)>)> = Mutex::new((0, Vec::new()));
const FORWARD_SWITCHES: [&str; 2] = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
];

pub struct ForwardGuard;

impl ForwardGuard {
    pub fn new() -> Self {
        let mut g = FORWARD.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 == 0 {
            g.1 = FORWARD_SWITCHES
                .iter()
                .filter_map(|p| Some((*p, std::fs::read_to_string(p).ok()?)))
                .collect();
        }
        g.0 += 1;
        Self
    }
}

impl Drop for ForwardGuard {
    fn drop(&mut self) {
        let mut g = FORWARD.lock().unwrap_or_else(|p| p.into_inner());
        g.0 -= 1;
        if g.0 == 0 {
            for (path, orig) in std::mem::take(&mut g.1) {
                let now = std::fs::read_to_string(path).unwrap_or_default();
                // Writing all/forwarding resets every interface: only when changed.
                if now.trim() != orig.trim() {
                    let _ = std::fs::write(path, orig.trim());
                }
            }
        }
    }
}

/// One test network: unique name, bridge and subnet, leases in a tempdir.
/// Drop removes the bridge and the nftables table.
pub struct Net {
    pub name: String,
    pub bridge: String,
    /// e.g. "10.123.7" for 10.123.7.0/24
    pub prefix: String,
    pub data: tempfile::TempDir,
    pub conf: Value,
    _forward: ForwardGuard,
}

impl Net {
    /// `octet` must be unique among all tests (it picks the /24).
    pub fn new(tag: &str, octet: u8) -> Self {
        let name = unique("bnt-", tag);
        let bridge = unique("bbr", tag);
        let prefix = format!("10.123.{octet}");
        let data = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let conf = json!({
            "cniVersion": "1.1.0",
            "name": name,
            "type": "berth-cni",
            "bridge": bridge,
            "isGateway": true,
            "ipam": {
                "type": "berth-ipam",
                "ranges": [[{"subnet": format!("{prefix}.0/24")}]],
                "dataDir": data.path().to_string_lossy(),
            }
        });
        Self {
            name,
            bridge,
            prefix,
            data,
            conf,
            _forward: ForwardGuard::new(),
        }
    }

    pub fn lease_dir(&self) -> PathBuf {
        self.data.path().join(&self.name)
    }

    /// The addresses currently leased (file names that parse as IPs).
    pub fn leases(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.lease_dir()) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = sh(&["ip", "link", "del", &self.bridge]);
        let _ = berth_netplug::nft::delete_table(&self.name);
    }
}

/// Runs the plugin binary with CNI_* from `env` and `conf` on stdin.
pub fn cni(command: &str, container: &str, netns: &str, ifname: &str, conf: &Value) -> Output {
    cni_raw(
        &[
            ("CNI_COMMAND", command),
            ("CNI_CONTAINERID", container),
            ("CNI_NETNS", netns),
            ("CNI_IFNAME", ifname),
            ("CNI_PATH", "/usr/lib/cni"),
        ],
        conf.to_string().as_bytes(),
    )
}

pub fn cni_raw(env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(PLUGIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("spawning {PLUGIN}: {e}"),
    };
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(stdin);
    }
    match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("waiting for {PLUGIN}: {e}"),
    }
}

/// stdout as JSON; panics with the plugin's stderr when it is not JSON.
pub fn json_out(out: &Output) -> Value {
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!(
            "stdout is not JSON ({e}): {:?} stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Asserts success and returns the result JSON.
pub fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "plugin failed: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.is_empty() {
        Value::Null
    } else {
        json_out(out)
    }
}

/// Asserts failure with `code` and returns the error object.
pub fn err(out: &Output, code: u64) -> Value {
    assert!(
        !out.status.success(),
        "expected failure, got {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json_out(out);
    assert_eq!(v["code"], code, "wrong code in {v}");
    assert!(
        v["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "no msg in {v}"
    );
    assert!(
        v.get("cniVersion").is_some() && v.get("details").is_some(),
        "{v}"
    );
    v
}

/// The first IPv4 address of a result, without prefix.
pub fn first_ip(result: &Value) -> String {
    let a = result["ips"][0]["address"].as_str().unwrap_or_default();
    a.split('/').next().unwrap_or_default().to_string()
}

pub fn link_exists(name: &str) -> bool {
    sh(&["ip", "link", "show", name]).status.success()
}

/// Every host link whose name starts with "veth" and sits on `bridge`.
pub fn ports_of(bridge: &str) -> Vec<String> {
    let out = sh(&["ip", "-o", "link", "show", "master", bridge]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n).to_string())
        })
        .collect()
}

pub fn ping(ns: &Netns, ip: &str) -> bool {
    ns.exec(&["/bin/busybox", "ping", "-c", "1", "-W", "2", ip])
        .status
        .success()
}
