//! `berth`'s networking end to end, as root, on berth-runtime with a temp store (the
//! library-level tests with real veths and namespaces are engine/tests/network.rs):
//! containers on the default network reach each other, a user network resolves names
//! through /etc/hosts, `-p` is reachable from another network namespace, `--network
//! none|host`, `berth network` verbs, and nothing left in the kernel after `rm`.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::engine::Engine;
use berth_tests::engine_network::{StoreNetwork, leftovers, networks};
use berth_tests::require_root;
use serde_json::Value;

fn inspect(e: &Engine, c: &str) -> Value {
    let v: Value = serde_json::from_str(&e.ok(&["inspect", c])).expect("inspect JSON");
    v[0].clone()
}

fn ip_of(e: &Engine, c: &str) -> String {
    let ip = inspect(e, c)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!ip.is_empty(), "{c} has no address");
    ip
}

fn network(e: &Engine, name: &str) -> StoreNetwork {
    networks(e.root())
        .into_iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("network {name} not recorded"))
}

fn sh(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The kernel objects a removed container `id` on `net` could have left.
fn network_leaks(e: &Engine, net: &StoreNetwork, id: &str, ip: &str) -> Vec<String> {
    leftovers(e.root(), e.runroot.path(), net, id, Some(ip))
}

#[test]
fn two_containers_on_the_default_network_reach_each_other() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&["run", "-d", "--name", "ca", "busybox", "sleep", "60"]);
    let ip_a = ip_of(&e, "ca");
    let net = network(&e, "berth0");
    assert!(
        ip_a.starts_with(net.subnet.trim_end_matches(".0.0/16")),
        "{ip_a} in {}",
        net.subnet
    );
    let out = e.run(&[
        "run", "--rm", "busybox", "ping", "-c", "1", "-W", "3", &ip_a,
    ]);
    assert!(
        out.status.success(),
        "ping {ip_a}: {} {}",
        text(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    // The default network has no name resolution between containers (docker's bridge).
    let out = e.run(&["run", "--rm", "busybox", "ping", "-c", "1", "-W", "1", "ca"]);
    assert!(!out.status.success(), "ca resolved on the default network");
    let id = inspect(&e, "ca")["Id"].as_str().expect("Id").to_string();
    e.ok(&["rm", "-f", "ca"]);
    assert_eq!(network_leaks(&e, &net, &id, &ip_a), Vec::<String>::new());
    assert!(e.leaks(&id).is_empty(), "{:?}", e.leaks(&id));
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let id = e.ok(&["network", "create", "app"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let ls = e.ok(&["network", "ls"]);
    assert!(
        ls.starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"),
        "{ls}"
    );
    assert!(
        ls.contains(&format!("{}   app       bridge    local", &id[..12])),
        "{ls}"
    );
    e.ok(&[
        "run",
        "-d",
        "--network",
        "app",
        "--name",
        "db",
        "busybox",
        "sleep",
        "60",
    ]);
    let out = e.run(&[
        "run",
        "--rm",
        "--network",
        "app",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts; ping -c 1 -W 3 db",
    ]);
    let hosts = text(&out);
    assert!(
        out.status.success(),
        "{hosts} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ip_db = ip_of(&e, "db");
    assert!(hosts.contains(&format!("{ip_db}\tdb ")), "{hosts}");
    // The network lists its container; it cannot go while the container is attached.
    let doc: Value = serde_json::from_str(&e.ok(&["network", "inspect", "app"])).expect("json");
    let containers = doc[0]["Containers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        containers.values().any(|c| c["Name"] == "db"
            && c["IPv4Address"]
                .as_str()
                .is_some_and(|a| a.starts_with(&ip_db))),
        "{doc}"
    );
    let rm = e.run(&["network", "rm", "app"]);
    assert!(!rm.status.success());
    assert!(
        String::from_utf8_lossy(&rm.stderr).contains("active endpoints"),
        "{rm:?}"
    );
    e.ok(&["rm", "-f", "db"]);
    let net = network(&e, "app");
    assert_eq!(e.ok(&["network", "rm", "app"]), "app\n");
    assert!(
        !sh(&["ip", "link", "show", &net.bridge]).status.success(),
        "bridge left"
    );
    assert!(
        !sh(&["nft", "list", "table", "inet", &net.nft_table()])
            .status
            .success(),
        "table left"
    );
}

/// A network namespace made for the test, joined to the host by a veth pair
/// (10.254.N.2/30 inside, .1 on the host), with the host as its default gateway:
/// a client outside every berth network. Deleted on drop (the veth goes with it).
struct ClientNs {
    name: String,
}

impl ClientNs {
    fn new() -> Self {
        let n = std::process::id() % 250;
        let name = format!("bnc{n}");
        let (host, peer) = (format!("bnch{n}"), format!("bncp{n}"));
        let (host_ip, ns_ip) = (format!("10.254.{n}.1/30"), format!("10.254.{n}.2/30"));
        let gw = format!("10.254.{n}.1");
        let ns = Self { name };
        for cmd in [
            vec!["ip", "netns", "add", &ns.name],
            vec![
                "ip", "link", "add", &host, "type", "veth", "peer", "name", &peer,
            ],
            vec!["ip", "link", "set", &peer, "netns", &ns.name],
            vec!["ip", "addr", "add", &host_ip, "dev", &host],
            vec!["ip", "link", "set", &host, "up"],
            vec!["ip", "-n", &ns.name, "addr", "add", &ns_ip, "dev", &peer],
            vec!["ip", "-n", &ns.name, "link", "set", &peer, "up"],
            vec!["ip", "-n", &ns.name, "link", "set", "lo", "up"],
            vec!["ip", "-n", &ns.name, "route", "add", "default", "via", &gw],
        ] {
            let o = sh(&cmd);
            assert!(
                o.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        ns
    }

    fn host_ip(&self) -> String {
        format!("10.254.{}.1", std::process::id() % 250)
    }

    /// What `nc` reads from `ip:port`, retried until it has `want` (10 s).
    fn fetch(&self, ip: &str, port: u16, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = String::new();
        while Instant::now() < deadline {
            got = text(&sh(&[
                "ip",
                "netns",
                "exec",
                &self.name,
                "busybox",
                "nc",
                "-w",
                "2",
                ip,
                &port.to_string(),
            ]));
            if got.contains(want) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        got
    }
}

impl Drop for ClientNs {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.name]);
    }
}

#[test]
fn a_published_port_is_reachable_from_another_network_namespace() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let port = 30000 + (std::process::id() % 20000) as u16;
    let publish = format!("{port}:8080");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "-p",
        &publish,
        "busybox",
        "nc",
        "-ll",
        "-p",
        "8080",
        "-e",
        "echo",
        "hello-through-berth",
    ]);
    let client = ClientNs::new();
    let got = client.fetch(&client.host_ip(), port, "hello");
    assert!(got.contains("hello-through-berth"), "got {got:?}");
    // And from the host itself at localhost, as `curl localhost:PORT` after docker run -p.
    let local = text(&sh(&[
        "busybox",
        "nc",
        "-w",
        "2",
        "127.0.0.1",
        &port.to_string(),
    ]));
    assert!(
        local.contains("hello-through-berth"),
        "127.0.0.1:{port} gave {local:?}"
    );
    let ps = e.ok(&["ps"]);
    assert!(ps.contains(&format!("0.0.0.0:{port}->8080/tcp")), "{ps}");
    let net = network(&e, "berth0");
    let ip = ip_of(&e, "srv");
    let id = inspect(&e, "srv")["Id"].as_str().expect("Id").to_string();
    e.ok(&["rm", "-f", "srv"]);
    assert_eq!(network_leaks(&e, &net, &id, &ip), Vec::<String>::new());
    let table = text(&sh(&["nft", "list", "table", "inet", &net.nft_table()]));
    assert!(
        !table.contains(&format!("{port} :")),
        "mapping left: {table}"
    );
}

#[test]
fn network_none_has_only_lo_and_host_shares_the_hosts_interfaces() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let links = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo: <LOOPBACK,UP,LOWER_UP>"), "{links}");
    let host_links = text(&sh(&["ip", "-o", "link"]));
    let links = e.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    // Other tests add and remove veths meanwhile: compare the host's own uplinks (the
    // interfaces that are neither veths nor bridges) instead of counts.
    for name in host_links
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n))
        .filter(|n| {
            *n != "lo" && !n.starts_with("veth") && !n.starts_with("br-") && !n.starts_with("bnc")
        })
    {
        assert!(
            links.contains(&format!(": {name}:")),
            "{name} missing from {links}"
        );
    }
    assert!(
        !e.runroot
            .path()
            .join("netns")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    );
}

/// Keeps the listener of the test above honest: busybox's `nc -lk -e` is what serves.
#[allow(dead_code)]
fn _listener_kept_alive(mut c: std::process::Child) {
    let _ = c.kill();
    let _ = c.wait();
    let _ = Stdio::null();
}

#[test]
fn network_host_takes_the_hosts_name_and_hosts_file_and_warns_about_ports() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let host_name = nix::unistd::gethostname()
        .expect("hostname")
        .into_string()
        .expect("utf-8 hostname");
    let host_hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    // docker: the host's hostname in the container and its config, the host's
    // /etc/hosts, and a warning that -p has no effect.
    let out = e.run(&[
        "run",
        "--rm",
        "--name",
        "hostnet",
        "--network",
        "host",
        "-p",
        "8080:80",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname; cat /etc/hosts",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{host_name}\n{host_name}\n{host_hosts}")
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("WARNING: Published ports are discarded when using host network mode"),
        "{out:?}"
    );
    // --hostname still wins; other networks keep the short id.
    let named = e.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-h",
        "web",
        "busybox",
        "hostname",
    ]);
    assert_eq!(named, "web\n");
    let id = e.ok(&["create", "--network", "none", "busybox", "true"]);
    assert_eq!(
        inspect(&e, id.trim())["Config"]["Hostname"],
        id.get(..12).expect("id")
    );
    e.ok(&["rm", id.trim()]);
}
